# SPDX-License-Identifier: GPL-2.0
#
# rust-papr-nested.
#
#   make KDIR=<kernel build tree>   build rust_papr_nested.ko against your own
#                                   tree, with your ARCH, LLVM, CROSS_COMPILE
#   make                            the same against the L1 kernel in our
#                                   build root (made by 'make setup')
#   make setup                      build root, patched kernel, L1 kernel
#   make tools                      the userspace tools for the L1 (tools/)
#   make run                        boot the L1 in QEMU: insmod, rmmod
#   make check                      every test; ends "N passed, N failed"
#
# The Kbuild file describes the module; this Makefile is only read by make
# run in this directory.

ifneq ($(KDIR),)

modules modules_install clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $@

else

modules: setup
	scripts/build-module.sh

clean:
	rm -f *.o *.ko *.mod *.mod.c *.mod.o .*.cmd Module.symvers modules.order
	rm -rf .tmp_versions

endif

setup:
	scripts/setup.sh

tools: setup
	scripts/build-tools.sh

run: modules tools
	scripts/run-l1.sh nested
	scripts/run-l1.sh no-nested

check: setup
	scripts/check.sh

.PHONY: modules modules_install clean setup tools run check
