# Shared by the guest's plans: each check's outcome goes to the results port, its output to
# the console.
# The port appears once virtio_console (loaded by init.sh) has probed it, which can be after
# init.sh looked (seen with the 6.1 kernel under TCG, systemd boot): wait for it, 30 s at most.
# A plan that cannot find it reports to the console, and the host then finds no results.
results_port() {
  tries=0
  while [ "$tries" -lt 300 ]; do
    for port in /sys/class/virtio-ports/*; do
      if [ "$(cat "$port/name" 2>/dev/null)" = results ] && [ -e "/dev/${port##*/}" ]; then
        echo "/dev/${port##*/}"
        return
      fi
    done
    sleep 0.1
    tries=$((tries + 1))
  done
  echo /dev/console
}
results=$(results_port)
failures=0

report() { echo "$*" >>"$results"; echo "== $*" >/dev/console; }

# check NAME COMMAND...: runs COMMAND; PASS or FAIL with its time, and its exit code on failure.
check() {
  name=$1
  shift
  echo "== $name: $*" >/dev/console
  start=$(date +%s)
  "$@" >/dev/console 2>&1
  rc=$?
  took=$(($(date +%s) - start))
  if [ "$rc" = 0 ]; then
    report "PASS $name (${took} s)"
  else
    report "FAIL $name (exit $rc, ${took} s)"
    failures=$((failures + 1))
  fi
}

finish() { report "RESULT $failures"; }
