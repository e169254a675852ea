#!/usr/bin/python3
"""Static checks of pyrunner's packaging and deployment files.

Run from anywhere with /usr/bin/python3 (standard library plus Debian's python3-yaml, which
`make deps` installs): prints one line per check and ends with `N passed, M failed`; exits
non-zero if any check failed. Nothing here needs Docker or a Kubernetes cluster: it checks
that the files agree with the repository and with each other. A check that needs something
this machine lacks (a built binary, dpkg) prints SKIP, is counted as skipped in the last
line (`N passed, M failed, K skipped`) and listed again above it; with --strict a skip is a
failure (for a machine where `make deps` and `make build` have run, as under `make test`).
"""

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
K8S = os.path.join(ROOT, "deploy", "kubernetes")
SECCOMP = os.path.join(ROOT, "deploy", "seccomp", "pyrunner-docker.json")
PORT = 8000
HEALTH_URL = "http://127.0.0.1:8000/"
# The capabilities every deployment adds after dropping ALL (deploy/README.md says why).
CAPS = {"SYS_ADMIN", "SETUID", "SETGID", "SETPCAP", "KILL", "SYS_NICE"}
K8S_MANIFESTS = ["configmap.yaml", "networkpolicy.yaml", "service-replicas.yaml", "statefulset.yaml",
                 "service.yaml", "hpa.yaml", "router-configmap.yaml", "router-networkpolicy.yaml",
                 "router-deployment.yaml", "router-service.yaml"]
NGINX_DIR = os.path.join(ROOT, "deploy", "nginx")
# The namespace the shipped upstreams-kubernetes.conf names in its DNS names (README: step 3).
K8S_NAMESPACE = "pyrunner"
# The router's nginx listens here (router-deployment.yaml, its server.conf).
ROUTER_PORT = 8080

results = {"passed": 0, "failed": 0, "skipped": []}
STRICT = "--strict" in sys.argv[1:]


def check(name, ok, detail=""):
    ok = bool(ok)
    results["passed" if ok else "failed"] += 1
    line = ("PASS " if ok else "FAIL ") + name
    if detail and not ok:
        line += ": " + str(detail)
    print(line, flush=True)
    return ok


def skip(name, why):
    if STRICT:
        check(name, False, "needs what this machine lacks (--strict): " + why)
        return
    results["skipped"].append(name + ": " + why)
    print("SKIP " + name + ": " + why, flush=True)


def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read()


try:
    import yaml
except ImportError:
    yaml = None


def load_yaml(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return list(yaml.safe_load_all(f))


# ----------------------------------------------------------------------------- deps/*.txt

PKG_RE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")


def package_list(rel):
    names = []
    for line in read(rel).splitlines():
        if line.startswith("#") or not line.strip():
            continue
        names.append(line)
    return names


def check_deps():
    lists = {}
    for rel in ("deps/build-packages.txt", "deps/runtime-packages.txt", "deps/test-packages.txt"):
        if not check(rel + " exists", os.path.isfile(os.path.join(ROOT, rel))):
            continue
        names = package_list(rel)
        # `make deps` and the Dockerfile read these with `grep -hv '^#'`: one name per line,
        # nothing else on it.
        bad = [n for n in names if not PKG_RE.match(n)]
        check(rel + ": one Debian package name per line, whole-line comments only", names and not bad, bad)
        lists[rel] = names
    if len(lists) == 3:
        build, runtime, tests = lists.values()
        both = sorted((set(build) & set(runtime)) | (set(tests) & (set(build) | set(runtime))))
        check("deps: no package listed twice", not both and all(len(set(x)) == len(x) for x in (build, runtime, tests)),
              both)
        want_runtime = {"python3", "python3-numpy", "python3-sympy", "python3-pandas",
                        "python3-matplotlib", "python3-scipy", "python3-sklearn", "libpython3.11"}
        check("deps: runtime list has the interpreter and the scientific stack",
              want_runtime <= set(runtime), sorted(want_runtime - set(runtime)))
        check("deps: build list has python3-yaml (this test parses YAML with it)", "python3-yaml" in build)
        check("deps: test list has nginx (tests/deploy/replicas_test.py)", "nginx" in tests)
    makefile = read("Makefile")
    check("Makefile: make deps installs deps/test-packages.txt too",
          re.search(r"^APT_PACKAGES = [^\n]*(?:\\\n[^\n]*)*deps/test-packages\.txt", makefile, re.M))
    return lists


# ----------------------------------------------------------------------------- Dockerfile


def dockerfile_instructions(text):
    """(keyword, arguments) per instruction, continuation lines joined, comments dropped."""
    out, cur = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not cur):
            continue
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        if cur.strip():
            kw, _, rest = cur.strip().partition(" ")
            out.append((kw.upper(), rest.strip()))
        cur = ""
    return out


def dockerignore_patterns():
    path = os.path.join(ROOT, ".dockerignore")
    if not os.path.isfile(path):
        return []
    pats = []
    for line in read(".dockerignore").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and not line.startswith("!"):
            pats.append(line.rstrip("/"))
    return pats


def ignored(rel, patterns):
    """True if .dockerignore drops `rel` or a directory above it (Go filepath.Match, roughly)."""
    parts = rel.strip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pat in patterns:
        for p in prefixes:
            if fnmatch.fnmatchcase(p, pat):
                return True
            if pat.startswith("**/"):
                tail = pat[3:]
                segs = p.split("/")
                if any(fnmatch.fnmatchcase("/".join(segs[i:]), tail) for i in range(len(segs))):
                    return True
    return False


def apt_install_segments(run):
    """The argument text of each `apt-get install` in a RUN instruction."""
    segs = []
    for m in re.finditer(r"apt-get\s+install\b", run):
        rest = run[m.end():]
        depth, i = 0, 0
        while i < len(rest):
            c = rest[i]
            if rest.startswith("$(", i):
                depth += 1
                i += 2
                continue
            if c == ")" and depth:
                depth -= 1
            elif depth == 0 and (rest.startswith("&&", i) or c in ";|"):
                break
            i += 1
        segs.append(rest[:i])
    return segs


def check_dockerfile(lists):
    if not check("Dockerfile exists", os.path.isfile(os.path.join(ROOT, "Dockerfile"))):
        return {}
    text = read("Dockerfile")
    instrs = dockerfile_instructions(text)
    froms = [a for k, a in instrs if k == "FROM"]
    check("Dockerfile: build stage FROM debian:12 AS build, runtime stage FROM debian:12-slim",
          len(froms) == 2 and re.fullmatch(r"debian:12\s+AS\s+build", froms[0], re.I)
          and froms[1].split()[0] == "debian:12-slim", froms)

    # Split into stages to know which apt-get belongs where.
    stages, stage = [], None
    for k, a in instrs:
        if k == "FROM":
            stage = []
            stages.append(stage)
        if stage is not None:
            stage.append((k, a))

    patterns = dockerignore_patterns()
    missing, dropped, copies = [], [], []
    for k, a in instrs:
        if k not in ("COPY", "ADD"):
            continue
        args = shlex.split(a)
        if any(x.startswith("--from") for x in args):
            copies.append(args)
            continue
        srcs = [x for x in args if not x.startswith("--")][:-1]
        for s in srcs:
            if not os.path.exists(os.path.join(ROOT, s)):
                missing.append(s)
            elif ignored(s, patterns):
                dropped.append(s)
    check("Dockerfile: every path it COPYs exists in the repository", not missing, missing)
    check("Dockerfile: .dockerignore excludes none of the paths it COPYs", not dropped, dropped)
    # The build stage runs CMake on CMakeLists.txt: every top-level directory it names
    # (sources, cmake/ scripts) must be in the image, or the image build fails where make
    # test passed.
    copied = {os.path.normpath(s).split(os.sep)[0] for k, a in instrs if k in ("COPY", "ADD")
              for s in [x for x in shlex.split(a) if not x.startswith("--")][:-1]}
    named = set(re.findall(r"(?:\$\{(?:CMAKE|PROJECT)_SOURCE_DIR\}/|(?<![\w/${}.-]))([A-Za-z_][\w-]*)/",
                           read("CMakeLists.txt")))
    unbuilt = sorted(d for d in named if os.path.isdir(os.path.join(ROOT, d)) and d not in copied)
    check("Dockerfile: COPYs every top-level directory CMakeLists.txt names", not unbuilt, unbuilt)
    check("Dockerfile: runtime stage copies /src/build/pyrunner to /usr/local/bin/pyrunner",
          any(c[-2:] == ["/src/build/pyrunner", "/usr/local/bin/pyrunner"] for c in copies), copies)
    check("Dockerfile: copies config/pyrunner.yaml to /etc/pyrunner/pyrunner.yaml",
          re.search(r"^COPY\s+config/pyrunner\.yaml\s+/etc/pyrunner/pyrunner\.yaml\s*$", text, re.M))

    hard_coded, wrong_lists = [], []
    for idx, st in enumerate(stages):
        want = ({"deps/build-packages.txt", "deps/runtime-packages.txt"} if idx == 0
                else {"runtime-packages.txt"})
        for k, a in st:
            if k != "RUN":
                continue
            for seg in apt_install_segments(a):
                subs = re.findall(r"\$\(([^)]*)\)", seg)
                rest = re.sub(r"\$\([^)]*\)", " ", seg)
                hard_coded += [t for t in rest.split() if not t.startswith("-")]
                named = set()
                for s in subs:
                    named |= {os.path.relpath(p, "/tmp") if p.startswith("/tmp/") else p
                              for p in re.findall(r"[\w./-]*packages\.txt", s)}
                if idx == 0 and named != want:
                    wrong_lists.append((idx, sorted(named)))
                if idx == 1 and {os.path.basename(n) for n in named} != want:
                    wrong_lists.append((idx, sorted(named)))
    check("Dockerfile: apt-get install names no package itself (only $(grep ... deps/*.txt))",
          not hard_coded, hard_coded)
    check("Dockerfile: build stage installs both lists, runtime stage only runtime-packages.txt",
          not wrong_lists, wrong_lists)
    runtime_run = " ".join(a for k, a in (stages[1] if len(stages) > 1 else []) if k == "RUN")
    check("Dockerfile: runtime apt-get uses --no-install-recommends and removes the apt lists",
          "--no-install-recommends" in runtime_run and "rm -rf /var/lib/apt/lists" in runtime_run)

    def one(kw):
        vals = [a for k, a in (stages[-1] if stages else []) if k == kw]
        return vals[-1] if vals else ""

    check("Dockerfile: EXPOSE 8000", one("EXPOSE").split() == [str(PORT)], one("EXPOSE"))
    check("Dockerfile: ENV PYRUNNER_CONFIG=/etc/pyrunner/pyrunner.yaml",
          re.search(r"^ENV\s+PYRUNNER_CONFIG=/etc/pyrunner/pyrunner\.yaml\s*$", text, re.M))
    user = one("USER")
    check("Dockerfile: default USER is the unprivileged pyrunner user", user == "pyrunner", user)
    check("Dockerfile: HEALTHCHECK asks GET " + HEALTH_URL, HEALTH_URL in one("HEALTHCHECK"), one("HEALTHCHECK"))
    try:
        cmd = json.loads(one("CMD"))
    except ValueError:
        cmd = None
    check("Dockerfile: CMD is exec form `pyrunner serve --host 0.0.0.0 --port 8000`",
          cmd == ["pyrunner", "serve", "--host", "0.0.0.0", "--port", str(PORT)], cmd)
    run_caps = set(re.findall(r"--cap-add\s+(\w+)", text))
    check("Dockerfile: documented docker run adds exactly " + ",".join(sorted(CAPS)) + " after --cap-drop ALL",
          run_caps == CAPS and "--cap-drop ALL" in text, sorted(run_caps))
    check("Dockerfile: documented docker run uses the shipped seccomp profile and apparmor=unconfined",
          "seccomp=deploy/seccomp/pyrunner-docker.json" in text and "apparmor=unconfined" in text)
    return {}


# ----------------------------------------------------------------------------- compose


def caps_of(values):
    return {str(v).upper().removeprefix("CAP_") for v in (values or [])}


def check_compose():
    rel = "docker-compose.yml"
    if not check(rel + " exists", os.path.isfile(os.path.join(ROOT, rel))):
        return
    try:
        (doc,) = load_yaml(rel)
        svc = doc["services"]["pyrunner"]
    except Exception as e:  # noqa: BLE001 - any parse or shape error is the finding
        check(rel + ": parses, with service pyrunner", False, e)
        return
    check(rel + ": parses, with service pyrunner", True)
    check(rel + ": builds the repository's Dockerfile", svc.get("build") in (".", {"context": "."}), svc.get("build"))
    ports = [str(p) for p in svc.get("ports", [])]
    check(rel + ": publishes port 8000 on loopback", "127.0.0.1:${PYRUNNER_PORT:-8000}:8000" in ports,
          ports)
    vols = svc.get("volumes", [])
    cfg = "./config/pyrunner.yaml:/etc/pyrunner/pyrunner.yaml:ro"
    check(rel + ": mounts ./config/pyrunner.yaml read-only at /etc/pyrunner/pyrunner.yaml",
          cfg in vols and os.path.isfile(os.path.join(ROOT, "config/pyrunner.yaml")), vols)
    test = " ".join(str(x) for x in (svc.get("healthcheck") or {}).get("test", []))
    check(rel + ": healthcheck asks GET " + HEALTH_URL, HEALTH_URL in test, test)
    check(rel + ": restart unless-stopped", svc.get("restart") == "unless-stopped")
    sec = [str(s) for s in svc.get("security_opt", [])]
    prof = [s.split("=", 1)[1] for s in sec if s.startswith("seccomp=")]
    check(rel + ": seccomp profile is the shipped one and exists",
          prof and os.path.realpath(os.path.join(ROOT, prof[0])) == os.path.realpath(SECCOMP), sec)
    check(rel + ": apparmor=unconfined", "apparmor=unconfined" in sec, sec)
    check(rel + ": never privileged", not svc.get("privileged"))
    check(rel + ": cap_drop ALL, cap_add exactly " + ",".join(sorted(CAPS)),
          caps_of(svc.get("cap_drop")) == {"ALL"} and caps_of(svc.get("cap_add")) == CAPS,
          (svc.get("cap_drop"), svc.get("cap_add")))
    # API keys from a file: env_file with $PYRUNNER_API_KEYS, empty as shipped (make test-docker
    # checks the service without a key).
    env_files = svc.get("env_file") or []
    env_files = [env_files] if isinstance(env_files, str) else env_files
    keys_env = {}
    for f in env_files:
        path = os.path.join(ROOT, f)
        if os.path.isfile(path):
            for line in open(path, encoding="utf-8"):
                if line.strip() and not line.lstrip().startswith("#") and "=" in line:
                    name, value = line.rstrip("\n").split("=", 1)
                    keys_env[name.strip()] = value
    check(rel + ": env_file files exist and set PYRUNNER_API_KEYS (empty as shipped)",
          env_files and all(os.path.isfile(os.path.join(ROOT, f)) for f in env_files)
          and keys_env.get("PYRUNNER_API_KEYS") == "", (env_files, keys_env))
    # docker-compose 1.29 rejects `cgroup` (make test-docker runs both Compose versions).
    check(rel + ": no `cgroup` key (docker-compose 1.29 rejects it)", "cgroup" not in svc,
          svc.get("cgroup"))
    tmpfs = [str(t).split(":")[0] for t in svc.get("tmpfs", [])]
    check(rel + ": read-only root with tmpfs /run/pyrunner and /tmp",
          svc.get("read_only") is True and {"/run/pyrunner", "/tmp"} <= set(tmpfs), tmpfs)
    limits = ((svc.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    check(rel + ": deploy.resources.limits (cpus 2, memory 4g) equal mem_limit/cpus",
          str(limits.get("cpus")) in ("2", "2.0") and str(svc.get("cpus")) in ("2", "2.0")
          and str(limits.get("memory")).lower() == str(svc.get("mem_limit")).lower() == "4g",
          (limits, svc.get("mem_limit"), svc.get("cpus")))
    user = str(svc.get("user", ""))
    check(rel + ": runs as uid 0 inside the container (see deploy/README.md)", user.split(":")[0] == "0", user)


# ----------------------------------------------------------------------------- Kubernetes


def key_paths(node, prefix=""):
    """Dotted key paths of nested mappings ("server.port"); lists are leaves."""
    out = set()
    if isinstance(node, dict):
        for k, v in node.items():
            p = prefix + str(k)
            out.add(p)
            out |= key_paths(v, p + ".")
    return out


def check_kubernetes():
    docs = {}
    for name in K8S_MANIFESTS + ["kustomization.yaml"]:
        rel = os.path.join("deploy", "kubernetes", name)
        try:
            parsed = [d for d in load_yaml(rel) if d is not None]
            ok = len(parsed) == 1 and isinstance(parsed[0], dict) and "kind" in parsed[0]
            docs[name] = parsed[0] if ok else None
            check(rel + ": parses as one Kubernetes object", ok, [type(d).__name__ for d in parsed])
        except Exception as e:  # noqa: BLE001
            docs[name] = None
            check(rel + ": parses as one Kubernetes object", False, e)
    check("deploy/kubernetes/README.md exists", os.path.isfile(os.path.join(K8S, "README.md")))

    kust = docs.get("kustomization.yaml") or {}
    res = kust.get("resources", [])
    check("kustomization.yaml lists every manifest, and each exists",
          sorted(res) == sorted(K8S_MANIFESTS) and all(os.path.isfile(os.path.join(K8S, r)) for r in res), res)

    cm = docs.get("configmap.yaml") or {}
    dep = docs.get("statefulset.yaml") or {}
    svc = docs.get("service.yaml") or {}
    hpa = docs.get("hpa.yaml") or {}
    np_ = docs.get("networkpolicy.yaml") or {}

    # ConfigMap: the same sections and key names as config/pyrunner.yaml.
    try:
        (base,) = load_yaml("config/pyrunner.yaml")
        conf = yaml.safe_load(cm["data"]["pyrunner.yaml"])
        extra = sorted(key_paths(conf) - key_paths(base))
        check("configmap.yaml: keys are a subset of config/pyrunner.yaml's", not extra, extra)
        check("configmap.yaml: server.host 0.0.0.0, server.port 8000",
              conf["server"]["host"] == "0.0.0.0" and conf["server"]["port"] == PORT, conf.get("server"))
        # The router finds a session's pod by the replica in its id: that must be the pod name,
        # which is the host name ("auto") of a StatefulSet's pod.
        replica = (conf.get("sessions") or {}).get("replica", "auto")
        check("configmap.yaml: sessions.replica is auto (the host name, i.e. the pod name)",
              replica == "auto", replica)
    except Exception as e:  # noqa: BLE001
        check("configmap.yaml: holds pyrunner.yaml that parses", False, e)

    try:
        pod = dep["spec"]["template"]["spec"]
        (ctr,) = [c for c in pod["containers"] if c["name"] == "pyrunner"]
    except Exception as e:  # noqa: BLE001
        check("statefulset.yaml: has the pyrunner container", False, e)
        return
    ports = {p.get("name"): p["containerPort"] for p in ctr.get("ports", [])}
    check("statefulset.yaml: container port 8000", PORT in ports.values(), ports)

    def port_of(p):
        return ports.get(p) if isinstance(p, str) else p

    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = (ctr.get(probe) or {}).get("httpGet") or {}
        check("statefulset.yaml: %s is httpGet / on port 8000" % probe,
              get.get("path") == "/" and port_of(get.get("port")) == PORT, get)
    sc = ctr.get("securityContext") or {}
    caps = sc.get("capabilities") or {}
    check("statefulset.yaml: drops ALL and adds exactly " + ",".join(sorted(CAPS)),
          caps_of(caps.get("drop")) == {"ALL"} and caps_of(caps.get("add")) == CAPS, caps)
    check("statefulset.yaml: never privileged", not sc.get("privileged") and not
          (pod.get("securityContext") or {}).get("privileged"))
    seccomp = sc.get("seccompProfile") or (pod.get("securityContext") or {}).get("seccompProfile") or {}
    check("statefulset.yaml: seccompProfile Localhost profiles/<the shipped profile>",
          seccomp.get("type") == "Localhost" and seccomp.get("localhostProfile") ==
          "profiles/" + os.path.basename(SECCOMP) and os.path.isfile(SECCOMP), seccomp)
    check("statefulset.yaml: appArmorProfile Unconfined",
          (sc.get("appArmorProfile") or {}).get("type") == "Unconfined", sc.get("appArmorProfile"))
    env = {e["name"]: e.get("value") for e in ctr.get("env", [])}
    check("statefulset.yaml: PYRUNNER_CONFIG=/etc/pyrunner/pyrunner.yaml",
          env.get("PYRUNNER_CONFIG") == "/etc/pyrunner/pyrunner.yaml", env)
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = {m["mountPath"]: m["name"] for m in ctr.get("volumeMounts", [])}
    cfg_vol = vols.get(mounts.get("/etc/pyrunner"), {})
    check("statefulset.yaml: /etc/pyrunner is the ConfigMap of configmap.yaml",
          (cfg_vol.get("configMap") or {}).get("name") == (cm.get("metadata") or {}).get("name"), cfg_vol)
    # The API keys: server.api_keys_file is the file the (required) Secret is mounted as.
    try:
        keys_file = conf["server"]["api_keys_file"]
    except Exception:  # noqa: BLE001
        keys_file = None
    mounted = None
    for m in ctr.get("volumeMounts", []):
        secret = (vols.get(m["name"]) or {}).get("secret") or {}
        for item in secret.get("items", []):
            if secret.get("secretName") == "pyrunner-api-keys" and not secret.get("optional"):
                mounted = m["mountPath"].rstrip("/") + "/" + item["path"]
    check("statefulset.yaml: server.api_keys_file (configmap.yaml) is the required Secret "
          "pyrunner-api-keys, mounted", keys_file is not None and keys_file == mounted,
          (keys_file, mounted))
    check("deploy/kubernetes/README.md: creates the Secret pyrunner-api-keys",
          "create secret generic pyrunner-api-keys" in read("deploy/kubernetes/README.md"))
    res = ctr.get("resources") or {}
    check("statefulset.yaml: resource requests and limits for cpu and memory",
          all(k in (res.get(w) or {}) for w in ("requests", "limits") for k in ("cpu", "memory")), res)

    sp = (svc.get("spec") or {})
    sports = sp.get("ports") or []
    check("service.yaml: ClusterIP on port 8000 to the container's 8000",
          sp.get("type", "ClusterIP") == "ClusterIP" and any(
              p.get("port") == PORT and port_of(p.get("targetPort", p.get("port"))) == PORT for p in sports), sports)
    sel = sp.get("selector") or {}
    labels = (dep["spec"]["template"].get("metadata") or {}).get("labels") or {}
    check("service.yaml: selector matches the pod labels",
          sel and all(labels.get(k) == v for k, v in sel.items()), sel)

    hs = hpa.get("spec") or {}
    metric = ((hs.get("metrics") or [{}])[0].get("resource") or {})
    check("hpa.yaml: autoscaling/v2, 2..10 replicas of the StatefulSet on CPU 70%",
          hpa.get("apiVersion") == "autoscaling/v2" and hs.get("minReplicas") == 2 and hs.get("maxReplicas") == 10
          and (hs.get("scaleTargetRef") or {}).get("kind") == dep.get("kind")
          and (hs.get("scaleTargetRef") or {}).get("name") == dep["metadata"]["name"]
          and metric.get("name") == "cpu" and (metric.get("target") or {}).get("averageUtilization") == 70, hs)

    ns = np_.get("spec") or {}
    ing_ports = [p.get("port") for r in ns.get("ingress") or [] for p in r.get("ports") or []]
    check("networkpolicy.yaml: denies all egress, allows ingress on 8000 only",
          "Egress" in (ns.get("policyTypes") or []) and not ns.get("egress") and ing_ports == [PORT]
          and all(labels.get(k) == v for k, v in ((ns.get("podSelector") or {}).get("matchLabels") or {}).items()),
          ns)

    check_replicas_addressable(docs, labels)
    check_router(docs, labels)


def selects(selector, labels):
    """Whether a Service selector or a matchLabels selects pods with `labels`."""
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_replicas_addressable(docs, labels):
    """Each pyrunner pod has a stable name and DNS name, and that name is its sessions.replica."""
    sts = docs.get("statefulset.yaml") or {}
    spec = sts.get("spec") or {}
    pod = (spec.get("template") or {}).get("spec") or {}
    headless = docs.get("service-replicas.yaml") or {}
    hspec = headless.get("spec") or {}
    check("statefulset.yaml: a StatefulSet whose serviceName is the headless Service of service-replicas.yaml",
          sts.get("kind") == "StatefulSet" and spec.get("serviceName") == (headless.get("metadata") or {}).get("name"),
          (sts.get("kind"), spec.get("serviceName")))
    check("service-replicas.yaml: headless (clusterIP None), selects the pyrunner pods, port 8000, ready pods only",
          headless.get("kind") == "Service" and hspec.get("clusterIP") == "None"
          and selects(hspec.get("selector"), labels) and not hspec.get("publishNotReadyAddresses")
          and any(p.get("port") == PORT for p in hspec.get("ports") or []), hspec)
    # sessions.replica "auto" is gethostname(), the pod name unless the pod spec changes it.
    renamed = {k: pod[k] for k in ("hostname", "subdomain", "setHostnameAsFQDN") if k in pod}
    check("statefulset.yaml: the pod keeps its name as host name (no hostname, subdomain, setHostnameAsFQDN)",
          not renamed, renamed)
    check("statefulset.yaml: no replicas field (the HPA owns the count), pods managed in Parallel",
          "replicas" not in spec and spec.get("podManagementPolicy") == "Parallel", spec.get("podManagementPolicy"))
    check("statefulset.yaml: selector matches the pod labels",
          selects((spec.get("selector") or {}).get("matchLabels"), labels), spec.get("selector"))


def check_router(docs, server_labels):
    """The router (nginx) runs deploy/nginx/ as shipped and can reach the pods and DNS only."""
    cm = docs.get("router-configmap.yaml") or {}
    dep = docs.get("router-deployment.yaml") or {}
    svc = docs.get("router-service.yaml") or {}
    netpol = docs.get("router-networkpolicy.yaml") or {}
    data = cm.get("data") or {}
    for key, rel in (("pyrunner.conf", "deploy/nginx/pyrunner.conf"),
                     ("upstreams.conf", "deploy/nginx/upstreams-kubernetes.conf")):
        same = os.path.isfile(os.path.join(ROOT, rel)) and data.get(key) == read(rel)
        check("router-configmap.yaml: %s is %s byte for byte (copy it over after editing)" % (key, rel), same)
    listens = re.findall(r"^\s*listen\s+(\d+)\s*;", data.get("server.conf", ""), re.M)
    check("router-configmap.yaml: server.conf listens on %d" % ROUTER_PORT, listens == [str(ROUTER_PORT)], listens)

    try:
        pod = dep["spec"]["template"]["spec"]
        (ctr,) = pod["containers"]
        labels = dep["spec"]["template"]["metadata"]["labels"]
    except Exception as e:  # noqa: BLE001
        check("router-deployment.yaml: one nginx container", False, e)
        return
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = {m["mountPath"]: vols.get(m["name"], {}) for m in ctr.get("volumeMounts", [])}

    def files(path):
        cmv = mounts.get(path, {}).get("configMap") or {}
        if cmv.get("name") != (cm.get("metadata") or {}).get("name"):
            return None
        return {i["path"]: i["key"] for i in cmv.get("items", [])}

    check("router-deployment.yaml: the ConfigMap's pyrunner.conf in /etc/nginx/conf.d, upstreams.conf and "
          "server.conf in /etc/nginx/pyrunner (where pyrunner.conf includes them)",
          files("/etc/nginx/conf.d") == {"pyrunner.conf": "pyrunner.conf"}
          and files("/etc/nginx/pyrunner") == {"upstreams.conf": "upstreams.conf", "server.conf": "server.conf"},
          (files("/etc/nginx/conf.d"), files("/etc/nginx/pyrunner")))
    sc = ctr.get("securityContext") or {}
    psc = pod.get("securityContext") or {}
    check("router-deployment.yaml: unprivileged (non-root, no capabilities, no privilege escalation, read-only root)",
          psc.get("runAsNonRoot") is True and (psc.get("runAsUser") or 0) > 0 and not sc.get("privileged")
          and caps_of((sc.get("capabilities") or {}).get("drop")) == {"ALL"}
          and not (sc.get("capabilities") or {}).get("add") and sc.get("allowPrivilegeEscalation") is False
          and sc.get("readOnlyRootFilesystem") is True, (psc, sc))
    ports = {p.get("name"): p["containerPort"] for p in ctr.get("ports", [])}
    check("router-deployment.yaml: container port %d" % ROUTER_PORT, ROUTER_PORT in ports.values(), ports)
    check("router-deployment.yaml: labels are not the pyrunner server's (its Services and policy skip it)",
          not selects((docs.get("service.yaml") or {}).get("spec", {}).get("selector"), labels), labels)

    sp = svc.get("spec") or {}
    target = [ports.get(p.get("targetPort"), p.get("targetPort")) for p in sp.get("ports") or []]
    check("router-service.yaml: ClusterIP, selects the router pods, port %d to %d" % (PORT, ROUTER_PORT),
          sp.get("type", "ClusterIP") == "ClusterIP" and selects(sp.get("selector"), labels)
          and [p.get("port") for p in sp.get("ports") or []] == [PORT] and target == [ROUTER_PORT], sp)

    ns = netpol.get("spec") or {}
    egress = ns.get("egress") or []
    to_pods = [r for r in egress if any(selects((t.get("podSelector") or {}).get("matchLabels"), server_labels)
                                        and "namespaceSelector" not in t for t in r.get("to") or [])]
    to_dns = [r for r in egress if any(((t.get("podSelector") or {}).get("matchLabels") or {}).get("k8s-app")
                                       == "kube-dns" for t in r.get("to") or [])]
    check("router-networkpolicy.yaml: selects the router; egress only to the pyrunner pods on 8000 and to DNS on 53",
          selects((ns.get("podSelector") or {}).get("matchLabels"), labels) and "Egress" in (ns.get("policyTypes") or [])
          and len(egress) == 2 and len(to_pods) == 1 and len(to_dns) == 1
          and [p.get("port") for p in to_pods[0].get("ports") or []] == [PORT]
          and {p.get("port") for p in to_dns[0].get("ports") or []} == {53}
          and all(r.get("to") for r in egress), egress)
    ing = [p.get("port") for r in ns.get("ingress") or [] for p in r.get("ports") or []]
    check("router-networkpolicy.yaml: ingress on %d only" % ROUTER_PORT, ing == [ROUTER_PORT], ing)

    # upstreams-kubernetes.conf names the Services of these manifests in the namespace the README uses.
    ups = data.get("upstreams.conf", "")
    headless = ((docs.get("service-replicas.yaml") or {}).get("metadata") or {}).get("name")
    pool = ((docs.get("service.yaml") or {}).get("metadata") or {}).get("name")
    suffix = ".%s.%s.svc.cluster.local:%d" % (headless, K8S_NAMESPACE, PORT)
    check("upstreams-kubernetes.conf: a session goes to $pyrunner_replica" + suffix + " (the pod's DNS name)",
          re.search(r"^\s*default\s+\$pyrunner_replica" + re.escape(suffix) + r"\s*;", ups, re.M), suffix)
    check("upstreams-kubernetes.conf: round-robin through the Service %s.%s and a resolver for pod names"
          % (pool, K8S_NAMESPACE),
          re.search(r"upstream\s+pyrunner_all\s*\{\s*server\s+%s\.%s\.svc\.cluster\.local:%d;\s*\}"
                    % (re.escape(pool or "-"), K8S_NAMESPACE, PORT), ups)
          and re.search(r"^\s*resolver\s+\S+", ups, re.M))
    check("deploy/kubernetes/README.md: creates the namespace %s that upstreams-kubernetes.conf names" % K8S_NAMESPACE,
          "kubectl create namespace " + K8S_NAMESPACE in read("deploy/kubernetes/README.md"))


# ----------------------------------------------------------------------------- nginx

# Ids as pyrunner makes them (core/sessions/session_manager.cc: <replica>-<32 hex>) and the
# replica the router must take from each path, or None (round-robin).
HEX = "0123456789abcdef" * 2
ROUTES = {
    "/sessions/pyrunner-0-%s" % HEX: "pyrunner-0",
    "/sessions/pyrunner-12-%s/run" % HEX: "pyrunner-12",
    "/sessions/a-b-c-%s/files/out/d.csv" % HEX: "a-b-c",
    "/sessions/x-%s/" % HEX: "x",
    "/sessions": None,
    "/sessions/": None,
    "/sessions/pyrunner-0": None,
    "/sessions/pyrunner-0-%s" % HEX[:-1]: None,
    "/sessions/pyrunner-0-%sa" % HEX: None,
    "/sessions/Pyrunner-0-%s" % HEX: None,
    "/sessions/pyrunner-0-%s" % HEX.upper(): None,
    "/run": None,
    "/x/sessions/pyrunner-0-%s" % HEX: None,
}


def check_nginx():
    rels = ["deploy/nginx/" + n for n in ("pyrunner.conf", "upstreams-static.conf", "upstreams-kubernetes.conf",
                                          "server.conf")]
    missing = [r for r in rels if not os.path.isfile(os.path.join(ROOT, r))]
    if not check("deploy/nginx: pyrunner.conf, upstreams-static.conf, upstreams-kubernetes.conf, server.conf",
                 not missing, missing):
        return
    conf = read("deploy/nginx/pyrunner.conf")
    check("deploy/nginx/pyrunner.conf: includes pyrunner/upstreams.conf and pyrunner/server.conf",
          re.findall(r"^\s*include\s+(\S+);", conf, re.M) == ["pyrunner/upstreams.conf", "pyrunner/server.conf"])
    m = re.search(r'map \$uri \$pyrunner_replica \{\s*"~([^"]+)"\s+\$(\w+);', conf)
    if check("deploy/nginx/pyrunner.conf: maps $uri to $pyrunner_replica with one regex", m):
        # PCRE's (?<name>...) is Python's (?P<name>...); the rest of this regex means the same in both.
        rx = re.compile(m.group(1).replace("(?<", "(?P<"))
        got = {}
        for path in ROUTES:
            hit = rx.search(path)
            got[path] = hit.group(m.group(2)) if hit else None
        wrong = {p: (got[p], want) for p, want in ROUTES.items() if got[p] != want}
        check("deploy/nginx/pyrunner.conf: the regex takes the replica out of session paths, and only those",
              not wrong, wrong)
    check("deploy/nginx/pyrunner.conf: proxy_buffering off (NDJSON and SSE streams pass as they come)",
          re.search(r"^\s*proxy_buffering\s+off;", conf, re.M))
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    name = "deploy/nginx: nginx -t accepts pyrunner.conf with upstreams-static.conf"
    if not nginx:
        skip(name, "nginx not installed (deps/test-packages.txt, make deps)")
        return
    import tempfile
    with tempfile.TemporaryDirectory(prefix="pyrunner-nginx-t-") as tmp:
        os.makedirs(os.path.join(tmp, "pyrunner"))
        shutil.copy(os.path.join(NGINX_DIR, "upstreams-static.conf"), os.path.join(tmp, "pyrunner", "upstreams.conf"))
        # server.conf's own log path would be created by -t: a temporary one instead.
        with open(os.path.join(tmp, "pyrunner", "server.conf"), "w") as f:
            f.write("listen 127.0.0.1:8080;\naccess_log %s/access.log pyrunner;\n" % tmp)
        with open(os.path.join(tmp, "nginx.conf"), "w") as f:
            f.write("pid %s/nginx.pid;\nerror_log %s/error.log;\nevents {}\nhttp {\n" % (tmp, tmp)
                    + "".join("    %s_temp_path %s/%s;\n" % (k, tmp, k)
                              for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
                    + "    include %s;\n}\n" % os.path.join(NGINX_DIR, "pyrunner.conf"))
        out = subprocess.run([nginx, "-t", "-q", "-p", tmp, "-c", os.path.join(tmp, "nginx.conf"),
                              "-e", os.path.join(tmp, "error.log")], capture_output=True, text=True)
        check(name, out.returncode == 0, out.stderr.strip())


# ----------------------------------------------------------------------------- seccomp

MUST_ALLOW = {"clone", "clone3", "unshare", "mount", "umount2", "pivot_root", "seccomp", "sethostname",
              "setresuid", "setresgid", "setgroups", "prctl", "capset", "execve", "wait4", "pidfd_send_signal"}
MUST_REFUSE = {"bpf", "perf_event_open", "kexec_load", "kexec_file_load", "init_module", "finit_module",
               "delete_module", "ptrace", "process_vm_writev", "keyctl", "add_key", "request_key",
               "userfaultfd", "open_by_handle_at", "io_uring_setup", "chroot", "reboot", "swapon",
               "fsopen", "acct"}


def check_seccomp():
    rel = os.path.relpath(SECCOMP, ROOT)
    try:
        with open(SECCOMP, encoding="utf-8") as f:
            prof = json.load(f)
    except Exception as e:  # noqa: BLE001
        check(rel + ": valid JSON", False, e)
        return
    check(rel + ": valid JSON", True)
    check(rel + ": refuses by default (SCMP_ACT_ERRNO)", prof.get("defaultAction") == "SCMP_ACT_ERRNO")
    rules = prof.get("syscalls") or []
    shape = all(isinstance(r.get("names"), list) and r.get("action") for r in rules)
    # Unconditional rules only: Docker reads includes/excludes, but containerd and CRI-O load a
    # Kubernetes Localhost profile as plain OCI seccomp, which has neither.
    flat = not any("includes" in r or "excludes" in r for r in rules)
    check(rel + ": every rule has names and an action, none uses Docker-only includes/excludes",
          rules and shape and flat)
    allowed = {n for r in rules if r.get("action") == "SCMP_ACT_ALLOW" and not r.get("args") for n in r["names"]}
    conditional = {n for r in rules if r.get("action") == "SCMP_ACT_ALLOW" and r.get("args") for n in r["names"]}
    check(rel + ": allows the sandbox's calls (clone, unshare, mount, pivot_root, seccomp, ...)",
          MUST_ALLOW <= allowed, sorted(MUST_ALLOW - allowed))
    bad = sorted(MUST_REFUSE & (allowed | conditional))
    check(rel + ": still refuses bpf, ptrace, kexec, modules, keyctl, io_uring, chroot, ...", not bad, bad)
    check(rel + ": 64-bit architectures only (32-bit/x32 calls are killed)",
          set(prof.get("architectures") or []) <= {"SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"}
          and "archMap" not in prof and prof.get("architectures"))
    resolver = shutil.which("scmp_sys_resolver")
    if resolver:
        unknown = []
        for n in sorted(allowed | conditional):
            outs = [subprocess.run([resolver, "-a", a, n], capture_output=True, text=True).stdout.strip()
                    for a in ("x86_64", "aarch64")]
            if not any(o and not o.startswith("-") for o in outs):
                unknown.append(n)
        check(rel + ": every name is a system call on x86_64 or aarch64 (libseccomp)", not unknown, unknown)
    else:
        skip(rel + ": names resolve with libseccomp", "scmp_sys_resolver (Debian package seccomp) not installed")


# ----------------------------------------------------------------------------- docs, binary


def check_docs():
    rel = "deploy/README.md"
    if check(rel + " exists", os.path.isfile(os.path.join(ROOT, rel))):
        text = read(rel)
        missing = sorted(c for c in CAPS if c not in text)
        check(rel + ": explains every added capability", not missing, missing)
    everything = ""
    for rel in ["Dockerfile", "docker-compose.yml"] + ["deploy/kubernetes/" + m for m in K8S_MANIFESTS]:
        if os.path.isfile(os.path.join(ROOT, rel)):
            everything += read(rel)
    offending = [line.strip() for line in everything.splitlines()
                 if re.search(r"privileged:\s*true", line)
                 or ("--privileged" in line and not re.search(r"never\s+--privileged", line, re.I))]
    check("no deployment file turns on privileged mode", not offending, offending)


def check_binary_libraries(lists):
    binary = os.path.join(ROOT, "build", "pyrunner")
    name = "build/pyrunner: every shared library it needs comes from runtime-packages.txt or the base image"
    if not os.path.isfile(binary):
        skip(name, "not built (make build)")
        return
    if not (shutil.which("ldd") and shutil.which("dpkg")):
        skip(name, "needs ldd and dpkg")
        return
    runtime = set(lists.get("deps/runtime-packages.txt", []))
    # In debian:12-slim already: the C and C++ runtimes (apt itself needs them).
    base = {"libc6", "libgcc-s1", "libstdc++6"}
    needed = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True).stdout
    sonames = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", needed)
    paths = {}
    for line in subprocess.run(["ldd", binary], capture_output=True, text=True).stdout.splitlines():
        m = re.match(r"\s*(\S+) => (\S+)", line)
        if m:
            paths[m.group(1)] = m.group(2)
        else:  # the dynamic loader itself, when NEEDED (thread_local): "/lib64/ld-linux-x86-64.so.2 (0x...)"
            m = re.match(r"\s*(/\S+) \(0x", line)
            if m:
                paths[os.path.basename(m.group(1))] = m.group(1)
    stray = []
    for so in sonames:
        path = paths.get(so)
        if not path or path == "not":
            stray.append(so + " (not found)")
            continue
        real = os.path.realpath(path)
        owner = ""
        for candidate in (path, real, "/usr" + path if not path.startswith("/usr") else path):
            out = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True).stdout
            if out:
                owner = out.split(":")[0].strip()
                break
        if owner.split(",")[0].strip() not in runtime | base:
            stray.append("%s (%s)" % (so, owner or "no package"))
    check(name, sonames and not stray, stray)


def main():
    if yaml is None:
        check("PyYAML importable (Debian python3-yaml, installed by `make deps`)", False,
              "apt-get install python3-yaml")
    lists = check_deps()
    check_dockerfile(lists)
    if yaml is not None:
        check_compose()
        check_kubernetes()
    check_nginx()
    check_seccomp()
    check_docs()
    check_binary_libraries(lists)
    for name in results["skipped"]:
        print("SKIPPED " + name, flush=True)
    print("%d passed, %d failed, %d skipped" % (results["passed"], results["failed"],
                                                len(results["skipped"])))
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
