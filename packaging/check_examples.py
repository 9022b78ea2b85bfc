#!/usr/bin/env python3
"""Checks the deployment examples in packaging/examples/ against the release and the units.

Usage: check_examples.py VERSION SYSTEMD_DIR ENV_VARS_RS EXAMPLES_DIR

Every *.bu (Butane, variant flatcar) and cloud-config*.yaml file must parse as YAML and carry
what its role needs: /etc/leader with LEADER_ENDPOINT, /etc/kube-bootstrap.env whose settings
kube-bootstrap knows (src/env_vars.rs), this release's artifact, and the role's units, which
must exist in systemd/. The role comes from the file name (leader or worker).

Each example must also be a combination that runs: its KUBE_VERSION must fit the host's etcd
(Container Linux's etcd2 serves only the v2 API, which apiservers store in by default up to
1.5; Flatcar's etcd-member is etcd v3) and its cgroup hierarchy (Container Linux is cgroup v1,
which kubelets from 1.35 refuse by default; Flatcar is cgroup v2, which kubelets before 1.19 do
not start on), and the examples of one OS must run one release. Prints one line per problem and
exits 1 if there is any.
"""

import re
import sys
from pathlib import Path

import yaml

LEADER_UNITS = ["kube-apiserver.service", "kube-controller-manager.service", "kube-scheduler.service",
                "kube-bootstrap-rbac.service"]
NODE_UNITS = ["kube-kubelet.service", "kube-proxy.service"]
WANTS = "/etc/systemd/system/multi-user.target.wants/"
BUNDLE = "/etc/kubernetes/node-bundle.tar"

problems: list[str] = []
# The unit files' directory (the second argument).
SYSTEMD_DIR = "systemd"

# The newest minor release whose apiserver stores in etcd2 by default (1.6 made etcd3 the
# default), and the newest with an etcd2 storage backend at all (removed in 1.13).
ETCD2_DEFAULT_UNTIL = 5
ETCD2_BACKEND_UNTIL = 12
# Kubelets from 1.35 refuse cgroup v1 unless --fail-cgroupv1=false; before 1.19 they do not
# start on cgroup v2.
FAIL_CGROUP_V1_FROM = 35
CGROUP_V2_FROM = 19

# The release each OS's examples run, to check that leader and workers agree.
versions: dict[str, set[str]] = {}


def problem(path: Path, message: str) -> None:
    problems.append(f"{path.name}: {message}")


def env_keys(text: str) -> list[str]:
    """The variable names set by a dotenv file's uncommented lines."""
    keys = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            keys.append(line.split("=", 1)[0].removeprefix("export ").strip())
    return keys


def check_env_and_leader(path: Path, files: dict[str, str], known: set[str] | None) -> None:
    leader = files.get("/etc/leader")
    if leader is None:
        problem(path, "no /etc/leader")
    elif "LEADER_ENDPOINT" not in env_keys(leader):
        problem(path, "/etc/leader does not set LEADER_ENDPOINT")
    env = files.get("/etc/kube-bootstrap.env")
    if env is None:
        problem(path, "no /etc/kube-bootstrap.env")
    elif known is not None:
        for key in env_keys(env):
            if key not in known:
                problem(path, f"/etc/kube-bootstrap.env sets {key}, which kube-bootstrap does not know")


def env_values(text: str) -> dict[str, str]:
    """The settings of a dotenv file's uncommented lines (quotes stripped)."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def check_combination(path: Path, os_name: str, env_text: str | None, etcd: int | None, cgroup: int) -> None:
    """The example's release runs on its OS: etcd API and cgroup hierarchy."""
    env = env_values(env_text or "")
    version = env.get("KUBE_VERSION", "")
    match = re.fullmatch(r"v1\.(\d+)\.\d+", version)
    if not match:
        problem(path, f"KUBE_VERSION {version!r} is not a v1.MINOR.PATCH release")
        return
    versions.setdefault(os_name, set()).add(version)
    minor = int(match.group(1))
    apiserver_args = env.get("KUBE_APISERVER_EXTRA_ARGS", "")
    kubelet_args = env.get("KUBE_KUBELET_EXTRA_ARGS", "")
    if etcd == 2:
        on_etcd2 = "--storage-backend=etcd2" in apiserver_args
        if minor > ETCD2_BACKEND_UNTIL or (minor > ETCD2_DEFAULT_UNTIL and not on_etcd2):
            problem(path, f"runs etcd2 (v2 API only) with Kubernetes {version}, whose apiserver stores in etcd3")
    if cgroup == 1 and minor >= FAIL_CGROUP_V1_FROM and "--fail-cgroupv1=false" not in kubelet_args:
        problem(path, f"a cgroup v1 host with kubelet {version}, which refuses cgroup v1 from 1.{FAIL_CGROUP_V1_FROM}")
    if cgroup == 2 and minor < CGROUP_V2_FROM:
        problem(path, f"a cgroup v2 host with kubelet {version}, which needs 1.{CGROUP_V2_FROM} or later there")


def role_units(path: Path) -> tuple[list[str], list[str]]:
    """(units the file must enable or start, units it must not)."""
    if "leader" in path.name:
        return LEADER_UNITS + NODE_UNITS, []
    if "worker" in path.name:
        return NODE_UNITS, LEADER_UNITS
    problem(path, "name says neither leader nor worker")
    return [], []


def check_etcd_tls_dropin(path: Path, doc: dict) -> None:
    """From 1.20 the apiserver dials etcd over TLS: the leader's etcd-member carries the shipped
    drop-in, word for word but for the sysext's binary path."""
    shipped = Path(SYSTEMD_DIR) / "etcd-member.service.d" / "kube-bootstrap-tls.conf"
    want = shipped.read_text().replace("/opt/bin/kube-bootstrap", "/usr/bin/kube-bootstrap")
    units = (doc.get("systemd") or {}).get("units") or []
    member = next((u for u in units if u.get("name") == "etcd-member.service"), {})
    dropins = {d.get("name"): d.get("contents") for d in member.get("dropins") or []}
    if dropins.get("kube-bootstrap-tls.conf") != want:
        problem(path, f"etcd-member.service lacks the drop-in kube-bootstrap-tls.conf as {shipped} ships it (with /usr/bin/kube-bootstrap)")


def check_butane(path: Path, doc: dict, version: str, units: set[str], known: set[str] | None) -> None:
    if doc.get("variant") != "flatcar":
        problem(path, f"variant is {doc.get('variant')!r}, not 'flatcar'")
    if doc.get("version") not in ("1.0.0", "1.1.0"):
        problem(path, f"version is {doc.get('version')!r}, not 1.0.0 or 1.1.0")
    storage = doc.get("storage") or {}
    entries = storage.get("files") or []
    files = {f["path"]: (f.get("contents") or {}).get("inline") for f in entries}
    check_env_and_leader(path, {k: v for k, v in files.items() if v is not None}, known)
    etcd_units = {u["name"] for u in (doc.get("systemd") or {}).get("units") or [] if u.get("enabled")}
    if "leader" in path.name and "etcd-member.service" not in etcd_units:
        problem(path, "the leader does not enable etcd-member.service (etcd v3)")
    if "leader" in path.name:
        check_etcd_tls_dropin(path, doc)
    # Flatcar: cgroup v2 and etcd v3 (etcd-member).
    check_combination(path, "flatcar", files.get("/etc/kube-bootstrap.env"), 3, 2)

    image = f"/opt/extensions/kube-bootstrap/kube-bootstrap-{version}-x86-64.raw"
    sysext = next((f for f in entries if f["path"] == image), None)
    if sysext is None:
        problem(path, f"does not install {image}")
    else:
        contents = sysext.get("contents") or {}
        if not str(contents.get("source", "")).endswith(f"/kube-bootstrap-{version}-x86-64.raw"):
            problem(path, f"{image} has no source URL ending in the image's name")
        if not re.fullmatch(r"sha256-[0-9a-f]{64}", str((contents.get("verification") or {}).get("hash", ""))):
            problem(path, f"{image} has no sha256 verification hash")

    links = {link["path"]: link.get("target") for link in storage.get("links") or []}
    if links.get("/etc/extensions/kube-bootstrap.raw") != image:
        problem(path, f"/etc/extensions/kube-bootstrap.raw does not link to {image}")
    enabled = {
        p.removeprefix(WANTS)
        for p, target in links.items()
        if p.startswith(WANTS) and target == "/usr/lib/systemd/system/" + p.removeprefix(WANTS)
    }
    for unit in (doc.get("systemd") or {}).get("units") or []:
        # The examples' own units (installers) carry their contents inline.
        if unit.get("contents"):
            continue
        if unit.get("enabled") and unit["name"].startswith("kube-"):
            enabled.add(unit["name"])
        if unit["name"].startswith("kube-") and unit["name"] not in units:
            problem(path, f"configures {unit['name']}, which is not in systemd/")
    check_units(path, enabled, units, "enable")
    contents = [u.get("contents") or "" for u in (doc.get("systemd") or {}).get("units") or []]
    check_bundle(path, {f["path"] for f in entries}, contents, "/usr/bin/kube-bootstrap", files.get("/etc/kube-bootstrap.env"))


def check_bundle(path: Path, files: set[str], unit_texts: list[str], binary: str, env_text: str | None = None) -> None:
    """A worker joins with a bootstrap token and the CA's hash in its settings (1.20 and later),
    or gets its certificates from a bundle that a unit installs before the kubelet."""
    if "worker" not in path.name:
        return
    env = env_values(env_text or "")
    if "KUBE_BOOTSTRAP_TOKEN" in env or "KUBE_DISCOVERY_TOKEN_CA_CERT_HASH" in env:
        if not re.fullmatch(r"[a-z0-9]{6}\.[a-z0-9]{16}", env.get("KUBE_BOOTSTRAP_TOKEN", "")):
            problem(path, "KUBE_BOOTSTRAP_TOKEN is not a bootstrap token <6 of a-z0-9>.<16 of a-z0-9>")
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", env.get("KUBE_DISCOVERY_TOKEN_CA_CERT_HASH", "")):
            problem(path, "KUBE_DISCOVERY_TOKEN_CA_CERT_HASH is not sha256:<64 hex>")
        minor = int(env.get("KUBE_VERSION", "v1.0.0").split(".")[1])
        if minor < 20:
            problem(path, f"joins with a token, which needs Kubernetes 1.20 or later, not {env.get('KUBE_VERSION')}")
        return
    if BUNDLE not in files:
        problem(path, f"does not write the node bundle {BUNDLE}")
    install = f"ExecStart={binary} pki install {BUNDLE}"
    if not any(install in t for t in unit_texts):
        problem(path, f"no unit runs '{install}'")


def check_cloud_config(path: Path, text: str, doc: dict, version: str, units: set[str], known: set[str] | None) -> None:
    if not text.startswith("#cloud-config\n"):
        problem(path, "does not start with #cloud-config")
    files = {f["path"]: f.get("content", "") for f in doc.get("write_files") or []}
    check_env_and_leader(path, files, known)
    installer = "\n".join(files.values())
    if f"version={version}\n" not in installer:
        problem(path, f"does not install kube-bootstrap {version}")

    coreos = doc.get("coreos") or {}
    role = "leader" if "leader" in path.name else "worker"
    metadata = str((coreos.get("fleet") or {}).get("metadata", ""))
    if f"role={role}" not in metadata.split(","):
        problem(path, f"fleet metadata {metadata!r} lacks role={role}")
    started = {u["name"] for u in coreos.get("units") or [] if u.get("command") == "start"}
    for unit in ["etcd2.service", "fleet.service", "setup-network-environment.service"]:
        if unit not in started:
            problem(path, f"does not start {unit}")
    # Container Linux: cgroup v1, and etcd2 when that is the etcd started.
    etcd = 2 if "etcd2.service" in started else None
    check_combination(path, "container-linux", files.get("/etc/kube-bootstrap.env"), etcd, 1)
    # The example's own units carry their content inline; the others must be shipped ones.
    inline = {u["name"] for u in coreos.get("units") or [] if u.get("content")}
    kube = {u for u in started if u.startswith("kube-") and u not in inline}
    check_units(path, kube, units, "start")
    contents = [u.get("content") or "" for u in coreos.get("units") or []]
    check_bundle(path, set(files), contents, "/opt/bin/kube-bootstrap")


def check_units(path: Path, have: set[str], units: set[str], verb: str) -> None:
    must, must_not = role_units(path)
    for unit in must:
        if unit not in have:
            problem(path, f"does not {verb} {unit}")
    for unit in sorted(have):
        if unit in must_not:
            problem(path, f"should not {verb} {unit} on this role")
        if units and unit not in units:
            problem(path, f"would {verb} {unit}, which is not in systemd/")


def main() -> int:
    global SYSTEMD_DIR
    version, systemd_dir, env_vars_rs, examples = sys.argv[1:5]
    SYSTEMD_DIR = systemd_dir
    units = {p.name for p in Path(systemd_dir).glob("*.service")}
    env_vars = Path(env_vars_rs)
    known = set(re.findall(r'"(KUBE_[A-Z0-9_]+)"', env_vars.read_text())) if env_vars.is_file() else None
    if known is None:
        print(f"warning: {env_vars_rs} not found; settings in the examples are not checked")

    found = 0
    for path in sorted(Path(examples).iterdir()):
        is_butane = path.suffix == ".bu"
        is_cloud_config = path.name.startswith("cloud-config") and path.suffix in (".yaml", ".yml")
        if not (is_butane or is_cloud_config):
            continue
        found += 1
        text = path.read_text()
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as err:
            problem(path, f"not valid YAML: {err}")
            continue
        if not isinstance(doc, dict):
            problem(path, "not a YAML mapping")
        elif is_butane:
            check_butane(path, doc, version, units, known)
        else:
            check_cloud_config(path, text, doc, version, units, known)
        print(f"      checked {path.name}")
    if found == 0:
        problems.append(f"no examples in {examples}")
    for os_name, seen in sorted(versions.items()):
        if len(seen) > 1:
            problems.append(f"the {os_name} examples run different releases: {', '.join(sorted(seen))}")

    for p in problems:
        print(f"      {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
