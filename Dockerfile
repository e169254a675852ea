# syntax=docker/dockerfile:1
#
# pyrunner container image: build stage on debian:12, runtime stage on debian:12-slim.
# Packages come only from deps/*.txt, the same lists `make deps` installs.
#
# Build:  docker build -t pyrunner .
#
# Run (the least privilege under which every sandbox layer works; see deploy/README.md):
#
#   docker run -d --name pyrunner -p 8000:8000 \
#     --user 0 \
#     --cap-drop ALL --cap-add SYS_ADMIN --cap-add SETUID --cap-add SETGID \
#     --cap-add SETPCAP --cap-add KILL --cap-add SYS_NICE \
#     --security-opt seccomp=deploy/seccomp/pyrunner-docker.json \
#     --security-opt apparmor=unconfined \
#     --security-opt no-new-privileges \
#     --cgroupns private \
#     --read-only --tmpfs /run/pyrunner:size=16m --tmpfs /tmp:size=64m \
#     --memory 4g --cpus 2 --pids-limit 2048 \
#     pyrunner
#
# Never --privileged. What each flag is for:
#   --user 0            the server must be uid 0 *inside the container* to hand each run to uid
#                       65534 and to write its own (private) cgroup files, which belong to root.
#                       The image's default USER is the unprivileged `pyrunner`, so privilege is
#                       something the operator asks for at run time, never implicit in the image.
#   SYS_ADMIN           clone() with CLONE_NEWPID|NEWNS|NEWNET|NEWIPC|NEWUTS|NEWCGROUP, mount,
#                       pivot_root, sethostname, and making its own cgroup writable (see below).
#   SETUID, SETGID      setresuid/setresgid/setgroups to 65534:65534 before user code runs.
#   SETPCAP             empty each run's capability bounding set (PR_CAPBSET_DROP) before that.
#   KILL                signal (timeouts, cancels) run processes that belong to uid 65534; it
#                       only reaches processes in the container's own PID namespace.
#   SYS_NICE            optional: give a pre-forked child (uid 65534) normal priority back when
#                       it gets a request, so that refilling the pool can run as SCHED_IDLE
#                       background work. Without it pyrunner warns and runs everything at one
#                       priority.
#   seccomp profile     Docker's default profile refuses pivot_root outright (and the namespace and
#                       mount calls without SYS_ADMIN); the shipped profile is that default plus
#                       exactly the sandbox's calls, minus io_uring and ptrace.
#   apparmor=unconfined Docker's default AppArmor profile (docker-default) denies mount().
#   --cgroupns private  the container sees only its own cgroup at /sys/fs/cgroup (the default on
#                       cgroup v2 hosts; say it explicitly). Docker mounts it read-only even with
#                       SYS_ADMIN; pyrunner remounts that private mount read-write itself
#                       (deploy/README.md, "cgroups") and creates its
#                       `pyrunner/` subtree under it (sandbox.cgroup_root: auto), or uses the
#                       delegated directory that sandbox.cgroup_root names.
# Without these, `pyrunner serve` refuses to start: exit code 69 and a message naming the missing
# layer. sandbox.allow_degraded: true (config/pyrunner.yaml) lets it run without cgroup limits
# where no usable cgroup exists; do not use it to paper over a missing flag above.

############################################################################ build stage
FROM debian:12 AS build
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src

# Dependencies first so that source edits do not invalidate this layer.
COPY deps/ deps/
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      $(grep -hv '^#' deps/build-packages.txt deps/runtime-packages.txt) \
 && rm -rf /var/lib/apt/lists/*

COPY CMakeLists.txt Makefile ./
COPY cmake/ cmake/
COPY cmd/ cmd/
COPY core/ core/
COPY config/ config/
COPY tests/ tests/
# (bench/key_check.cc likewise: CMakeLists.txt names it, for make bench; not built here)
COPY bench/key_check.cc bench/
# Only the binary: the test binary (tests/ is copied because CMakeLists.txt lists its sources)
# would double the compile time and is not shipped.
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null \
 && cmake --build build -j "$(nproc)" --target pyrunner \
 && test -x build/pyrunner

########################################################################## runtime stage
FROM debian:12-slim
ENV DEBIAN_FRONTEND=noninteractive

COPY deps/runtime-packages.txt /tmp/runtime-packages.txt
RUN apt-get update \
 && apt-get install -y --no-install-recommends $(grep -hv '^#' /tmp/runtime-packages.txt) \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt

COPY --from=build /src/build/pyrunner /usr/local/bin/pyrunner
COPY config/pyrunner.yaml /etc/pyrunner/pyrunner.yaml

# `pyrunner` is the image's default user: without an explicit `--user 0` and the capabilities
# above, the container cannot build a sandbox and the binary says so and exits (69).
# Code runs as 65534:65534 (nobody:nogroup, present in the base image), never as this user.
# /run/pyrunner/root is the empty mount point each run's root is built on; it exists in the
# image so that it is there with --read-only even when /run/pyrunner is not a tmpfs.
RUN useradd --system --uid 10001 --user-group --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin pyrunner \
 && mkdir -p /run/pyrunner/root \
 && chmod 0755 /run/pyrunner /run/pyrunner/root \
 && chmod 0644 /etc/pyrunner/pyrunner.yaml

ENV PYRUNNER_CONFIG=/etc/pyrunner/pyrunner.yaml
USER pyrunner
EXPOSE 8000
STOPSIGNAL SIGTERM

# GET / answers 200 when healthy. python3 is already in the image, so no curl is needed.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["/usr/bin/python3", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/', timeout=4).status == 200 else 1)"]

CMD ["pyrunner", "serve", "--host", "0.0.0.0", "--port", "8000"]
