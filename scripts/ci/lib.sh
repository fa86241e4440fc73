# SPDX-License-Identifier: MIT
# Shared by the CI legs in scripts/ci/ (bash): cached Debian roots made
# with debootstrap, entering them with the mounts a build needs (always
# undone on exit), copying the source tree in, and the one summary line
# per leg. Needs root (debootstrap, chroot, mount).
#
# Environment:
#   SMALLBMS_CACHE   where the roots live (default /var/cache/smallbms-ci);
#                    outside the source tree, reused between runs
#   SMALLBMS_MIRROR  the Debian mirror (default: the host's apt source)
#   SMALLBMS_REFRESH=1  rebuild the cached roots from scratch
#   SMALLBMS_SOURCE  the source tree to build (default: this checkout)
set -euo pipefail

CI_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CI_CACHE=${SMALLBMS_CACHE:-/var/cache/smallbms-ci}
CI_SRC=${SMALLBMS_SOURCE:-$CI_TOP}
CI_SUITE=trixie
CI_T0=$(date +%s)
CI_LEG=""
CI_MOUNTS=()

ci_say() { printf '\033[1m==> [%4ss] %s\033[0m\n' "$(($(date +%s) - CI_T0))" "$*"; }
ci_die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# The Debian packages a build of this project needs, from the one list in
# scripts/lib/common.sh (what scripts/test installs on a developer's host).
ci_project_packages() {
	sed -n '/^PACKAGES="/,/"$/p' "$CI_SRC/scripts/lib/common.sh" |
		sed -e 's/^PACKAGES="//' -e 's/["\\]//g' | tr -s ' \n' ' '
}

# ci_host_tools CMD:PACKAGE...: install what is missing on the host.
ci_host_tools() {
	local want="" t
	for t in "$@"; do
		command -v "${t%%:*}" >/dev/null 2>&1 || want="$want ${t#*:}"
	done
	[ -z "$want" ] && return 0
	ci_say "installing on the host:$want"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $want ||
		{ apt-get update -q &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q $want; }
}

# The Debian mirror the host itself uses (deb822 or one-line sources).
ci_mirror() {
	local m=${SMALLBMS_MIRROR:-}
	if [ -z "$m" ] && [ -f /etc/apt/sources.list.d/debian.sources ]; then
		m=$(awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }' \
			/etc/apt/sources.list.d/debian.sources)
	fi
	if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
		m=$(awk '$1 == "deb" && $2 !~ /^\[/ && $2 !~ /security/ \
			{ print $2; exit }' /etc/apt/sources.list)
	fi
	echo "${m:-http://deb.debian.org/debian}"
}

# ci_root NAME: the path of a cached root.
ci_root() { echo "$CI_CACHE/$1"; }

# Anything still mounted below a directory (deepest first).
ci_mounts_below() {
	awk -v d="$1/" 'index($2 "/", d) == 1 { print $2 }' /proc/mounts |
		sort -r
}

ci_umount_below() {
	local m
	for m in $(ci_mounts_below "$1"); do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
}

# ci_root_ensure NAME [PACKAGE...]: a minbase trixie root (with PACKAGES),
# made once and reused while its stamp (suite, mirror, this file's root
# layout version) matches. A half-made root never has the stamp, so it is
# made again. Packages added to a list later are installed into the cached
# root by ci_root_install, which is cheaper than a new root.
CI_ROOT_LAYOUT=1
ci_root_ensure() {
	local name=$1 root stamp want inc
	shift
	root=$(ci_root "$name")
	want="$CI_SUITE $(ci_mirror) layout $CI_ROOT_LAYOUT"
	stamp="$root/.smallbms-root"
	if [ "${SMALLBMS_REFRESH:-0}" != 1 ] && [ -f "$stamp" ] &&
		[ "$(cat "$stamp")" = "$want" ]; then
		ci_say "reusing the $CI_SUITE root $root"
		return 0
	fi
	ci_host_tools debootstrap:debootstrap
	ci_say "creating the $CI_SUITE root $root (debootstrap)"
	mkdir -p "$CI_CACHE"
	ci_umount_below "$root"
	ci_umount_below "$root.new"
	rm -rf "$root.new"
	inc=$(echo "$@" | xargs | tr ' ' ',')
	debootstrap --variant=minbase ${inc:+--include="$inc"} \
		"$CI_SUITE" "$root.new" "$(ci_mirror)" >"$CI_CACHE/$name.log" 2>&1 ||
		{
			tail -n 30 "$CI_CACHE/$name.log" >&2
			ci_die "debootstrap failed (log: $CI_CACHE/$name.log)"
		}
	ci_root_setup "$root.new"
	rm -rf "$root"
	mv "$root.new" "$root"
	echo "$want" >"$stamp"
}

# Make a fresh root usable for apt and builds.
ci_root_setup() {
	local root=$1
	# Snapshot mirrors serve Release files past their Valid-Until.
	cat >"$root/etc/apt/apt.conf.d/90smallbms-ci" <<-'EOF'
		Acquire::Check-Valid-Until "false";
		APT::Install-Recommends "false";
		Dpkg::Use-Pty "false";
	EOF
	# Downloaded .debs are kept: a later apt-get install is then offline.
	rm -f "$root/etc/apt/apt.conf.d/docker-clean"
	# Never start services inside the root (postinst of packages).
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
}

# ci_enter ROOT: mount proc, sys, /dev and a devpts for this root; every
# mount is undone by ci_leave (called from the EXIT trap).
ci_enter() {
	local root=$1
	ci_umount_below "$root" # left over by a run that was killed
	cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	ci_mount "$root/proc" -t proc proc
	ci_mount "$root/sys" -t sysfs -o ro sysfs
	ci_mount "$root/dev" --bind /dev
	# A devpts of its own: /dev/ptmx opens the instance at dev/pts
	# beside it, so the tests' pseudo-terminals live inside the root.
	ci_mount "$root/dev/pts" -t devpts -o gid=5,mode=620,ptmxmode=666 devpts
	ci_mount "$root/dev/shm" -t tmpfs -o mode=1777 tmpfs
}

ci_mount() {
	local dir=$1
	shift
	mkdir -p "$dir"
	mount "$@" "$dir"
	CI_MOUNTS+=("$dir")
}

ci_leave() {
	local i
	for ((i = ${#CI_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount "${CI_MOUNTS[$i]}" 2>/dev/null ||
			umount -l "${CI_MOUNTS[$i]}" 2>/dev/null || true
	done
	CI_MOUNTS=()
}

# ci_run ROOT COMMAND: run a shell command inside ROOT with a clean
# environment (plus the NAME=VALUE words in CI_ENV, if set).
ci_run() {
	local root=$1
	shift
	# shellcheck disable=SC2086
	chroot "$root" /usr/bin/env -i \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 TERM=dumb ${CI_ENV:-} \
		/bin/bash -euo pipefail -c "$*"
}

# ci_root_install ROOT PACKAGE...: install what is missing inside ROOT
# (ROOT must be entered). Architecture-qualified names (pkg:arm64) work.
ci_root_install() {
	local root=$1 missing
	shift
	missing=$(ci_run "$root" "for p in $*; do
		dpkg-query -W -f='\${Status}\n' \$p 2>/dev/null |
			grep -q 'install ok installed' || echo \$p; done" | xargs)
	[ -z "$missing" ] && return 0
	ci_say "installing in the root: $missing"
	ci_run "$root" "apt-get update -q >/dev/null &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing" \
		>"$CI_CACHE/install.log" 2>&1 ||
		{
			tail -n 30 "$CI_CACHE/install.log" >&2
			ci_die "installing $missing failed (log: $CI_CACHE/install.log)"
		}
}

# ci_build_root: make or reuse the build root, enter it, and install what
# the project needs now (the package list may have grown since the root
# was made). Sets CI_ROOT.
ci_build_root() {
	CI_ROOT=$(ci_root build)
	# shellcheck disable=SC2046 # a list of package names
	ci_root_ensure build $(ci_project_packages) git
	ci_enter "$CI_ROOT"
	# shellcheck disable=SC2046
	ci_root_install "$CI_ROOT" $(ci_project_packages) git
}

# ci_root_add_arch ROOT ARCH: enable a foreign architecture (multiarch).
ci_root_add_arch() {
	ci_run "$1" "dpkg --print-foreign-architectures | grep -qx $2 ||
		dpkg --add-architecture $2"
}

# The packages a cross build for ARCH needs in the build root: the
# toolchain, qemu-user for running tests, and the -dev packages for ARCH.
ci_cross_packages() {
	echo crossbuild-essential-"$1" qemu-user pkgconf:"$1" \
		libgpiod-dev:"$1" libsystemd-dev:"$1" libserialport-dev:"$1" \
		libinih-dev:"$1" libjansson-dev:"$1" check:"$1" \
		libmosquitto-dev:"$1"
}

# ci_copy_tree DEST: the source tree as it is now: tracked and untracked
# files that git does not ignore (without git: everything but build dirs).
# SMALLBMS_SOURCE=DIR builds another tree (e.g. an unpacked snapshot).
ci_copy_tree() {
	local dest=$1
	rm -rf "$dest"
	mkdir -p "$dest"
	if git -C "$CI_SRC" rev-parse --git-dir >/dev/null 2>&1; then
		(cd "$CI_SRC" &&
			git ls-files -z --cached --others --exclude-standard |
			while IFS= read -r -d '' f; do
				[ -e "$f" ] && printf '%s\0' "$f"
			done | tar --null -T - -cf -) | tar -xf - -C "$dest"
	else
		(cd "$CI_SRC" && tar --exclude='./build*' --exclude=./debian/tmp \
			-cf - .) | tar -xf - -C "$dest"
	fi
}

# ci_leg NAME: start timing a leg; ci_end prints its summary line.
ci_leg() {
	CI_LEG=$1
	CI_T0=$(date +%s)
	trap 'ci_exit $?' EXIT
	# Die through the EXIT trap on a signal too: mounts are undone.
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
}

ci_exit() {
	local rc=$1 verdict=PASS
	trap - EXIT
	ci_leave
	[ "$rc" -eq 0 ] || verdict=FAIL
	echo "leg $CI_LEG: $verdict ($(($(date +%s) - CI_T0)) s)"
	exit "$rc"
}
