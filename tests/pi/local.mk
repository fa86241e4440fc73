# SPDX-License-Identifier: MIT
# make check-pi: this tree's arm64 smallbmsd on an emulated Raspberry Pi 3
# B (qemu-system-aarch64 -M raspi3b), on the Pi's own GPIO driver
# (pinctrl-bcm2835); "check-pi" in tests/vm/README.md. Needs root and the
# cross leg's root (scripts/ci/cross.sh arm64 made it once): this tree is
# cross-built there (incrementally); the battery is this build's bmssim.
# The kernel, device tree and initramfs are cached in
# $(SMALLBMS_CACHE:-/var/cache/smallbms-ci)/pi.
SBPI_FILES = tests/pi/check-pi.sh tests/pi/build-assets.sh \
	tests/pi/guest.sh tests/pi/init
dist_noinst_SCRIPTS += $(SBPI_FILES)

check-pi: tests/bmssim/bmssim
	top_builddir='$(abs_top_builddir)' SBPI_CROSS_SRC='$(abs_top_srcdir)' \
	bash $(abs_top_srcdir)/tests/pi/check-pi.sh
.PHONY: check-pi
