#!/usr/bin/env bash
# Boots the test VM once and waits for it to power off (tests/vm/test-cgroup2.sh drives it).
#
#   tests/vm/boot.sh IMAGE_DIR PAYLOAD_IMG KERNEL ACCEL CPU MODE PLAN OUT_DIR
#
#   KERNEL  a version from IMAGE_DIR/kernels ("6.1.0-57-cloud-amd64")
#   ACCEL   kvm or tcg
#   CPU     a qemu -cpu model, or "default" for qemu's own default model (qemu64)
#   MODE    direct (tests/vm/guest/init.sh runs PLAN itself) or systemd (systemd is init)
#   PLAN    the guest script tests/vm/guest/plan-PLAN.sh
#
# OUT_DIR gets console.log (the guest's serial console) and results (what the guest wrote to
# its virtio serial port "results": one line per check, then "RESULT <failures>"). Only cgroup
# v2 is mounted (cgroup_no_v1=all). No network device: the guest's tests use loopback only.
# The root disk is booted with snapshot=on, so the cached image is never written.
set -euo pipefail

image=$1 payload=$2 kernel=$3 accel=$4 cpu=$5 mode=$6 plan=$7 out=$8
timeout_s=${PYRUNNER_VM_TIMEOUT:-1500}
mkdir -p "$out"
rm -f "$out/console.log" "$out/results"

cpu_args=()
[ "$cpu" = default ] || cpu_args=(-cpu "$cpu")
# q35: bookworm-backports' 6.12 oopses in its PCI scan on qemu's older default machine (pc,
# i440FX). -no-reboot with panic=-1: when the guest powers off, panics or its init exits, qemu exits
# instead of waiting (or rebooting) forever.
status=0
timeout --kill-after=10 "$timeout_s" qemu-system-x86_64 \
  -machine q35 -accel "$accel" "${cpu_args[@]}" -smp 2 -m 3072 \
  -display none -monitor none -no-reboot -nic none \
  -serial "file:$out/console.log" \
  -kernel "$image/vmlinuz-$kernel" -initrd "$image/initrd.img-$kernel" \
  -append "root=/dev/vda rw console=ttyS0 panic=-1 cgroup_no_v1=all init=/sbin/pyrunner-vm-init pyrunner.mode=$mode pyrunner.plan=$plan pyrunner.cpu=$cpu" \
  -drive "file=$image/root.img,if=virtio,format=raw,snapshot=on" \
  -drive "file=$payload,if=virtio,format=raw,readonly=on" \
  -device virtio-serial-pci \
  -chardev "file,id=results,path=$out/results" \
  -device virtserialport,chardev=results,name=results || status=$?
if [ "$status" = 124 ] || [ "$status" = 137 ]; then
  echo "boot.sh: the guest did not power off within ${timeout_s} s" >>"$out/results"
fi
exit 0
