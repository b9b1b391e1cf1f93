"""The Kubernetes manifests (docker/kubernetes/) keep their security and operating settings.

Plain YAML reads, independent of checkov and kubernetes-validate (scripts/validate_k8s.sh runs those): every
workload runs as non-root with a read-only root filesystem, no capabilities and no privilege escalation,
has resource requests and limits, and every long-running container has its three probes, on routes the
processes really serve. The base is checked as written; the overlays' patches may not loosen any of it,
and the rendered overlays (kustomize from the tools venv, which `make test` has built by then) are checked
whole.
"""

import copy
import re
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from backend.health.views import router as health_router
from scripts.paths import ROOT

K8S = ROOT / "docker" / "kubernetes"
BASE = K8S / "base"
OVERLAYS = sorted(path.parent for path in (K8S / "overlays").glob("*/kustomization.yaml"))
KUBECTL = ROOT / ".venv-tools" / "bin" / "kubectl"

WORKLOADS = {"Deployment", "Job", "CronJob"}
SECRET_NAME = "supportdesk-secrets"
# The images docker-compose.yml builds from docker/*.Dockerfile, plus the Rasa image with the model inside
# (docker/kubernetes/rasa.Dockerfile, built on the bot image).
IMAGE_OF = {
    "supportdesk-backend": "supportdesk-backend",
    "supportdesk-migrate": "supportdesk-backend",
    "supportdesk-models": "supportdesk-backend",
    "supportdesk-train-handoff": "supportdesk-backend",
    "supportdesk-rasa": "supportdesk-rasa",
    "supportdesk-action-server": "supportdesk-bot",
}
# The routes each process serves, for its probes: the backend's own routes and static files, Rasa's and
# rasa_sdk's documented ones.
RASA_ROUTES = {"/", "/status"}
ACTION_SERVER_ROUTES = {"/health"}


def load(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def base_docs() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    return [doc for name in kustomization["resources"] for doc in load(BASE / name)]


def named(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_of(doc: dict[str, Any]) -> dict[str, Any]:
    """A workload's pod spec (a CronJob's is inside its Job template)."""
    spec = doc["spec"]["jobTemplate"]["spec"] if doc["kind"] == "CronJob" else doc["spec"]
    return spec["template"]["spec"]


def backend_routes() -> set[str]:
    static = {f"/static/{p.name}" for p in (ROOT / "backend" / "web" / "static").iterdir() if p.is_file()}
    return {route.path for route in health_router.routes} | static


def workload_problems(docs: list[dict[str, Any]]) -> list[str]:
    """Every security or operating setting a workload lacks, as readable lines (empty: all kept)."""
    problems: list[str] = []
    for doc in (d for d in docs if d["kind"] in WORKLOADS):
        name = doc["metadata"]["name"]
        pod = pod_of(doc)
        where = f"{doc['kind']} {name}"
        security = pod.get("securityContext") or {}
        if security.get("runAsNonRoot") is not True:
            problems.append(f"{where}: pod securityContext.runAsNonRoot is not true")
        if not isinstance(security.get("runAsUser"), int) or security["runAsUser"] < 10000:
            problems.append(f"{where}: pod runAsUser is not a UID of 10000 or more (root, or a host user)")
        if (security.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            problems.append(f"{where}: pod seccompProfile is not RuntimeDefault")
        if pod.get("automountServiceAccountToken") is not False:
            problems.append(f"{where}: the service account token is mounted")
        if pod.get("hostNetwork") or pod.get("hostPID") or pod.get("hostIPC"):
            problems.append(f"{where}: shares a host namespace")
        empty_dirs = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
        containers = pod.get("initContainers", []) + pod["containers"]
        for container in containers:
            problems += container_problems(f"{where}/{container['name']}", container, empty_dirs)
        if doc["kind"] == "Deployment":
            for container in pod["containers"]:
                for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                    if probe not in container:
                        problems.append(f"{where}/{container['name']}: no {probe}")
    return problems


def container_problems(where: str, container: dict[str, Any], empty_dirs: set[str]) -> list[str]:
    problems = []
    resources = container.get("resources") or {}
    for kind in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            if not (resources.get(kind) or {}).get(resource):
                problems.append(f"{where}: no {resource} {kind[:-1]}")
    security = container.get("securityContext") or {}
    if security.get("allowPrivilegeEscalation") is not False:
        problems.append(f"{where}: allowPrivilegeEscalation is not false")
    if security.get("readOnlyRootFilesystem") is not True:
        problems.append(f"{where}: the root filesystem is writable")
    if security.get("privileged"):
        problems.append(f"{where}: privileged")
    if security.get("runAsUser") == 0 or security.get("runAsNonRoot") is False:
        problems.append(f"{where}: runs as root")
    if (security.get("capabilities") or {}).get("drop") != ["ALL"]:
        problems.append(f"{where}: capabilities are not dropped (drop: [ALL])")
    if (security.get("capabilities") or {}).get("add"):
        problems.append(f"{where}: adds capabilities")
    # A read-only root filesystem still needs somewhere to write temporary files.
    tmp = [m for m in container.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
    if not tmp or tmp[0]["name"] not in empty_dirs:
        problems.append(f"{where}: /tmp is not an emptyDir")
    return problems


# ------------------------------------------------------------------------------ the base, as written


def test_every_base_workload_keeps_its_security_settings_limits_and_probes():
    assert workload_problems(base_docs()) == []


@pytest.mark.parametrize(
    ("weaken", "expected"),
    [
        (lambda c, p: c["resources"].pop("limits"), "no cpu limit"),
        (lambda c, p: c["resources"]["requests"].pop("memory"), "no memory request"),
        (lambda c, p: p["securityContext"].update(runAsNonRoot=False), "runAsNonRoot is not true"),
        (lambda c, p: p["securityContext"].update(runAsUser=0), "runAsUser is not a UID of 10000"),
        (lambda c, p: c["securityContext"].update(runAsUser=0), "runs as root"),
        (lambda c, p: c.pop("livenessProbe"), "no livenessProbe"),
        (lambda c, p: c.pop("readinessProbe"), "no readinessProbe"),
        (lambda c, p: c.pop("startupProbe"), "no startupProbe"),
        (
            lambda c, p: c["securityContext"].update(readOnlyRootFilesystem=False),
            "root filesystem is writable",
        ),
        (lambda c, p: c["securityContext"].update(allowPrivilegeEscalation=True), "allowPrivilegeEscalation"),
        (lambda c, p: c["securityContext"]["capabilities"].update(drop=["NET_RAW"]), "not dropped"),
        (lambda c, p: p.pop("seccompProfile", None) or p["securityContext"].pop("seccompProfile"), "seccomp"),
        (lambda c, p: p.update(automountServiceAccountToken=True), "token is mounted"),
    ],
)
def test_the_check_catches_a_deployment_that_loses_a_setting(weaken, expected):
    docs = copy.deepcopy(base_docs())
    backend = named(docs, "Deployment", "supportdesk-backend")["spec"]["template"]["spec"]
    weaken(backend["containers"][0], backend)
    assert any(expected in problem for problem in workload_problems(docs)), workload_problems(docs)


def probe_path(probe: dict[str, Any]) -> str:
    """The route an HTTP probe asks, or the one a command probe fetches from the container's own port."""
    if "httpGet" in probe:
        return probe["httpGet"]["path"]
    found = re.search(r"http://(?:127\.0\.0\.1|localhost):\d+(/[^?'\"]*)", " ".join(probe["exec"]["command"]))
    assert found, probe
    return found.group(1)


def test_probes_ask_routes_the_processes_serve():
    docs = base_docs()
    served = {
        "supportdesk-backend": backend_routes(),
        "supportdesk-rasa": RASA_ROUTES,
        "supportdesk-action-server": ACTION_SERVER_ROUTES,
    }
    for name, routes in served.items():
        container = named(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            assert probe_path(container[probe]) in routes, (name, probe)
    rasa = named(docs, "Deployment", "supportdesk-rasa")["spec"]["template"]["spec"]["containers"][0]
    # Rasa's /status (model loaded) wants the API token, which only a command probe can read from the env.
    assert probe_path(rasa["readinessProbe"]) == "/status"
    assert "os.environ['RASA_TOKEN']" in " ".join(rasa["readinessProbe"]["exec"]["command"])
    backend = named(docs, "Deployment", "supportdesk-backend")["spec"]["template"]["spec"]["containers"][0]
    # Readiness follows the database (/health is 503 without it); liveness must not, or a database outage
    # restarts every backend pod at once.
    assert backend["readinessProbe"]["httpGet"]["path"] == "/health"
    assert backend["livenessProbe"]["httpGet"]["path"] != "/health"


def test_images_are_the_ones_the_dockerfiles_build():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert compose["backend"]["image"].split(":")[0] == "supportdesk-backend"
    assert compose["action-server"]["image"].split(":")[0] == "supportdesk-bot"
    assert re.search(r"^FROM \$\{BOT_IMAGE\}", (K8S / "rasa.Dockerfile").read_text(), re.M)
    for doc in (d for d in base_docs() if d["kind"] in WORKLOADS):
        pod = pod_of(doc)
        for container in pod.get("initContainers", []) + pod["containers"]:
            assert container["image"].split(":")[0] == IMAGE_OF[doc["metadata"]["name"]], container["name"]


def test_the_backend_does_not_migrate_or_seed_in_its_pods():
    docs = base_docs()
    backend = named(docs, "Deployment", "supportdesk-backend")["spec"]["template"]["spec"]
    command = " ".join(backend["containers"][0]["command"])
    assert "alembic" not in command and "seed" not in command and "--workers=1" in command
    assert [c["command"][2] for c in backend["initContainers"]] == ["scripts.wait_for_migrations"]
    job = named(docs, "Job", "supportdesk-migrate")["spec"]["template"]["spec"]["containers"][0]
    assert job["command"] == ["python", "-m", "alembic", "upgrade", "head"]


# ------------------------------------------------------------------------------- the learning loop


def mount_of(pod: dict[str, Any], container: dict[str, Any], claim: str) -> dict[str, Any] | None:
    """The container's mount of the volume that is PersistentVolumeClaim `claim`, if any."""
    names = {
        v["name"] for v in pod["volumes"] if (v.get("persistentVolumeClaim") or {}).get("claimName") == claim
    }
    found = [m for m in container.get("volumeMounts", []) if m["name"] in names]
    return found[0] if found else None


def test_the_served_handoff_policy_is_on_a_volume_the_promotion_writes_and_the_backend_reads():
    """HANDOFF_MODEL_PATH is on the shared volume: the model Job installs the image's fit there, the weekly
    CronJob (one run at a time) promotes into it, and the backend pods read it at the same path, where
    each reloads a promoted policy (HANDOFF_RELOAD_INTERVAL_S > 0) instead of reading the read-only image."""
    docs = base_docs()
    config = settings(BASE / "config.env")
    served = PurePosixPath(config["HANDOFF_MODEL_PATH"])
    assert float(config["HANDOFF_RELOAD_INTERVAL_S"]) > 0
    claim = "supportdesk-handoff-policy"
    assert named(docs, "PersistentVolumeClaim", claim)["spec"]["accessModes"] == ["ReadWriteMany"]
    cron = named(docs, "CronJob", "supportdesk-train-handoff")
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    readers = {
        "backend": named(docs, "Deployment", "supportdesk-backend"),
        "models": named(docs, "Job", "supportdesk-models"),
        "train-handoff": cron,
    }
    for name, doc in readers.items():
        pod = pod_of(doc)
        mount = mount_of(pod, pod["containers"][0], claim)
        assert mount is not None and served.parent == PurePosixPath(mount["mountPath"]), name
        assert mount.get("readOnly", False) is (name == "backend"), name
    command = pod_of(cron)["containers"][0]["command"]
    assert command[:4] == ["python", "-m", "ml.decision_labels", "--from-decisions"]
    assert "--dry-run" not in command


def test_the_first_risk_models_come_from_one_job_not_from_every_backend_pod():
    docs = base_docs()
    risk_dir = PurePosixPath(settings(BASE / "config.env")["RISK_MODEL_DIR"])
    job = pod_of(named(docs, "Job", "supportdesk-models"))
    assert job["containers"][0]["command"] == ["python", "-m", "ml.cluster_models"]
    mount = mount_of(job, job["containers"][0], "supportdesk-risk-models")
    assert mount is not None and PurePosixPath(mount["mountPath"]) == risk_dir
    assert [c["command"][2] for c in job["initContainers"]] == ["scripts.wait_for_migrations"]
    backend = pod_of(named(docs, "Deployment", "supportdesk-backend"))
    assert "bootstrap" not in " ".join(backend["containers"][0]["command"])


def test_the_check_covers_the_cronjobs_pod():
    docs = copy.deepcopy(base_docs())
    pod = pod_of(named(docs, "CronJob", "supportdesk-train-handoff"))
    pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = False
    assert workload_problems(docs) == [
        "CronJob supportdesk-train-handoff/train-handoff: the root filesystem is writable"
    ]


# --------------------------------------------------------------------------- settings and secrets


def settings(path: Path) -> dict[str, str]:
    """A kustomize env file: KEY=VALUE lines, comments and blank lines skipped."""
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def secret_refs(docs: list[dict[str, Any]]) -> set[str]:
    keys = set()
    for doc in (d for d in docs if d["kind"] in WORKLOADS):
        pod = pod_of(doc)
        for container in pod.get("initContainers", []) + pod["containers"]:
            for variable in container.get("env", []):
                ref = (variable.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == SECRET_NAME
                    keys.add(ref["key"])
    return keys


def test_secrets_come_from_the_secret_and_the_template_lists_every_key():
    docs = base_docs()
    assert not [d for d in docs if d["kind"] == "Secret"], "a Secret with values must not be applied"
    template = load(BASE / "secret.template.yaml")[0]
    assert template["metadata"]["name"] == SECRET_NAME
    assert secret_refs(docs) == set(template["stringData"])
    # Production: the backend refuses to start without the three real secrets (backend/core/config.py).
    backend = named(docs, "Deployment", "supportdesk-backend")["spec"]["template"]["spec"]["containers"][0]
    from_secret = {v["name"] for v in backend["env"] if "secretKeyRef" in (v.get("valueFrom") or {})}
    assert {"SERVICE_TOKEN", "SECRET_KEY", "IDENTITY_SECRET"} <= from_secret
    assert settings(BASE / "config.env")["ENVIRONMENT"] == "production"
    for path in [BASE / "config.env", *(overlay / "config.env" for overlay in OVERLAYS)]:
        config = settings(path)
        assert "ENVIRONMENT" not in config or config["ENVIRONMENT"] == "production", path
        leaked = [k for k, v in config.items() if k in secret_refs(docs) or "PASSWORD" in k or "@" in v]
        assert leaked == [], f"{path}: secret values belong in the Secret, not the ConfigMap"


def test_the_settings_are_a_generated_config_map_so_a_change_rolls_the_pods():
    generators = yaml.safe_load((BASE / "kustomization.yaml").read_text())["configMapGenerator"]
    assert generators == [{"name": "supportdesk-config", "envs": ["config.env"]}]
    assert not [d for d in base_docs() if d["kind"] == "ConfigMap"], "a plain ConfigMap would not roll pods"


# ------------------------------------------------------------------------- scaling and the network


def autoscaled_with_a_count(docs: list[dict[str, Any]]) -> list[str]:
    """Deployments that an HPA scales but that also set replicas: every apply would reset the HPA's count."""
    scaled = {d["spec"]["scaleTargetRef"]["name"] for d in docs if d["kind"] == "HorizontalPodAutoscaler"}
    deployments = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] in scaled]
    return [d["metadata"]["name"] for d in deployments if "replicas" in d["spec"]]


def test_backend_and_rasa_scale_on_cpu_and_disruptions_leave_them_serving():
    docs = base_docs()
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    scaled = {d["spec"]["scaleTargetRef"]["name"] for d in docs if d["kind"] == "HorizontalPodAutoscaler"}
    assert scaled == {"supportdesk-backend", "supportdesk-rasa"}
    assert autoscaled_with_a_count(docs) == []
    budgets = [d["spec"]["selector"]["matchLabels"] for d in docs if d["kind"] == "PodDisruptionBudget"]
    for name, deployment in deployments.items():
        assert deployment["spec"]["selector"]["matchLabels"] in budgets, f"{name} has no PodDisruptionBudget"


def egress_ports(policy: dict[str, Any]) -> set[int]:
    return {port["port"] for rule in policy["spec"].get("egress", []) for port in rule.get("ports", [])}


def ingress_from(policy: dict[str, Any]) -> list[str]:
    """The components whose pods may connect, by their app.kubernetes.io/component label; a whole namespace
    (Prometheus') as `namespace:<name>`."""
    peers = [peer for rule in policy["spec"]["ingress"] for peer in rule["from"]]
    return [
        p["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
        if "podSelector" in p
        else f"namespace:{p['namespaceSelector']['matchLabels']['kubernetes.io/metadata.name']}"
        for p in peers
    ]


def test_network_policies_deny_by_default_and_keep_the_datastores_to_backend_and_rasa():
    policies = {d["metadata"]["name"]: d for d in base_docs() if d["kind"] == "NetworkPolicy"}
    default = policies["supportdesk-default-deny"]["spec"]
    assert default["podSelector"] == {} and set(default["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in default and "egress" not in default
    datastores = {5432, 6379, 5672}
    reaching = {name for name, p in policies.items() if egress_ports(p) & datastores}
    # Rasa keeps trackers in PostgreSQL, locks in Redis, events in RabbitMQ (bot/endpoints.scaled.yml).
    assert reaching == {
        "supportdesk-backend",
        "supportdesk-rasa",
        "supportdesk-migrate",
        "supportdesk-training",
    }
    assert egress_ports(policies["supportdesk-migrate"]) == {5432}
    assert egress_ports(policies["supportdesk-training"]) == {5432}
    assert "ingress" not in policies["supportdesk-training"]["spec"]
    assert egress_ports(policies["supportdesk-action-server"]) == {8000}
    # Only Rasa calls the actions; Prometheus reaches the metrics port alone.
    assert ingress_from(policies["supportdesk-action-server"]) == ["rasa", "namespace:monitoring"]
    from_rasa, from_monitoring = policies["supportdesk-action-server"]["spec"]["ingress"]
    assert [p["port"] for p in from_rasa["ports"]] == [5055]
    assert [p["port"] for p in from_monitoring["ports"]] == [5056]
    assert ingress_from(policies["supportdesk-rasa"]) == ["backend"]


def ingress_problems(docs: list[dict[str, Any]]) -> list[str]:
    """The public entry serves the backend, but neither /metrics nor the action server's service API."""
    problems = []
    for ingress in (d for d in docs if d["kind"] == "Ingress"):
        for rule in ingress["spec"]["rules"]:
            paths = {p["path"]: p["backend"]["service"]["name"] for p in rule["http"]["paths"]}
            if paths.get("/") != "supportdesk-backend":
                problems.append(f"{rule.get('host')}: / does not reach the backend")
            for private in ("/metrics", "/api/v1/service"):
                if paths.get(private) != "supportdesk-not-public":
                    problems.append(f"{rule.get('host')}: {private} is public")
    services = [
        d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "supportdesk-not-public"
    ]
    if len(services) != 1 or "selector" in services[0]["spec"]:
        problems.append("supportdesk-not-public must be one Service without a selector (no endpoints)")
    return problems


def test_the_ingress_keeps_metrics_and_the_service_api_private():
    assert ingress_problems(base_docs()) == []
    docs = copy.deepcopy(base_docs())
    named(docs, "Ingress", "supportdesk")["spec"]["rules"][0]["http"]["paths"].pop(0)
    assert ingress_problems(docs) == ["supportdesk.example.com: /metrics is public"]


# ------------------------------------------------------------------------------------- the overlays

# Fields an overlay may remove with a null (strategic merge): the dev overlay serves plain HTTP.
ALLOWED_NULLS = {("Ingress", "spec.tls")}
LOOSENED = {
    "runAsNonRoot": False,
    "readOnlyRootFilesystem": False,
    "allowPrivilegeEscalation": True,
    "privileged": True,
    "automountServiceAccountToken": True,
    "hostNetwork": True,
}


def loosening(kind: str, node: Any, path: str = "") -> list[str]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else key
            if key == "$patch" or key.startswith("$setElementOrder") or key.startswith("$retainKeys"):
                found.append(f"{kind} {here}: a delete or replace directive")
            elif value is None and (kind, here) not in ALLOWED_NULLS:
                found.append(f"{kind} {here}: removed with null")
            elif key in LOOSENED and value == LOOSENED[key]:
                found.append(f"{kind} {here}: set to {value}")
            elif key in ("capabilities", "runAsUser", "seccompProfile", "limits"):
                found.append(f"{kind} {here}: overridden by an overlay")
            else:
                found += loosening(kind, value, here)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found += loosening(kind, item, f"{path}[{index}]")
    return found


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)
def test_overlay_patches_do_not_loosen_the_base(overlay):
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    assert "../../base" in kustomization["resources"]
    assert kustomization.get("namespace"), "an overlay names its namespace (nothing in default)"
    for patch in kustomization.get("patches", []):
        assert "path" in patch, "inline or JSON6902 patches are not read by this test: use a patch file"
        for doc in load(overlay / patch["path"]):
            assert loosening(doc["kind"], doc) == [], patch["path"]


def test_the_loosening_check_sees_a_weakened_patch():
    patch = {"spec": {"template": {"spec": {"containers": [{"securityContext": {"runAsNonRoot": False}}]}}}}
    assert loosening("Deployment", patch)
    assert loosening("Deployment", {"spec": {"template": {"spec": {"containers": [{"resources": None}]}}}})


def render(overlay: Path) -> list[dict[str, Any]]:
    if not KUBECTL.exists():
        pytest.skip("no tools venv: `make validate-k8s` (or make test's step before this suite) builds it")
    result = subprocess.run(
        [str(KUBECTL), "kustomize", str(overlay)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)
def test_rendered_overlay_keeps_every_setting(overlay):
    docs = render(overlay)
    assert workload_problems(docs) == []
    assert ingress_problems(docs) == []
    assert autoscaled_with_a_count(docs) == []
    namespace = yaml.safe_load((overlay / "kustomization.yaml").read_text())["namespace"]
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {namespace}
    assert named(docs, "Namespace", namespace)["metadata"]["labels"][
        "pod-security.kubernetes.io/enforce"
    ] == ("restricted")
    if overlay.name == "dev":  # one node: ReadWriteOnce is enough, and all a local cluster offers
        claims = [d for d in docs if d["kind"] == "PersistentVolumeClaim"]
        assert len(claims) == 2 and all(c["spec"]["accessModes"] == ["ReadWriteOnce"] for c in claims)
    assert all(
        ":latest" not in c["image"] for d in docs if d["kind"] in WORKLOADS for c in pod_of(d)["containers"]
    )


# ---------------------------------------------------------------------------- the migration wait


@pytest.mark.integration
def test_backend_pods_wait_until_the_job_has_migrated(tmp_path):
    from scripts import wait_for_migrations
    from tests.conftest import migrate

    url = f"sqlite:///{tmp_path / 'k8s.db'}"
    assert wait_for_migrations.wait(url, timeout_s=0, interval_s=0) is False
    migrate(url)
    assert wait_for_migrations.wait(url, timeout_s=0, interval_s=0) is True
