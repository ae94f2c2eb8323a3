"""The SDK and the `filament` CLI against a real running server: two uvicorn processes and a
worker (started here on a free port), the test's database and Redis. One flow per database:
register and sign in, an API token, a text project, a CSV with labels and a DataFrame,
the queue and annotations, a model, scores, exports (CSV and JSONL, parsed), the archive (the
zip opens, and the offline `filament score` runs it); the CLI's login file, commands and
errors; and the operations side of the same server: /metrics (shared by both API processes,
behind its token) and JSON log lines whose request id reaches the jobs."""

import csv
import io
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from filament_client import AuthenticationError, Client, NotFound, ValidationFailed
from prometheus_client.parser import text_string_to_metric_families

from tests.api.test_loop import label_of, synthetic_rows
from tests.api.test_team_queue import _free_port, _wait_until_up

ROOT = Path(__file__).resolve().parents[2]
METRICS_TOKEN = "live-metrics-token"
PASSWORD = "correct horse 3"


@pytest.fixture
def server(env, tmp_path):
    """The running stack's URL; its processes' stderr in `tmp_path/logs`."""
    logs = tmp_path / "logs"
    shared = tmp_path / "prometheus"
    logs.mkdir()
    shared.mkdir()
    settings = {
        "FILAMENT_METRICS": "on",
        "FILAMENT_METRICS_TOKEN": METRICS_TOKEN,
        "FILAMENT_LOG_FORMAT": "json",
        "PROMETHEUS_MULTIPROC_DIR": str(shared),
    }
    environment = dict(os.environ, **settings)
    port = _free_port()
    api = [sys.executable, "-m", "uvicorn", "filament.api.app:create_app", "--factory"]
    api += ["--port", str(port), "--workers", "2", "--log-level", "warning"]
    worker = [sys.executable, "-m", "filament.cli", "worker"]
    processes = [
        subprocess.Popen(command, env=environment, cwd=ROOT, stderr=(logs / name).open("wb"))
        for command, name in ((api, "api.log"), (worker, "worker.log"))
    ]
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url)
        yield url, logs
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def json_lines(path: Path) -> list[dict]:
    """The JSON lines of a log (a process writes a few plain ones before its app exists)."""
    lines = []
    for line in path.read_text().splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


def cli(*args: str, config: Path, stdin: str = "", **extra: str) -> subprocess.CompletedProcess:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"FILAMENT_TOKEN", "FILAMENT_URL"}
    }
    environment.update(FILAMENT_CONFIG=str(config), **extra)
    return subprocess.run(
        [sys.executable, "-m", "filament.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=600,
    )


def test_sdk_and_cli_against_a_running_server(server, tmp_path):
    url, logs = server
    # --- accounts: register, sign in, a personal API token ---------------------------------
    Client(url).register("live@example.com", PASSWORD, "Live")
    session = Client.login(url, "live@example.com", PASSWORD)
    token = session.create_api_token("live test", expires_in_days=1)
    client = Client(url, token.token)
    assert client.me().email == "live@example.com"
    with pytest.raises(AuthenticationError) as bad:
        Client(url, "fil_wrong").projects()
    assert bad.value.status == 401 and bad.value.detail
    with pytest.raises(NotFound) as missing:
        client.project(987654)
    assert missing.value.status == 404 and missing.value.detail

    # --- a text project, a CSV with labels and a DataFrame ---------------------------------
    project = client.create_project("Live", "text_classification", ["negative", "positive"])
    with pytest.raises(ValidationFailed):
        client.create_project("", "text_classification", ["a"])
    rows = synthetic_rows(40)
    labeled_csv = tmp_path / "reviews.csv"
    labeled_csv.write_text(
        "id,text,label\n" + "".join(f"{n},{t},{label_of(n)}\n" for n, t in rows[:20])
    )
    sent: list[tuple[int, int | None]] = []
    client.http.headers["X-Request-ID"] = "live-upload-1"
    try:
        (upload,) = project.upload(labeled_csv, progress=lambda d, t: sent.append((d, t)))
    finally:
        del client.http.headers["X-Request-ID"]
    assert sent[-1] == (labeled_csv.stat().st_size, labeled_csv.stat().st_size)
    assert client.wait_for_job(upload, timeout=120).status == "done"
    frame = pd.DataFrame({"id": [n for n, _ in rows[20:]], "text": [t for _, t in rows[20:]]})
    project.upload(frame, dataset="frame", wait=True, timeout=120)
    assert len(list(project.items())) == 40
    assert len(list(project.items(status="labeled"))) == 20

    # --- the queue and annotations ---------------------------------------------------------
    served, annotated = [], 0
    for item in project.queue(batch=4):
        served.append(item.id)
        if len(served) == 1:
            continue  # skipped: the iterator never serves it again
        project.annotate(item, label_of(item.name))
        annotated += 1
        if annotated == 10:
            break
    assert len(served) == len(set(served)) == 11

    # --- a model, scores, exports, the archive ---------------------------------------------
    status = project.wait_for_model(timeout=300)
    assert status.labels_in_model >= 30 and status.model_version is not None
    assert [m.version for m in project.models()][-1] >= status.model_version
    scored = project.score_texts(["the food was wonderful and 1001", "the food was awful and 1002"])
    assert scored.labels == ["negative", "positive"] and len(scored.scores) == 2
    assert scored.top_labels() == ["positive", "negative"]
    assert scored.model_version == status.model_version

    labels_csv = project.export(tmp_path / "labels.csv")
    exported = list(csv.DictReader(labels_csv.open()))
    assert len(exported) == 30 and {r["labels"] for r in exported} == {"negative", "positive"}
    jsonl = project.export(tmp_path / "predictions.jsonl", format="jsonl", content="predictions")
    predictions = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(predictions) == 40 and all(p["model_version"] for p in predictions)

    building = []
    archive = project.download_model(tmp_path, on_building=building.append, timeout=600)
    assert building, "the first download of a version is built by the worker (202)"
    assert archive.name == f"filament-project-{project.id}-v{status.model_version}-onnx.zip"
    with zipfile.ZipFile(archive) as bundle:
        assert "predict.py" in bundle.namelist()

    check_cli(url, project.id, status.model_version, tmp_path)
    check_metrics(client, url, project.id)
    check_logs(logs, project.id)


def check_cli(url: str, project_id: int, version: int, tmp_path: Path) -> None:
    config = tmp_path / "cli" / "config.json"
    login = cli(
        "login", "--url", url, "--email", "live@example.com", "--password-stdin",
        config=config, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert login.returncode == 0, login.stderr
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    saved = json.loads(config.read_text())
    assert saved["url"] == url and saved["token"].startswith("fil_")

    listed = cli("projects", config=config)
    assert listed.returncode == 0 and f"{project_id}\tLive" in listed.stdout
    status = cli("status", "-p", str(project_id), "--json", config=config)
    assert json.loads(status.stdout)["model_version"] >= version
    human = cli("status", "--project", str(project_id), config=config)
    assert "model: v" in human.stdout

    folder = tmp_path / "more"
    folder.mkdir()
    (folder / "extra.csv").write_text("id,text\nx1,the soup was lovely\nx2,the soup was bad\n")
    upload = cli("upload", "-p", str(project_id), str(folder), "--wait", config=config)
    assert upload.returncode == 0, upload.stderr
    assert "upload accepted: job" in upload.stderr and "2 new items" in upload.stderr

    out = tmp_path / "cli-labels.jsonl"
    export = cli(
        "export", "-p", str(project_id), "--format", "jsonl", "--out", str(out), config=config
    )
    assert export.returncode == 0, export.stderr
    assert len([json.loads(line) for line in out.read_text().splitlines()]) == 30
    to_stdout = cli("export", "-p", str(project_id), "--out", "-", config=config)
    assert next(csv.DictReader(io.StringIO(to_stdout.stdout)))["labels"]

    score = cli(
        "score", "-p", str(project_id), "--text", "the food was lovely", "--json", config=config
    )
    assert score.returncode == 0, score.stderr
    assert json.loads(score.stdout)["labels"] == ["negative", "positive"]

    model_dir = tmp_path / "model"
    download = cli(
        "download", "-p", str(project_id), "--out", str(tmp_path / "m.zip"),
        "--extract", str(model_dir), config=config,
    )  # fmt: skip
    assert download.returncode == 0, download.stderr
    assert zipfile.is_zipfile(tmp_path / "m.zip") and (model_dir / "predict.py").is_file()
    # the offline command, unchanged, runs the downloaded model without the server
    offline = cli(
        "score", "--model", str(model_dir), "--text", "the food was superb", config=config
    )
    assert offline.returncode == 0, offline.stderr
    assert json.loads(offline.stdout)["results"][0]["predicted"] == ["positive"]

    # errors: one line on stderr, exit status 1
    absent = cli("status", "-p", "987654", config=config)
    assert absent.returncode == 1 and "404" in absent.stderr and "Traceback" not in absent.stderr
    bad = cli("projects", config=config, FILAMENT_TOKEN="fil_nope")
    assert bad.returncode == 1 and "filament login" in bad.stderr
    both = cli("score", "-p", str(project_id), "--model", str(model_dir), config=config)
    assert both.returncode != 0 and "--model" in both.stderr

    logout = cli("logout", config=config)
    assert logout.returncode == 0 and not config.exists()
    with pytest.raises(AuthenticationError):  # revoked on the server, not only forgotten
        Client(url, saved["token"]).me()


def check_metrics(client: Client, url: str, project_id: int) -> None:
    import httpx

    assert httpx.get(f"{url}/metrics").status_code == 401
    for _ in range(5):  # requests of one route, answered by either API process
        client.project(project_id).models()
    answer = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer.status_code == 200
    samples = [
        sample
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    ]

    def total(name: str, **labels: str) -> float:
        return sum(
            s.value
            for s in samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )

    latency = "filament_http_request_duration_seconds_count"
    # the test called /models once before these five (after the model arrived)
    assert total(latency, route="/api/v1/projects/{project_id}/models", status="200") == 6
    assert total(latency, route="/api/v1/projects/{project_id}/items", method="POST") == 3
    assert total("filament_job_duration_seconds_count", job="ingest", outcome="ok") == 3
    # one archive per version downloaded (the CLI's upload may have brought a newer version)
    assert total("filament_job_duration_seconds_count", job="build_archive", outcome="ok") >= 1
    assert total("filament_embedded_items_total") == 42
    assert total("filament_model_versions", project=str(project_id)) >= 1
    assert any(s.name == "filament_queue_jobs" for s in samples)


def check_logs(logs: Path, project_id: int) -> None:
    api = json_lines(logs / "api.log")
    access = [line for line in api if line.get("request_id") == "live-upload-1"]
    assert [(a["logger"], a["path"], a["status"]) for a in access] == [
        ("filament.access", f"/api/v1/projects/{project_id}/items", 202)
    ]
    worker = [line for line in json_lines(logs / "worker.log") if line.get("request_id")]
    ours = {
        line["message"].split("(")[0] for line in worker if line["request_id"] == "live-upload-1"
    }
    # the ingest job the upload enqueued, and the embedding that ingest enqueued in turn
    assert {"job ingest", "job embed"} <= ours
