"""The deployment files keep secrets out of the repository and Redis behind a password, and
the image does not run as root."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_compose_takes_every_secret_from_the_environment():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = compose["x-filament-env"]
    for name in ("FILAMENT_SECRET_KEY", "FILAMENT_DATABASE_URL", "AWS_SECRET_ACCESS_KEY"):
        assert "${" in env[name], name
    assert re.fullmatch(
        r"redis://:\$\{REDIS_PASSWORD:\?[^}]+\}@redis:6379/0", env["FILAMENT_REDIS_URL"]
    )
    services = compose["services"]
    assert "--requirepass" in " ".join(services["redis"]["command"])
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${")
    assert services["minio"]["environment"]["MINIO_ROOT_PASSWORD"].startswith("${")
    text = (ROOT / "docker-compose.yml").read_text()
    assert "filament-secret" not in text and "filament:filament@" not in text


def test_kubernetes_keeps_secrets_in_a_secret_and_redis_behind_a_password():
    docs = list(yaml.safe_load_all((ROOT / "infra/k8s/filament.yaml").read_text()))
    config = next(doc for doc in docs if doc["kind"] == "ConfigMap")["data"]
    assert not {key for key in config if re.search("SECRET|PASSWORD|_URL|KEY", key)}
    redis = next(doc for doc in docs if doc["metadata"]["name"] == "redis")
    container = redis["spec"]["template"]["spec"]["containers"][0]
    assert "--requirepass" in " ".join(container["command"])
    assert container["env"][0]["valueFrom"]["secretKeyRef"]["key"] == "REDIS_PASSWORD"
    for doc in docs:
        if doc["kind"] in {"Deployment", "Job"}:
            assert doc["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_the_image_runs_as_a_user():
    dockerfile = (ROOT / "infra/Dockerfile").read_text()
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1] not in {"root", "0"}


def test_kubernetes_probes_gpu_placement_and_disruption_budgets():
    docs = list(yaml.safe_load_all((ROOT / "infra/k8s/filament.yaml").read_text()))
    by_name = {(doc["kind"], doc["metadata"]["name"]): doc for doc in docs}
    api = by_name[("Deployment", "filament-api")]["spec"]["template"]["spec"]["containers"][0]
    assert api["readinessProbe"]["httpGet"]["path"] == "/api/v1/health/ready"
    assert api["livenessProbe"]["httpGet"]["path"] == "/api/v1/health"
    gpu = by_name[("Deployment", "filament-gpu-worker")]["spec"]["template"]["spec"]
    assert gpu["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert gpu["nodeSelector"] and gpu["tolerations"][0]["key"] == "nvidia.com/gpu"
    for name in ("filament-api", "filament-worker"):
        assert by_name[("PodDisruptionBudget", name)]["spec"]["minAvailable"] == 1
    queues = {
        doc["metadata"]["name"]: doc["spec"]["triggers"][0]["metadata"]["query"]
        for doc in docs
        if doc["kind"] == "ScaledObject"
    }
    assert 'queue="filament:cpu"' in queues["filament-worker"]
    assert 'queue="filament:gpu"' in queues["filament-gpu-worker"]
