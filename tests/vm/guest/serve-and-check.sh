# Starts `pyrunner serve` on 127.0.0.1:8000, checks it over HTTP (tests/docker/check_server.py
# with the arguments given), stops it with SIGTERM and checks that it exited 0 and left no run
# cgroup and no process of the runs' uid behind.
. /payload/guest/paths
# SERVE_ARGS (e.g. --config FILE) and SERVE_ENV (e.g. a secret) go to the server.
env $SERVE_ENV "$BUILD_DIR/pyrunner" serve --port 8000 $SERVE_ARGS >/tmp/serve.log 2>&1 &
server=$!
/usr/bin/python3 "$SOURCE_DIR/tests/docker/check_server.py" --url http://127.0.0.1:8000 "$@"
checked=$?
kill -TERM "$server"
wait "$server"
stopped=$?
echo "--- server log"; cat /tmp/serve.log; echo "---"
left=$(find /sys/fs/cgroup -name 'run-*' -type d 2>/dev/null)
strays=$(ps -o pid=,comm= -u 65534)
[ "$stopped" = 0 ] || echo "FAIL the server exited $stopped after SIGTERM"
[ -z "$left" ] || echo "FAIL run cgroups left behind: $left"
[ -z "$strays" ] || echo "FAIL processes of uid 65534 left behind: $strays"
[ "$checked" = 0 ] && [ "$stopped" = 0 ] && [ -z "$left" ] && [ -z "$strays" ]
