#!/bin/sh
# The test VM's init, from the payload disk (/sbin/pyrunner-vm-init mounted it at /payload).
# The kernel command line says what to do (tests/vm/boot.sh):
#   pyrunner.mode=direct   this script is PID 1: it mounts cgroup v2 itself, runs
#                          /payload/guest/plan-<pyrunner.plan>.sh and powers off
#   pyrunner.mode=systemd  installs pyrunner.service (deploy/systemd) and the plan as a unit
#                          that runs once pyrunner is up, then hands PID 1 to systemd
# Results go to the virtio serial port named "results" (never a network): one line per check,
# then "RESULT <number of failures>". The console (ttyS0) gets everything else.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C.UTF-8 HOME=/root

arg() { sed -n "s/.*pyrunner\.$1=\([a-z0-9_-]*\).*/\1/p" /proc/cmdline; }
mode=$(arg mode)
plan=$(arg plan)

# What tests/vm/run.sh put in the payload: pyrunner's source tree and its build, at the
# absolute paths compiled into the test binary, laid over the (snapshot) root disk.
cp -a /payload/root/. /

# The results port: virtio_console is a module in Debian's cloud kernels (lib.sh finds the
# port, once it is there).
modprobe virtio_console 2>/dev/null

case "$mode" in
  systemd)
    install -m 0644 /payload/guest/pyrunner-vm-plan.service /etc/systemd/system/
    echo "PYRUNNER_VM_PLAN=$plan" >/etc/pyrunner-vm-plan.env
    ln -sf /etc/systemd/system/pyrunner-vm-plan.service \
      /etc/systemd/system/multi-user.target.wants/pyrunner-vm-plan.service
    # Nothing of a normal boot that the test does not need (there is no network, no login).
    for unit in getty@tty1 serial-getty@ttyS0 systemd-timesyncd apt-daily.timer \
      apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
      ln -sf /dev/null "/etc/systemd/system/$unit.service" 2>/dev/null
    done
    exec /lib/systemd/systemd
    ;;
  *)
    mount -t cgroup2 cgroup2 /sys/fs/cgroup
    mount -t tmpfs -o mode=1777 tmpfs /tmp
    ip link set lo up
    /bin/sh /payload/guest/plan-"$plan".sh
    sync
    echo o >/proc/sysrq-trigger
    sleep 60
    ;;
esac
