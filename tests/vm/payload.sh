#!/usr/bin/env bash
# Makes the payload disk of one `make test-cgroup2` boot: the guest's scripts, pyrunner's
# source tree (what git tracks) and the freshly built pyrunner and pyrunner_tests, at the
# absolute paths compiled into the test binary (its PYRUNNER_BINARY and PYRUNNER_SOURCE_DIR).
#
#   tests/vm/payload.sh BUILD_DIR OUT_IMG
set -euo pipefail
build=$(cd "$1" && pwd)
out=$2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/guest" "$work/root$repo" "$work/root$build"
cp -a "$here/guest/." "$work/guest/"
cp "$repo/deploy/systemd/pyrunner.service" "$work/guest/"
(cd "$repo" && git ls-files -z | xargs -0 cp --parents -t "$work/root$repo")
cp "$build/pyrunner" "$build/pyrunner_tests" "$work/root$build/"
printf 'SOURCE_DIR=%s\nBUILD_DIR=%s\n' "$repo" "$build" >"$work/guest/paths"
size_mb=$(($(du -sm "$work" | cut -f1) * 3 / 2 + 64))
# -q still prints "Creating regular file OUT_IMG" on stdout when it creates the image.
mkfs.ext4 -q -F -L pyrunner-payload -d "$work" "$out" "${size_mb}M" >&2
