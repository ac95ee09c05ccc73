# SPDX-License-Identifier: GPL-2.0
#
# kunit.py --qemu_config for rust_papr_nested: a little-endian POWER10 L1
# on QEMU's pseries machine with the PAPR nested-guest API (cap-nested-papr),
# so that QEMU is a real L0 for the H_GUEST_* calls. kunit.py's own
# --arch=powerpc is big-endian (no Rust) and powerpcle is a POWER8 with
# no nested API.
#
# The kernel options are testing/l1-arch.config, shared with the main job.

import os

from ..qemu_config import QemuArchParams

_HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(_HERE, '..', 'l1-arch.config')) as f:
	_KCONFIG = f.read()

QEMU_ARCH = QemuArchParams(linux_arch='powerpc',
			   kconfig=_KCONFIG,
			   qemu_arch='ppc64',
			   kernel_path='vmlinux',
			   kernel_command_line='console=hvc0',
			   extra_qemu_params=['-M', 'pseries,cap-nested-papr=on',
					      '-cpu', 'power10', '-smp', '1'])
