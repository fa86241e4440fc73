#!/bin/bash
# SPDX-License-Identifier: MIT
# CI leg deb/trixie: build the Debian package with dpkg-buildpackage in the
# cached trixie build root — natively and cross for each ARCH given
# (default arm64 armhf) — then install the native .deb into a CLEAN
# trixie root (a throwaway copy of a cached minbase root) with dpkg -i and
# apt-get -f install, and check that everything is where systemd, man and
# dpkg expect it. The cross .debs are checked for their architecture and
# contents. The .debs are left in ${SMALLBMS_DEB_OUT:-$SMALLBMS_CACHE/debs}.
# The package builds skip the test suite (nocheck): the trixie leg has just
# run the same make check in the same root, the cross legs run the unit
# tests under qemu-user, and a fourth full make check cost 6 of CI's 60
# minutes. SMALLBMS_DEB_CHECK=yes runs it in the native build
# (dh_auto_test) all the same; a plain dpkg-buildpackage always does.
# Usage: scripts/ci/deb.sh [ARCH...]      (as root; "none" = native only)
# Commands for the root are single-quoted on purpose: they expand there.
# shellcheck disable=SC2016
# shellcheck source=scripts/ci/lib.sh
. "$(dirname "$0")/lib.sh"

CROSS=("$@")
[ ${#CROSS[@]} -gt 0 ] || CROSS=(arm64 armhf)
[ "${CROSS[0]}" = none ] && CROSS=()

ci_leg deb/trixie
ci_build_root
ROOT=$CI_ROOT
ci_root_install "$ROOT" debhelper fakeroot systemd-dev
for a in "${CROSS[@]}"; do
	ci_root_add_arch "$ROOT" "$a"
	# shellcheck disable=SC2046 # a list of package names
	ci_root_install "$ROOT" $(ci_cross_packages "$a")
done
W=/build/deb
rm -rf "${ROOT:?}$W"

# build ARCH: dpkg-buildpackage in a fresh copy of the tree.
build() {
	local arch=$1 how
	ci_copy_tree "$ROOT$W/$arch/smallbms"
	if [ "$arch" = native ] && [ "${SMALLBMS_DEB_CHECK:-no}" = yes ]; then
		how="dpkg-buildpackage -us -uc -b"
	elif [ "$arch" = native ]; then
		how="DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b -Pnocheck"
	else
		how="DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b"
		how="$how --host-arch $arch -Pcross,nocheck"
	fi
	ci_say "$arch: $how"
	ci_run "$ROOT" "cd $W/$arch/smallbms && $how >../build.log 2>&1" || {
		tail -n 80 "$ROOT$W/$arch/build.log"
		ci_die "dpkg-buildpackage ($arch) failed"
	}
	ls "$ROOT$W/$arch/"*.deb
}

build native
for a in "${CROSS[@]}"; do
	build "$a"
done
# The packages, outside the root (it is reused by the next run).
OUT=${SMALLBMS_DEB_OUT:-$CI_CACHE/debs}
rm -rf "$OUT"
mkdir -p "$OUT"
cp "$ROOT$W"/*/smallbms_*.deb "$OUT/"
ci_say "packages in $OUT: $(cd "$OUT" && echo *.deb)"

# The files every package must have, whatever the architecture.
EXPECTED="./usr/sbin/smallbmsd ./usr/bin/smallbmsctl
./usr/lib/systemd/system/smallbmsd.service
./usr/lib/sysusers.d/smallbms.conf ./etc/smallbms/smallbms.conf
./usr/share/man/man8/smallbmsd.8.gz ./usr/share/man/man1/smallbmsctl.1.gz
./usr/share/man/man5/smallbms.conf.5.gz
./usr/lib/udev/rules.d/60-smallbms-gpio.rules"

# check_deb FILE ARCH: fields and contents of a built package.
check_deb() {
	local deb=$1 arch=$2 f
	ci_run "$ROOT" "dpkg-deb -f $deb Architecture" | grep -qx "$arch" ||
		ci_die "$deb: not Architecture $arch"
	for f in $EXPECTED; do
		ci_run "$ROOT" "dpkg-deb -c $deb" | awk '{ print $6 }' |
			grep -qx "$f" || ci_die "$deb: $f missing"
	done
	ci_run "$ROOT" "dpkg-deb -I $deb conffiles" |
		grep -qx /etc/smallbms/smallbms.conf ||
		ci_die "$deb: /etc/smallbms/smallbms.conf is not a conffile"
}

NATIVE_ARCH=$(ci_run "$ROOT" "dpkg --print-architecture")
check_deb "$(cd "$ROOT" && echo .$W/native/smallbms_*.deb)" "$NATIVE_ARCH"
for a in "${CROSS[@]}"; do
	deb=$(cd "$ROOT" && echo .$W/"$a"/smallbms_*_"$a".deb)
	check_deb "$deb" "$a"
	ci_run "$ROOT" "rm -rf /tmp/x && dpkg-deb -x $deb /tmp/x &&
		readelf -h /tmp/x/usr/sbin/smallbmsd | grep Machine:"
done

# A clean root: a copy of a cached minbase trixie root, thrown away after.
ci_root_ensure clean
CLEAN=$CI_CACHE/clean-run
ci_umount_below "$CLEAN"
rm -rf "$CLEAN"
ci_say "copying the clean root"
cp -a "$(ci_root clean)" "$CLEAN"
ci_enter "$CLEAN"
cp "$ROOT$W"/native/smallbms_*.deb "$CLEAN/tmp/"

ci_say "installing in the clean root: dpkg -i, then apt-get -f install"
ci_run "$CLEAN" "dpkg -i /tmp/smallbms_*.deb >/tmp/install.log 2>&1 ||
	true; apt-get update -q >/dev/null &&
	DEBIAN_FRONTEND=noninteractive apt-get -f install -y -q \
		>>/tmp/install.log 2>&1 || { cat /tmp/install.log; exit 1; }
	dpkg-query -W -f='\${Status}\n' smallbms | grep -qx 'install ok installed'
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q man-db \
		>>/tmp/install.log 2>&1"

ci_say "checking the installed package"
ci_run "$CLEAN" '
fail() { echo "installed package: $*" >&2; exit 1; }
smallbmsd --version && smallbmsctl --version ||
	fail "the programs do not run"
u=/usr/lib/systemd/system/smallbmsd.service
[ -f $u ] || fail "no unit $u"
grep -qx "ExecStart=/usr/sbin/smallbmsd -c /etc/smallbms/smallbms.conf" $u ||
	fail "ExecStart in $u: $(grep ExecStart $u)"
systemd-analyze verify $u || fail "systemd-analyze verify $u"
[ "$(systemctl is-enabled smallbmsd.service)" = enabled ] ||
	fail "the unit is not enabled"
[ -f /usr/lib/sysusers.d/smallbms.conf ] || fail "no sysusers.d file"
getent passwd smallbms >/dev/null || fail "user smallbms not created"
id -nG smallbms | tr " " "\n" | grep -qx dialout || fail "not in dialout"
id -nG smallbms | tr " " "\n" | grep -qx gpio || fail "not in gpio"
for p in smallbmsd.8 smallbmsctl.1 smallbms.conf.5; do
	man -w "$p" || fail "man cannot find $p"
done
dpkg-query -W -f="\${Conffiles}\n" smallbms |
	grep -q "^ /etc/smallbms/smallbms.conf " || fail "not a conffile"
smallbmsd -t -c /etc/smallbms/smallbms.conf ||
	fail "the shipped configuration does not pass smallbmsd -t"
echo "binaries, unit (enabled), sysusers (user created), man pages and" \
	"conffile in place"
dpkg --purge smallbms >/dev/null || fail "dpkg --purge failed"
[ ! -e /etc/systemd/system/multi-user.target.wants/smallbmsd.service ] ||
	fail "purge left the unit enabled"
echo "purged cleanly"
'
ci_leave
rm -rf "$CLEAN"
