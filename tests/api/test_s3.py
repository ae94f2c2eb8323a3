"""Storage on S3 through boto3, against moto's S3-compatible server (started here)."""

import io
import socket

import boto3
import httpx
import pytest

from tests.api.test_uploads import items, make_zip, png, project


@pytest.fixture
def s3(monkeypatch):
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "FILAMENT_S3_BUCKET": "filament-test",
        "FILAMENT_S3_ENDPOINT_URL": endpoint,
        "FILAMENT_S3_REGION": "us-east-1",
        "FILAMENT_S3_PREFIX": "run1",
    }.items():
        monkeypatch.setenv(name, value)
    bucket = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    bucket.create_bucket(Bucket="filament-test")
    yield bucket
    server.stop()


@pytest.fixture
def s3_client(env, s3):
    from fastapi.testclient import TestClient
    from filament.api.app import create_app

    from tests.conftest import reset_caches

    reset_caches()
    with TestClient(create_app()) as test_client:
        yield test_client


def keys(bucket) -> list[str]:
    listed = bucket.list_objects_v2(Bucket="filament-test").get("Contents", [])
    return [entry["Key"] for entry in listed]


def test_upload_ingest_and_content_on_s3(s3_client, s3, run_jobs):
    from tests.conftest import register

    client = s3_client
    owner = register(client)
    pid = project(client, owner)
    archive = make_zip({"cat/a.png": png((200, 10, 10)), "dog/b.png": png((10, 200, 10))})
    accepted = client.post(
        f"/api/v1/projects/{pid}/items",
        headers=owner,
        files=[("files", ("pets.zip", io.BytesIO(archive)))],
    )
    assert accepted.status_code == 202
    run_jobs()
    listed = items(client, owner, pid)
    assert listed["count"] == 2
    stored = keys(s3)
    assert all(key.startswith("run1/projects/") for key in stored)
    assert any("/embeddings/" in key for key in stored)
    assert not any("/uploads/" in key for key in stored)  # upload files are removed after ingest
    content = client.get(
        f"/api/v1/projects/{pid}/items/{listed['data'][0]['id']}/content",
        headers=owner,
        follow_redirects=False,
    )
    assert content.status_code == 307
    assert httpx.get(content.headers["location"]).content[:4] == b"\x89PNG"
    client.delete(f"/api/v1/projects/{pid}", headers=owner)
    assert not [key for key in keys(s3) if key.startswith(f"run1/projects/{pid}/")]


def test_presigned_direct_upload(s3_client, s3, run_jobs):
    from tests.conftest import register

    client = s3_client
    owner = register(client)
    pid = project(client, owner)
    image = png((1, 2, 3))
    plan = client.post(
        f"/api/v1/projects/{pid}/uploads",
        headers=owner,
        json={"files": [{"name": "x.png", "size": len(image)}]},
    ).json()
    early = client.post(
        f"/api/v1/projects/{pid}/uploads/{plan['upload_id']}/complete", headers=owner
    )
    assert early.status_code == 400 and "not uploaded" in early.json()["detail"]
    assert httpx.put(plan["files"][0]["url"], content=image).status_code == 200
    done = client.post(
        f"/api/v1/projects/{pid}/uploads/{plan['upload_id']}/complete", headers=owner
    )
    assert done.status_code == 202
    run_jobs()
    assert [i["name"] for i in items(client, owner, pid)["data"]] == ["x.png"]


def test_direct_upload_needs_s3(client, owner):
    pid = project(client, owner)
    refused = client.post(
        f"/api/v1/projects/{pid}/uploads",
        headers=owner,
        json={"files": [{"name": "x.png", "size": 10}]},
    )
    assert refused.status_code == 409


def _plan(client, owner, pid, size: int) -> dict:
    return client.post(
        f"/api/v1/projects/{pid}/uploads",
        headers=owner,
        json={"files": [{"name": "x.png", "size": size}]},
    ).json()


def test_direct_upload_is_bound_to_the_declared_size_and_expires_soon(s3_client, s3):
    from tests.conftest import register

    client = s3_client
    owner = register(client)
    pid = project(client, owner)
    image = png((1, 2, 3))
    plan = _plan(client, owner, pid, len(image))
    assert "X-Amz-Expires=900" in plan["files"][0]["url"]
    # a bigger file than declared: refused by the storage (signed length) or at /complete
    put = httpx.put(plan["files"][0]["url"], content=image + b"\0" * 5000)
    done = client.post(
        f"/api/v1/projects/{pid}/uploads/{plan['upload_id']}/complete", headers=owner
    )
    assert put.status_code >= 400 or (
        done.status_code == 400 and "were declared" in done.json()["detail"]
    )
    assert done.status_code == 400


def test_an_object_rewritten_after_complete_is_checked_again_by_the_worker(s3_client, s3, run_jobs):
    from tests.conftest import register

    client = s3_client
    owner = register(client)
    pid = project(client, owner)
    image = png((1, 2, 3))
    plan = _plan(client, owner, pid, len(image))
    assert httpx.put(plan["files"][0]["url"], content=image).status_code == 200
    done = client.post(
        f"/api/v1/projects/{pid}/uploads/{plan['upload_id']}/complete", headers=owner
    )
    assert done.status_code == 202
    # the URL is still valid: the same length, other content, before the worker runs
    assert httpx.put(plan["files"][0]["url"], content=b"x" * len(image)).status_code == 200
    run_jobs()
    assert items(client, owner, pid)["count"] == 0
    job = client.get(f"/api/v1/jobs/{plan['upload_id']}", headers=owner).json()
    assert "changed after the upload was completed" in str(job["errors"])
