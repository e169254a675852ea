#!/usr/bin/env bash
# make test-cgroup2: pyrunner on a Debian 12 whose kernel mounts only cgroup v2, in qemu.
#
#   tests/vm/test-cgroup2.sh BUILD_DIR
#
# Two boots of one image (tests/vm/image.sh, cached in $PYRUNNER_VM_CACHE, by default
# /var/cache/pyrunner/vm: outside the work tree, so that `make clean` keeps it, and found again
# by a fresh clone on the same machine; keyed by the package lists):
#   direct   bookworm-backports' kernel (6.12+: memory.peak can be reset, so run cgroups are
#            reused), tests/vm/guest/init.sh as init, the CPU model `max,-cx16` (TCG) or
#            `host` (KVM): the cgroup, pool, zygote, serve and corpus tests of pyrunner_tests, then
#            a server checked over HTTP (plan-direct.sh)
#   systemd  bookworm's 6.1 kernel (no memory.peak reset), systemd as init, qemu's default CPU
#            model (on which OpenBLAS crashes the zygote's warm-up: the pool falls back):
#            pyrunner as deploy/systemd/pyrunner.service, and the cgroup tests (plan-systemd.sh)
# KVM is used where a short probe shows that it really boots a kernel, else TCG
# (PYRUNNER_VM_ACCEL=kvm|tcg forces one). Fails unless every check of both boots passed.
set -euo pipefail

build=$(cd "${1:?usage: test-cgroup2.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
cache=${PYRUNNER_VM_CACHE:-/var/cache/pyrunner/vm}
out="$build/vm"
mkdir -p "$out"
started=$SECONDS
log() { echo "test-cgroup2: $*" >&2; }

image=$("$here/image.sh" "$cache")
[ -f "$image/kernels" ] || { log "image.sh answered '$image', which holds no kernels list"; exit 1; }
log "image $image ($((SECONDS - started)) s)"
stable=$(sort -V "$image/kernels" | head -1)     # bookworm's (6.1)
backports=$(sort -V "$image/kernels" | tail -1)  # bookworm-backports' (6.12+)

# KVM: /dev/kvm may exist and still hang a guest (seen on nested hosts). The probe boots the
# kernel with no root disk: with KVM it reaches its "Kernel panic" in about a second.
accel=${PYRUNNER_VM_ACCEL:-}
if [ -z "$accel" ]; then
  accel=tcg
  if [ -w /dev/kvm ]; then
    probe="$out/kvm-probe.log"
    rm -f "$probe"
    timeout 20 qemu-system-x86_64 -machine q35 -accel kvm -cpu host -m 256 -display none -monitor none \
      -no-reboot -nic none -serial "file:$probe" -kernel "$image/vmlinuz-$stable" \
      -append "console=ttyS0 panic=-1" >/dev/null 2>&1 || true
    if grep -q "Kernel panic" "$probe" 2>/dev/null; then accel=kvm; fi
  fi
fi
# Under TCG (qemu 7.2), bookworm-backports' 6.12 double-faults in SLUB's cmpxchg16b at boot
# (seen with every CPU model that has cx16, qemu's default included): the model without it.
best_cpu=max,-cx16
[ "$accel" = kvm ] && best_cpu=host
log "accelerator: $accel"

"$here/payload.sh" "$build" "$out/payload.img"

failed=0
boot() {  # NAME KERNEL CPU MODE PLAN
  local name=$1 t0=$SECONDS
  log "boot $name: kernel $2, cpu $3, init $4, plan $5"
  "$here/boot.sh" "$image" "$out/payload.img" "$2" "$accel" "$3" "$4" "$5" "$out/$name"
  sed "s/^/  $name: /" "$out/$name/results" 2>/dev/null || true
  if ! grep -qx "RESULT 0" "$out/$name/results" 2>/dev/null; then
    failed=1
    log "boot $name FAILED; the end of its console ($out/$name/console.log):"
    tail -n 80 "$out/$name/console.log" >&2 || true
  fi
  log "boot $name: $((SECONDS - t0)) s"
}
boots=${PYRUNNER_VM_BOOTS:-direct systemd}  # a subset, for work on one of them
[[ " $boots " = *" direct "* ]] && boot direct "$backports" "$best_cpu" direct direct
[[ " $boots " = *" systemd "* ]] && boot systemd "$stable" default systemd systemd
[[ " $boots " = *" bench "* ]] && boot bench "$backports" "$best_cpu" direct bench

log "$((SECONDS - started)) s in all"
if [ "$failed" != 0 ]; then
  log "FAILED"
  exit 1
fi
log "passed"
