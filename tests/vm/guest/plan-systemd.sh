# The systemd boot (systemd as PID 1, cgroup v2 only): pyrunner installed as the README says,
# as deploy/systemd/pyrunner.service with Delegate=yes, checked over HTTP; stopped and started
# again; then the cgroup tests on this kernel.
. /payload/guest/lib.sh
. /payload/guest/paths
cd "$SOURCE_DIR"
arg() { sed -n "s/.*pyrunner\.$1=\([a-z0-9_-]*\).*/\1/p" /proc/cmdline; }
unit=/sys/fs/cgroup/system.slice/pyrunner.service
check_server="/usr/bin/python3 tests/docker/check_server.py --wait 900 --cgroup v2 --cgroup-parent $unit/pyrunner"
# qemu's default CPU model: OpenBLAS's SIGILL in the zygote's warm-up (README, troubleshooting).
if [ "$(arg cpu)" = default ]; then
  check_server="$check_server --pool-mode plain --fallback 'killed by SIGILL during start-up, in step warm_up'"
else
  check_server="$check_server --pool-mode warm"
fi
# memory.peak can be reset from Linux 6.12 on: run cgroups are then reused, as on v1.
case "$(uname -r)" in
  6.1[2-9]* | 6.[2-9][0-9]* | [7-9].*) check_server="$check_server --reused-cgroups" ;;
esac

check "install and enable deploy/systemd/pyrunner.service as the README says" sh -ec "
  install -m 0755 $BUILD_DIR/pyrunner /usr/local/bin/pyrunner
  install -m 0644 -D config/pyrunner.yaml /etc/pyrunner/pyrunner.yaml
  install -m 0644 deploy/systemd/pyrunner.service /etc/systemd/system/
  systemctl daemon-reload && systemctl enable --now pyrunner"
check "the service serves, its runs in cgroups of its delegated subtree" sh -c "$check_server"
check "the server moved itself into <unit>/supervisor" sh -c \
  'grep -qx "0::/system.slice/pyrunner.service/supervisor" /proc/$(systemctl show -p MainPID --value pyrunner)/cgroup'
check "systemctl stop: a clean exit, no run cgroup or run process left" sh -c '
  systemctl stop pyrunner
  systemctl show -p Result -p ExecMainStatus pyrunner
  [ "$(systemctl show -p Result --value pyrunner)" = success ] &&
  [ -z "$(find /sys/fs/cgroup -name "run-*" -type d)" ] && [ -z "$(ps -u 65534 -o pid=)" ]'
check "systemctl start: serves again" sh -c "systemctl start pyrunner && $check_server --skip-classic"
systemctl stop pyrunner
journalctl -u pyrunner --no-pager >/dev/console 2>&1
# The cgroup tests from the root cgroup (a test server moves every process of its own cgroup
# into <cgroup>/supervisor: not this unit's business).
check "catch2 [cgroup] on $(uname -r)" sh -c \
  "echo \$\$ >/sys/fs/cgroup/cgroup.procs && exec unshare --pid --fork --mount-proc $BUILD_DIR/pyrunner_tests '[cgroup]'"
finish
