import io

from tests.conftest import register


def test_text_project_end_to_end(client, owner, run_jobs):
    project = client.post(
        "/api/v1/projects",
        headers=owner,
        json={"name": "Reviews", "task": "text_classification", "labels": ["negative", "positive"]},
    )
    assert project.status_code == 201, project.text
    pid = project.json()["id"]
    csv = (
        "id,text,label\n"
        + "".join(
            f"r{i},this is {'great' if i % 2 else 'awful'} number {i},"
            f"{'positive' if i % 2 else 'negative'}\n"
            for i in range(6)
        )
        + "".join(f"u{i},unlabeled text {i}\n" for i in range(10))
    )
    upload = client.post(
        f"/api/v1/projects/{pid}/items",
        headers=owner,
        files=[("files", ("reviews.csv", io.BytesIO(csv.encode()), "text/csv"))],
    )
    assert upload.status_code == 202, upload.text
    run_jobs()
    job = client.get(f"/api/v1/jobs/{upload.json()['job_id']}", headers=owner).json()
    assert job["status"] == "done", job
    assert job["result"]["created"] == 16
    status = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()
    assert status["items_total"] == 16 and status["items_ready"] == 16
    assert status["labeled"] == 6 and status["model_version"] == 1
    queue = client.get(f"/api/v1/projects/{pid}/queue?limit=3", headers=owner).json()
    assert len(queue["data"]) == 3
    assert all("prediction" in item for item in queue["data"])
    other = register(client, "bob@example.com")
    assert client.get(f"/api/v1/projects/{pid}", headers=other).status_code == 404


def test_committed_openapi_schema_is_current():
    """The web app's client is generated from frontend/openapi.json: it must be the API's."""
    import json
    from pathlib import Path

    from filament.api.app import create_app

    committed = Path(__file__).resolve().parents[2] / "frontend" / "openapi.json"
    assert json.loads(committed.read_text()) == create_app().openapi(), (
        "frontend/openapi.json is stale: run `make openapi`"
    )
