"""Prefixes are folders: deleting project 1 never touches project 10 or 11 (local and S3)."""

import uuid

import pytest

from tests.api.test_s3 import s3, s3_client  # noqa: F401  (fixtures)
from tests.api.test_uploads import project

KEYS = ["projects/1/items/a", "projects/10/items/b", "projects/11/x", "projects/1/models/v1/m"]


def _local(tmp_path):
    from filament.storage.local import LocalStorage

    return LocalStorage(tmp_path / "store")


def _s3(endpoint: str):
    from filament.storage.s3 import S3Storage

    # moto keeps one bucket state per process: a prefix of its own keeps other tests' objects out
    return S3Storage("filament-test", f"unit-{uuid.uuid4().hex[:8]}", endpoint, "us-east-1")


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        return _local(tmp_path)
    bucket = request.getfixturevalue("s3")
    return _s3(bucket.meta.endpoint_url)


def test_list_and_delete_treat_prefixes_as_folders(storage):
    for key in KEYS:
        storage.put_bytes(key, b"data")
    assert sorted(storage.list("projects/1")) == ["projects/1/items/a", "projects/1/models/v1/m"]
    assert sorted(storage.list("projects/1/")) == sorted(storage.list("projects/1"))
    storage.delete_prefix("projects/1")
    assert sorted(storage.list("")) == ["projects/10/items/b", "projects/11/x"]
    assert storage.get_bytes("projects/10/items/b") == b"data"
    storage.delete_prefix("projects/1/items/a")  # a key is not a folder: nothing to delete
    with pytest.raises(ValueError):
        storage.delete_prefix("/")  # never the whole store
    assert sorted(storage.list("")) == ["projects/10/items/b", "projects/11/x"]


def _delete_project_one_keeps_ten_and_eleven(client) -> None:
    from filament.storage import get_storage

    from tests.conftest import register

    owner = register(client)
    ids = [project(client, owner) for _ in range(11)]
    assert ids[0] == 1 and ids[9] == 10 and ids[10] == 11
    storage = get_storage()
    for pid in (1, 10, 11):
        storage.put_bytes(f"projects/{pid}/items/ab/{pid}", b"bytes of %d" % pid)
    assert client.delete("/api/v1/projects/1", headers=owner).status_code == 204
    assert list(storage.list("projects/1")) == []
    assert storage.get_bytes("projects/10/items/ab/10") == b"bytes of 10"
    assert storage.get_bytes("projects/11/items/ab/11") == b"bytes of 11"
    assert client.get("/api/v1/projects/10", headers=owner).status_code == 200


def test_deleting_a_project_keeps_projects_sharing_its_id_prefix(client):
    _delete_project_one_keeps_ten_and_eleven(client)


def test_deleting_a_project_on_s3_keeps_projects_sharing_its_id_prefix(s3_client):  # noqa: F811
    _delete_project_one_keeps_ten_and_eleven(s3_client)
