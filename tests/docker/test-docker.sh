#!/usr/bin/env bash
# make test-docker: the image and the compose file, for real, with Debian's Docker engine.
#
#   tests/docker/test-docker.sh BUILD_DIR
#
# 1. A Docker engine: the one that answers, or Debian's dockerd started here (and stopped at
#    the end).
# 2. debian:12 and debian:12-slim, made with debootstrap when missing (base-images.sh).
# 3. `docker build -t pyrunner .`, as the Dockerfile says.
# 4. The container, started with exactly the `docker run` line of the Dockerfile's header (the
#    same flags as deploy/README.md), published on 127.0.0.1 only: healthy (its HEALTHCHECK),
#    the six classic cases and more over HTTP (check_server.py), a clean exit on docker stop.
# 5. The same flags with a policy-off config mounted: part of the security corpus over HTTP.
# 6. docker-compose.yml, with Debian's docker-compose 1.29 and with Compose v2 where the
#    `docker compose` plugin exists: up, healthy, a run, down.
# Everything started here is removed at the end; the images stay (the next build is cached).
set -euo pipefail

build=$(cd "${1:?usage: test-docker.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
out="$build/docker"
mkdir -p "$out"
port=${PYRUNNER_DOCKER_PORT:-18000}
name=pyrunner-test-docker
project=pyrunner-test-docker
started=$SECONDS
log() { echo "test-docker: $*" >&2; }
failed=0
fail() { log "FAIL $*"; failed=1; }

dockerd_pid=""
compose_projects=()
cleanup() {
  docker rm -f "$name" "$name-corpus" >/dev/null 2>&1 || true
  local p
  for p in "${compose_projects[@]}"; do
    eval "$p" down --timeout 20 >/dev/null 2>&1 || true
  done
  if [ -n "$dockerd_pid" ]; then
    log "stopping the dockerd started here ($dockerd_pid)"
    kill "$dockerd_pid" 2>/dev/null || true
    wait "$dockerd_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

# --------------------------------------------------------------------------- 1. the engine
if ! docker info >/dev/null 2>&1; then
  log "no Docker engine answers: starting dockerd (log: $out/dockerd.log)"
  dockerd >"$out/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 120); do
    docker info >/dev/null 2>&1 && break
    kill -0 "$dockerd_pid" 2>/dev/null || { tail -20 "$out/dockerd.log" >&2; exit 1; }
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { log "dockerd did not answer within 60 s"; exit 1; }
fi
cgroup_version=v$(docker info --format '{{.CgroupVersion}}')
log "engine $(docker info --format '{{.ServerVersion}}'), cgroup $cgroup_version"

# ----------------------------------------------------------------- 2. base images, 3. build
"$here/base-images.sh"
t0=$SECONDS
docker build -t pyrunner . >"$out/build.log" 2>&1 || { tail -40 "$out/build.log" >&2; exit 1; }
log "docker build -t pyrunner .: $((SECONDS - t0)) s"

# --------------------------------------------------------- 4. the documented docker run line
# The Dockerfile's header holds it as comment lines from "docker run" to the image name.
documented=$(sed -n '/^#   docker run/,/^#     pyrunner$/p' Dockerfile | sed 's/^#//; s/\\$//' | tr '\n' ' ')
[ -n "$documented" ] || { log "no docker run line in the Dockerfile's header"; exit 1; }
flags() { tr ' ' '\n' <<<"$1" | grep -v '^$' | grep -v -e '^--name$' -e '^pyrunner$' | sort; }
readme=$(sed -n '/^docker run -d/,/^  pyrunner$/p' deploy/README.md | sed 's/\\$//' | tr '\n' ' ')
if [ "$(flags "$documented")" != "$(flags "$readme")" ]; then
  fail "the docker run flags of the Dockerfile and of deploy/README.md differ"
  diff <(flags "$documented") <(flags "$readme") >&2 || true
fi
# Exactly those flags, but with a name of our own and published on loopback only.
run_line=$(sed "s/ --name pyrunner / --name $name /; s/ -p 8000:8000 / -p 127.0.0.1:$port:8000 /" <<<"$documented")
grep -q -- "--name $name " <<<"$run_line" && grep -q -- "-p 127.0.0.1:$port:8000 " <<<"$run_line" ||
  { log "could not set the name and port in: $documented"; exit 1; }

# Waits for the container's HEALTHCHECK to say healthy.
wait_healthy() {
  local container=$1 state
  for _ in $(seq 300); do
    state=$(docker inspect -f '{{.State.Health.Status}}' "$container" 2>/dev/null || echo gone)
    [ "$state" = healthy ] && return 0
    [ "$state" = gone ] || [ "$(docker inspect -f '{{.State.Running}}' "$container")" = true ] || break
    sleep 1
  done
  log "$container is not healthy ($state); its log:"
  docker logs "$container" 2>&1 | tail -30 >&2
  return 1
}

t0=$SECONDS
log "docker run with the documented flags: $run_line"
eval "$run_line" >/dev/null
if wait_healthy "$name"; then
  log "healthy after $((SECONDS - t0)) s"
  /usr/bin/python3 "$here/check_server.py" --url "http://127.0.0.1:$port" --wait 60 \
    --cgroup "$cgroup_version" --pool-mode warm || fail "check_server.py against the container"
  docker stop --time 20 "$name" >/dev/null
  code=$(docker inspect -f '{{.State.ExitCode}}' "$name")
  [ "$code" = 0 ] || fail "the container exited $code on docker stop (SIGTERM)"
  docker logs "$name" >"$out/container.log" 2>&1
  grep -q "stopped" "$out/container.log" || fail "no clean stop in the container's log"
else
  fail "the container with the documented flags"
fi
docker rm -f "$name" >/dev/null

# ------------------------------------------------------------------- 5. part of the corpus
# The same flags; the config mounted read-only, as docker-compose.yml does, with the static
# policy off so that the programs reach the sandbox; a secret in the server's environment.
corpus=(fork-bomb_classic fork-bomb_threads memory-bomb_numpy_untouched memory-bomb_bytearray
  memory-bomb_shared_mmap host-files_etc_secrets host-files_proc_root environment_proc_environ
  environment_os_environ network_socket_families network_tcp_loopback syscalls_mount
  syscalls_ptrace syscalls_namespaces writes_cgroup writes_readonly_paths signals_kill_init
  abi32_int80_getpid limits_cpu disk-fill_tmp)
secret=pyrunner-docker-canary-$RANDOM$RANDOM
awk '/^[a-z]/ { section = $1 } section == "policy:" && /^  enabled: true/ { sub("true", "false") } 1' \
  config/pyrunner.yaml >"$out/policy-off.yaml"
grep -A1 '^policy:' "$out/policy-off.yaml" | grep -q '^  enabled: false' ||
  { log "could not turn the policy off"; exit 1; }
corpus_line=$(sed "s| --name $name | --name $name-corpus -v $out/policy-off.yaml:/etc/pyrunner/pyrunner.yaml:ro -e PYRUNNER_TEST_SECRET=$secret |" <<<"$run_line")
t0=$SECONDS
eval "$corpus_line" >/dev/null
if wait_healthy "$name-corpus"; then
  /usr/bin/python3 "$here/check_server.py" --url "http://127.0.0.1:$port" --wait 60 \
    --skip-classic --corpus "${corpus[@]}" --secret "$secret" || fail "the corpus over HTTP"
  docker stop --time 20 "$name-corpus" >/dev/null
else
  fail "the container with the policy off"
fi
docker rm -f "$name-corpus" >/dev/null
log "corpus: $((SECONDS - t0)) s"

# ------------------------------------------------------------------------------- 6. compose
compose_check() {  # LABEL COMMAND...
  local label=$1
  shift
  local compose="$* -p $project -f docker-compose.yml"
  compose_projects+=("PYRUNNER_PORT=$port $compose")
  t0=$SECONDS
  log "$label: up"
  if ! PYRUNNER_PORT=$port $compose up -d >"$out/compose.log" 2>&1; then
    tail -20 "$out/compose.log" >&2
    fail "$label: up"
    return
  fi
  local container
  container=$(PYRUNNER_PORT=$port $compose ps -q pyrunner)
  if wait_healthy "$container"; then
    /usr/bin/python3 "$here/check_server.py" --url "http://127.0.0.1:$port" --wait 60 \
      --cgroup "$cgroup_version" --pool-mode warm || fail "$label: check_server.py"
  else
    fail "$label: healthy"
  fi
  PYRUNNER_PORT=$port $compose down --timeout 20 >>"$out/compose.log" 2>&1 || fail "$label: down"
  log "$label: $((SECONDS - t0)) s"
}
compose_check "docker-compose $(docker-compose version --short)" docker-compose
if docker compose version >/dev/null 2>&1; then
  compose_check "docker compose $(docker compose version --short)" docker compose
else
  log "no Compose v2 (the docker compose plugin is not installed): only docker-compose 1.29"
fi

log "$((SECONDS - started)) s in all"
if [ "$failed" != 0 ]; then
  log FAILED
  exit 1
fi
log passed
