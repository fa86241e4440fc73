# SPDX-License-Identifier: MIT
# make check-systemd: the .deb under a real systemd (PID 1) in a VM
# (tests/systemd/README.md). Needs root; the Debian root is cached in
# /var/cache/smallbms-ci, the package and the guest's copy of the root in
# tests/systemd/work.
SBSD_FILES = \
	tests/systemd/check-systemd.sh tests/systemd/root.sh \
	tests/systemd/guest.sh tests/systemd/init
dist_noinst_SCRIPTS += $(SBSD_FILES)
EXTRA_DIST += tests/systemd/README.md

check-systemd: all tests/bmssim/bmssim
	top_builddir='$(abs_top_builddir)' \
	$(SHELL) -c 'bash $(abs_top_srcdir)/tests/systemd/check-systemd.sh'

clean-local: clean-systemd
clean-systemd:
	rm -rf $(abs_top_builddir)/tests/systemd/work
.PHONY: check-systemd clean-systemd
