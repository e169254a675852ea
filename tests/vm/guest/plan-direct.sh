# The direct boot (tests/vm/guest/init.sh as PID 1, cgroup v2 only, a kernel that resets
# memory.peak):
# the integration tests of `run`, `serve` and the pool, the cgroup tests, a server checked from
# outside as a user would, and the security corpus through such a server.
. /payload/guest/lib.sh
. /payload/guest/paths
cd "$SOURCE_DIR"

check "only cgroup v2 is mounted" sh -c \
  'grep -q "^cgroup2 /sys/fs/cgroup cgroup2" /proc/mounts && ! grep -q "^cgroup " /proc/mounts'
# What exercises cgroups, limits and the pool (the rest of the suite is the same on any
# kernel, and under emulation 10-15x slower): the cgroup tests, `run` and `serve` through the
# run cgroups (memory_used, memory_exceeded touched and untouched, pids.max, SIGTERM leaving
# nothing), the pool and its zygote's restart.
tests='[cgroup],the six classic cases end as intended,memory growth past the limit through the cgroup is memory_exceeded,the six classic cases over HTTP,SIGTERM answers the client and leaves no cgroup or process behind,hostile code with the policy off leaves the server serving,a pooled run'"'"'s memory_used is its own*,the zygote stays flat over 200 hostile runs,a killed zygote is replaced within*'
check "pyrunner_tests: cgroups, run, serve, pool, zygote restart" unshare --pid --fork \
  --mount-proc "$BUILD_DIR/pyrunner_tests" --durations yes "$tests"
check "a server reports cgroup v2 and serves the classic cases" \
  sh /payload/guest/serve-and-check.sh --cgroup v2 --cgroup-parent /sys/fs/cgroup/pyrunner \
  --reused-cgroups --pool-mode warm
# The security corpus through one warm pool on v2, the static policy off, a secret in the
# server's environment. fork-bomb_classic is left to make test: its main process ends only
# when one of its own forks is refused, which under emulation takes longer than its 10 s
# (seen: a timeout instead of BlockingIOError; pids.max itself is checked by [cgroup]).
sed '/^policy:/,/^[a-z]/ s/^  enabled: true/  enabled: false/' config/pyrunner.yaml >/tmp/policy-off.yaml
check "the security corpus over HTTP, policy off" env SERVE_ARGS="--config /tmp/policy-off.yaml" \
  SERVE_ENV="PYRUNNER_TEST_SECRET=vm-canary-$$" sh /payload/guest/serve-and-check.sh \
  --cgroup v2 --skip-classic --corpus-all --corpus-skip fork-bomb_classic \
  --secret "vm-canary-$$"
finish
