#!/usr/bin/env bash
# Builds the Debian 12 VM image that `make test-cgroup2` boots, or finds it in the cache.
#
#   tests/vm/image.sh CACHE_DIR    prints the directory that holds root.img and the kernels
#
# The image is made from Debian's packages only: a debootstrap minbase of bookworm, then, in a
# chroot, tests/vm/packages.txt (kernel, initramfs-tools, systemd), deps/runtime-packages.txt
# (what pyrunner needs at run time) and bookworm-backports' cloud kernel (6.12+, for the
# memory.peak reset). `mkfs.ext4 -d` turns the directory into a disk image: no loop mount.
# It holds no pyrunner binary: tests/vm/run.sh brings the freshly built binaries on a second
# disk at every boot, so the image only changes when its package lists do.
#
# Cache: CACHE_DIR/<key>/, where <key> is a hash of this script and both package lists; a
# directory is complete once it has its `done` file. Older keys are removed when a new image is
# made. Needs root (debootstrap, chroot) and Debian's mirrors (DEBIAN_MIRROR,
# DEBIAN_SECURITY_MIRROR override them).
set -euo pipefail

cache=${1:?usage: image.sh CACHE_DIR}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

packages() { grep -hv '^\s*#' "$@" | grep -v '^\s*$'; }

key=$(cat "$here/image.sh" "$here/packages.txt" "$repo/deps/runtime-packages.txt" |
  sha256sum | cut -c1-16)
out="$cache/$key"
if [ -f "$out/done" ]; then
  echo "$out"
  exit 0
fi

# From here on stdout is the caller's answer alone: everything else goes to stderr (mkfs.ext4
# prints "Creating regular file ROOT.IMG" on stdout even with -q when it creates the image).
exec 3>&1 1>&2

for tool in debootstrap mkfs.ext4 chroot; do
  command -v "$tool" >/dev/null || { echo "image.sh: $tool is missing (make test-cgroup2 installs it)" >&2; exit 1; }
done

mkdir -p "$cache"
work="$cache/$key.tmp"
rootfs="$work/rootfs"
mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
rm -rf "$work"
mkdir -p "$work"

log() { echo "image.sh: $*" >&2; }
started=$SECONDS

log "debootstrap --variant=minbase bookworm ($mirror)"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -20 "$work/debootstrap.log" >&2; exit 1; }

cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security_mirror bookworm-security main
deb $mirror bookworm-backports main
EOF
# Packages are configured in a chroot: no service may start there.
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod +x "$rootfs/usr/sbin/policy-rc.d"
for fs in proc sys dev; do
  mount --bind "/$fs" "$rootfs/$fs"
  mounted+=("$rootfs/$fs")
done

in_chroot() { chroot "$rootfs" /usr/bin/env DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }

log "apt-get install: tests/vm/packages.txt and deps/runtime-packages.txt"
in_chroot apt-get update -qq
# shellcheck disable=SC2046
in_chroot apt-get install -y -qq --no-install-recommends \
  $(packages "$here/packages.txt" "$repo/deps/runtime-packages.txt") >"$work/apt.log" 2>&1 ||
  { tail -30 "$work/apt.log" >&2; exit 1; }

# bookworm-backports' cloud kernel, beside bookworm's: memory.peak can be reset from 6.12 on.
# The versioned package, not the metapackage, so that both kernels stay installed.
backports_kernel=$(in_chroot apt-cache show -t bookworm-backports linux-image-cloud-amd64 |
  awk '/^Depends:/ { print $2; exit }')
log "apt-get install -t bookworm-backports $backports_kernel"
in_chroot apt-get install -y -qq --no-install-recommends -t bookworm-backports \
  "$backports_kernel" >>"$work/apt.log" 2>&1 || { tail -30 "$work/apt.log" >&2; exit 1; }

in_chroot apt-get clean
rm -rf "$rootfs/var/lib/apt/lists/"* "$rootfs/usr/sbin/policy-rc.d"
echo pyrunner-vm >"$rootfs/etc/hostname"
# The kernel's init= in every boot (tests/vm/boot.sh): the guest's scripts and pyrunner's
# binaries are on the payload disk (/dev/vdb), made anew for each boot, so that the image
# itself only changes with its package lists.
cat >"$rootfs/sbin/pyrunner-vm-init" <<'INIT'
#!/bin/sh
mkdir -p /payload
if mount -o ro /dev/vdb /payload; then exec /payload/guest/init.sh "$@"; fi
echo "pyrunner-vm-init: no payload disk at /dev/vdb" >/dev/console
echo o >/proc/sysrq-trigger
INIT
chmod 755 "$rootfs/sbin/pyrunner-vm-init"
for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[i]}"; done
mounted=()

mkdir -p "$work/image"
cp "$rootfs"/boot/vmlinuz-* "$rootfs"/boot/initrd.img-* "$work/image/"
# Room for what the tests write (the root disk is booted with snapshot=on: nothing persists).
size_mb=$(($(du -sm "$rootfs" | cut -f1) * 5 / 4 + 512))
log "mkfs.ext4 -d rootfs root.img (${size_mb} MB)"
mkfs.ext4 -q -F -L pyrunner-root -d "$rootfs" "$work/image/root.img" "${size_mb}M"
(cd "$rootfs" && ls boot/vmlinuz-*) | sed 's|boot/vmlinuz-||' >"$work/image/kernels"
touch "$work/image/done"

# Only the current image is kept: each is about 1.5 GB.
for old in "$cache"/????????????????; do
  [ -d "$old" ] && [ "$old" != "$out" ] && rm -rf "$old"
done
rm -rf "$out"
mv "$work/image" "$out"
log "image ready in $((SECONDS - started)) s: $out ($(tr '\n' ' ' <"$out/kernels"))"
echo "$out" >&3
