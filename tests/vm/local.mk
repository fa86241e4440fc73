# SPDX-License-Identifier: MIT
# make check-vm: the VM scenarios (tests/vm/README.md). The tree is
# installed into tests/vm/root (make install DESTDIR=...) and the guest
# runs those installed binaries unchanged; bmssim comes from the build
# tree. Kernel, module and initramfs are cached in tests/vm/assets.
SBVM_FILES = \
	tests/vm/host.sh tests/vm/build-assets.sh tests/vm/run.sh \
	tests/vm/check-vm.sh tests/vm/guest.sh tests/vm/init tests/vm/lib.sh
dist_noinst_SCRIPTS += $(SBVM_FILES)
EXTRA_DIST += tests/vm/README.md tests/vm/scenarios

VM_DESTDIR = $(abs_top_builddir)/tests/vm/root

check-vm: all tests/bmssim/bmssim
	rm -rf $(VM_DESTDIR)
	$(MAKE) $(AM_MAKEFLAGS) install DESTDIR=$(VM_DESTDIR)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	SBVM_ROOT='$(VM_DESTDIR)' SBVM_SBINDIR='$(sbindir)' \
	SBVM_BINDIR='$(bindir)' \
	$(SHELL) $(abs_top_srcdir)/tests/vm/check-vm.sh $(VM_SCENARIOS)

# Assets are a cache (about 70 MB): distclean removes them, clean keeps them.
clean-local: clean-vm
clean-vm:
	rm -rf $(abs_top_builddir)/tests/vm/root $(abs_top_builddir)/tests/vm/logs
distclean-local: distclean-vm
distclean-vm:
	rm -rf $(abs_top_builddir)/tests/vm/assets
.PHONY: check-vm clean-vm distclean-vm
