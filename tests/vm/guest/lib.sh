# Shared by the guest's plans: each check's outcome goes to the results port, its output to
# the console.
results=$(cat /run/pyrunner-vm-results 2>/dev/null || echo /dev/console)
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
