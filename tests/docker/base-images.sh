#!/usr/bin/env bash
# Makes the Dockerfile's base images, debian:12 and debian:12-slim, where no registry can be
# reached: a `debootstrap --variant=minbase bookworm` root (Debian's own packages, the same
# way Debian's official images are built) imported with `docker import`. An image that is
# already there is kept, whatever made it. Both tags get the same root: minbase is already
# what -slim trims the full image down to (no docs, no recommends).
set -euo pipefail
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
missing=()
for tag in debian:12 debian:12-slim; do
  docker image inspect "$tag" >/dev/null 2>&1 || missing+=("$tag")
done
[ ${#missing[@]} = 0 ] && exit 0

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
echo "base-images.sh: debootstrap --variant=minbase bookworm for ${missing[*]}" >&2
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
  { tail -20 "$root.log" >&2; exit 1; }
rm -f "$root.log"
# As in Debian's images: the mirror list, nothing cached.
printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' \
  "$mirror" "$mirror" >"$root/etc/apt/sources.list"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
first=${missing[0]}
tar -C "$root" -c . | docker import --change 'CMD ["bash"]' - "$first" >/dev/null
for tag in "${missing[@]:1}"; do docker tag "$first" "$tag"; done
echo "base-images.sh: made ${missing[*]}" >&2
