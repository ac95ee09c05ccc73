// SPDX-License-Identifier: GPL-2.0

//! H_GET_CPU_CHARACTERISTICS: what the L0 says of the processor's
//! speculation controls, for a VMM to offer its L2 the same.

use super::{call, HcallError, Opcode, Tally};

/// The L0's characteristics (r4) and behaviours (r5), in the bits of the
/// PAPR's `H_CPU_CHAR_*` and `H_CPU_BEHAV_*`, which `struct
/// kvm_ppc_cpu_char` uses too.
pub(crate) fn get() -> Result<(u64, u64), HcallError> {
    // SAFETY: H_GET_CPU_CHARACTERISTICS passes no address.
    let ret = unsafe { call(Opcode::GetCpuCharacteristics, &[], &mut Tally::default()) }?;
    Ok((ret[0], ret[1]))
}
