# pyrunner: the two commands a newcomer needs are `make serve` and `make test`.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
PORT ?= 8000
APT_PACKAGES = $(shell grep -hv '^\s*\#' deps/build-packages.txt deps/runtime-packages.txt \
	deps/test-packages.txt)

.PHONY: compat-clients deps build test compat unit security packaging serve bench format format-check \
	clean test-cgroup2 test-docker test-nginx mcp-client playground-browser

deps:  ## install every dependency from Debian's packages
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	if ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_PACKAGES); \
	fi

build: deps  ## build/pyrunner and build/pyrunner_tests
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Everything CI runs. The test binary runs inside a throwaway PID namespace, so a sandbox
# escape cannot signal anything on the host.
test: build format-check compat-clients mcp-client playground-browser
	/usr/bin/python3 -m unittest discover -s tests/runner -t tests/runner
	unshare --pid --fork --mount-proc $(BUILD_DIR)/pyrunner_tests
	/usr/bin/python3 tests/packaging_test.py --strict
	unshare --pid --fork --mount-proc /usr/bin/python3 tests/compat/compat.py --fast --binary $(BUILD_DIR)/pyrunner
	$(NGINX_TEST)

# The official MCP TypeScript SDK, whose client tests/mcp/sdk_test.cc drives `pyrunner mcp` and
# /mcp with (tests/mcp/package.json, pinned by its lockfile), installed under the build
# directory with Node's npm (ensure_npm, below) and the same cache as compat-clients. Without
# the registry this fails, and so does make test: the SDK tests are never skipped.
MCP_CLIENT = $(BUILD_DIR)/mcp-client
mcp-client: $(MCP_CLIENT)/node_modules/.package-lock.json $(MCP_CLIENT)/client.mjs
$(MCP_CLIENT)/node_modules/.package-lock.json: tests/mcp/package.json tests/mcp/package-lock.json
	$(call npm_ci,tests/mcp,$(MCP_CLIENT))
$(MCP_CLIENT)/client.mjs: tests/mcp/client.mjs
	mkdir -p $(MCP_CLIENT)
	cp $< $@

# puppeteer-core (tests/http/playground/package.json, pinned by its lockfile), with which
# tests/http/playground_test.cc drives GET /playground in Debian's chromium (deps/test-packages.txt;
# puppeteer downloads no browser), installed under the build directory like mcp-client.
PLAYGROUND_BROWSER = $(BUILD_DIR)/playground-browser
playground-browser: $(PLAYGROUND_BROWSER)/node_modules/.package-lock.json $(PLAYGROUND_BROWSER)/browser.mjs
$(PLAYGROUND_BROWSER)/node_modules/.package-lock.json: tests/http/playground/package.json \
		tests/http/playground/package-lock.json
	$(call npm_ci,tests/http/playground,$(PLAYGROUND_BROWSER))
$(PLAYGROUND_BROWSER)/browser.mjs: tests/http/playground/browser.mjs
	mkdir -p $(PLAYGROUND_BROWSER)
	cp $< $@

# Debian's own upstream test modules of the stack, natively and inside runs (run and pool):
# every test that passes natively and not in a run is listed (tests/compat/compat.py).
compat: build  ## the compatibility harness, a few minutes (make test runs its fast subset)
	unshare --pid --fork --mount-proc /usr/bin/python3 tests/compat/compat.py --binary $(BUILD_DIR)/pyrunner

# Two replicas behind Debian's nginx with deploy/nginx/pyrunner.conf, on 127.0.0.1: sessions
# routed by the replica in their ids, one-off runs round-robin, a stopped replica's sessions
# (tests/deploy/replicas_test.py, about 10 s; make test runs it). In a throwaway PID namespace,
# so nothing it started can outlive it.
NGINX_TEST = unshare --pid --fork --mount-proc /usr/bin/python3 tests/deploy/replicas_test.py \
	--binary $(BUILD_DIR)/pyrunner
test-nginx: build
	$(NGINX_TEST)

# Node's npm: Debian's nodejs and npm (tests/compat/host-packages.txt) when the host has none
# (a host with another Node, e.g. one that bundles npm, is left alone).
ensure_npm = @if ! command -v npm >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    $$(grep -hv '^\s*\#' tests/compat/host-packages.txt); \
	fi

# npm ci of the package.json and lockfile in $(1) into the build directory $(2), with the
# shared cache: the recipe of compat-clients, mcp-client and playground-browser.
define npm_ci
$(ensure_npm)
mkdir -p $(2)
cp $(1)/package.json $(1)/package-lock.json $(2)/
cd $(2) && npm ci --no-audit --no-fund --prefer-offline --cache $(NPM_CACHE)
endef

# The real client packages the drop-in API tests drive (tests/compat/package.json and its
# lockfile: piston-client), installed under the build directory with Node's npm (Debian's
# nodejs and npm, tests/compat/host-packages.txt, when the host has none); npm's cache
# ($(NPM_CACHE)) makes a second install offline.
NPM_CACHE ?= $(HOME)/.cache/pyrunner/npm
COMPAT_CLIENTS = $(BUILD_DIR)/compat-clients
compat-clients: $(COMPAT_CLIENTS)/node_modules/.package-lock.json $(COMPAT_CLIENTS)/piston_client.mjs
$(COMPAT_CLIENTS)/node_modules/.package-lock.json: tests/compat/package.json tests/compat/package-lock.json
	$(call npm_ci,tests/compat,$(COMPAT_CLIENTS))
$(COMPAT_CLIENTS)/piston_client.mjs: tests/compat/piston_client.mjs
	mkdir -p $(COMPAT_CLIENTS)
	cp $< $@

# Installs what a test target needs on the host: the packages of the list file $(1).
host_packages = @if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	pkgs="$$(grep -hv '^\s*\#' $(1))"; \
	if ! dpkg -s $$pkgs >/dev/null 2>&1; then \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$pkgs; \
	fi

# The binary and the integration tests on a Debian 12 VM with only cgroup v2 (qemu; the
# image is cached in $$PYRUNNER_VM_CACHE, by default /var/cache/pyrunner/vm). See tests/vm/.
test-cgroup2: build
	$(call host_packages,tests/vm/host-packages.txt)
	tests/vm/test-cgroup2.sh $(BUILD_DIR)

# The image and docker-compose.yml with Debian's Docker engine (started if none answers), the
# documented flags, checked over HTTP on 127.0.0.1. See tests/docker/test-docker.sh.
test-docker: build
	$(call host_packages,tests/docker/host-packages.txt)
	tests/docker/test-docker.sh $(BUILD_DIR)

serve: build  ## serve on 127.0.0.1:$(PORT)
	$(BUILD_DIR)/pyrunner serve --port $(PORT)

BENCH_PACKAGES = $(shell grep -hv '^\s*\#' deps/bench-packages.txt)

bench: build  ## latency/throughput against a real server, pool on and off; sessions vs Jupyter
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	if ! dpkg -s $(BENCH_PACKAGES) >/dev/null 2>&1; then \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(BENCH_PACKAGES); \
	fi
	$(BUILD_DIR)/pyrunner_bench_keys
	/usr/bin/python3 bench/bench.py --binary $(BUILD_DIR)/pyrunner

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD_DIR)
