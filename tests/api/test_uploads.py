import io
import zipfile

from PIL import Image

from tests.conftest import DATASETS


def png(color: tuple[int, int, int], size: int = 16) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buffer, "PNG")
    return buffer.getvalue()


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def project(client, headers, task="image_classification", labels=("cat", "dog")):
    made = client.post(
        "/api/v1/projects",
        headers=headers,
        json={"name": "P", "task": task, "labels": list(labels)},
    )
    return made.json()["id"]


def upload(client, headers, pid, *files, dataset=None):
    data = {"dataset": dataset} if dataset else None
    return client.post(
        f"/api/v1/projects/{pid}/items",
        headers=headers,
        data=data,
        files=[("files", (name, io.BytesIO(body))) for name, body in files],
    )


def items(client, headers, pid, **params):
    return client.get(f"/api/v1/projects/{pid}/items", headers=headers, params=params).json()


def test_zip_with_label_folders_and_images(client, owner, run_jobs):
    pid = project(client, owner)
    archive = make_zip(
        {
            "cat/a.png": png((255, 0, 0)),
            "dog/b.png": png((0, 255, 0)),
            "misc/c.png": png((0, 0, 255)),
            "__MACOSX/._a.png": b"junk",
        }
    )
    accepted = upload(
        client, owner, pid, ("pets.zip", archive), ("single.png", png((9, 9, 9))), dataset="batch 1"
    )
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["dataset"] == "batch 1"
    run_jobs()
    listed = items(client, owner, pid)
    assert listed["count"] == 4
    assert {i["name"] for i in listed["data"]} == {
        "cat/a.png",
        "dog/b.png",
        "misc/c.png",
        "single.png",
    }
    labeled = items(client, owner, pid, status="labeled")
    assert {(i["name"], tuple(i["labels"])) for i in labeled["data"]} == {
        ("cat/a.png", ("cat",)),
        ("dog/b.png", ("dog",)),
    }
    assert items(client, owner, pid, dataset="batch 1")["count"] == 4
    first = items(client, owner, pid, limit=2)["data"]
    after = items(client, owner, pid, limit=2, after=first[-1]["id"])["data"]
    assert [i["id"] for i in after] == [i["id"] for i in listed["data"][2:4]]
    assert items(client, owner, pid, dataset="default")["count"] == 0
    item = listed["data"][0]
    content = client.get(f"/api/v1/projects/{pid}/items/{item['id']}/content", headers=owner)
    assert content.status_code == 200 and content.headers["content-type"] == "image/png"
    # the same files again: duplicates are skipped, nothing is added
    upload(client, owner, pid, ("pets.zip", archive))
    run_jobs()
    assert items(client, owner, pid)["count"] == 4
    jobs = client.get(f"/api/v1/projects/{pid}/jobs", headers=owner).json()["data"]
    ingest = [j for j in jobs if j["type"] == "ingest"]
    assert ingest[0]["result"]["duplicates"] == 3


def test_corrupt_and_fake_images_are_reported_per_file(client, owner, run_jobs):
    pid = project(client, owner)
    good = png((1, 2, 3))
    truncated = good[: len(good) // 2]
    refused = upload(client, owner, pid, ("notes.jpg", b"just some text, renamed"))
    assert refused.status_code == 400 and "notes.jpg" in refused.json()["detail"]
    accepted = upload(
        client,
        owner,
        pid,
        ("a.zip", make_zip({"ok.png": good, "bad.png": truncated, "fake.png": b"hello"})),
    )
    assert accepted.status_code == 202
    run_jobs()
    job = client.get(f"/api/v1/jobs/{accepted.json()['job_id']}", headers=owner).json()
    assert job["status"] == "done" and job["result"]["created"] == 1
    assert {e["name"] for e in job["errors"]} == {"bad.png", "fake.png"}
    assert all("image" in e["error"] for e in job["errors"])


def test_zip_path_tricks_and_bombs_are_refused(client, owner, env):
    pid = project(client, owner)
    sneaky = make_zip({"../../evil.png": png((1, 1, 1)), "ok.png": png((2, 2, 2))})
    refused = upload(client, owner, pid, ("sneaky.zip", sneaky))
    assert refused.status_code == 400 and "leave the archive" in refused.json()["detail"]
    absolute = make_zip({"/etc/evil.png": png((1, 1, 1))})
    assert upload(client, owner, pid, ("abs.zip", absolute)).status_code == 400
    bomb = make_zip({"huge.png": b"\0" * 50_000_000})
    refused = upload(client, owner, pid, ("bomb.zip", bomb))
    assert refused.status_code == 400 and "zip bomb" in refused.json()["detail"]
    assert upload(client, owner, pid, ("broken.zip", b"PK\x03\x04garbage")).status_code == 400
    assert not list(env.rglob("evil.png"))
    assert items(client, owner, pid)["count"] == 0


def test_wrong_kind_of_file_for_the_project(client, owner):
    image_project = project(client, owner)
    text_project = project(client, owner, task="text_classification")
    csv = b"text\nhello\n"
    refused = upload(client, owner, image_project, ("t.csv", csv))
    assert refused.status_code == 400 and "text files" in refused.json()["detail"]
    refused = upload(client, owner, text_project, ("p.png", png((1, 1, 1))))
    assert refused.status_code == 400 and "text project" in refused.json()["detail"]
    assert upload(client, owner, text_project, ("empty.csv", b"")).status_code == 400


def test_csv_problems(client, owner, run_jobs):
    pid = project(client, owner, task="text_classification", labels=("neg", "pos"))
    no_text = upload(client, owner, pid, ("x.csv", b"id,body\n1,hello\n"))
    assert no_text.status_code == 400 and "'text' column" in no_text.json()["detail"]
    latin1 = upload(client, owner, pid, ("l.csv", "text\ncaf\u00e9 ol\u00e9\n".encode("latin-1")))
    assert latin1.status_code == 400 and "UTF-8" in latin1.json()["detail"]
    bad_json = upload(client, owner, pid, ("x.jsonl", b'{"txt": 1}\n'))
    assert bad_json.status_code == 400
    rows = b"id,text,label\na,good film,pos\nb,bad film,neg\nc,odd film,meh\nd,,pos\n"
    accepted = upload(
        client,
        owner,
        pid,
        ("r.csv", rows),
        ("r.jsonl", b'{"text": "fine", "labels": "pos"}\nnot json\n'),
    )
    assert accepted.status_code == 202
    run_jobs()
    job = client.get(f"/api/v1/jobs/{accepted.json()['job_id']}", headers=owner).json()
    assert job["result"]["created"] == 4  # a, b, c (unlabeled) and the JSONL row
    assert job["result"]["labeled"] == 3
    errors = " ".join(e["error"] for e in job["errors"])
    assert "unknown label(s) meh" in errors and "missing 'text'" in errors
    assert "not valid JSON" in errors
    named = {i["name"] for i in items(client, owner, pid)["data"]}
    assert {"a", "b", "c"} <= named


def test_upload_over_the_limit_is_413(client, owner, monkeypatch):
    from fastapi.testclient import TestClient
    from filament.api.app import create_app

    from tests.conftest import reset_caches

    pid = project(client, owner)
    monkeypatch.setenv("FILAMENT_MAX_UPLOAD_BYTES", "100000")
    reset_caches()
    with TestClient(create_app()) as small:
        big = b"\xff\xd8\xff" + b"\0" * 200_000
        refused = small.post(
            f"/api/v1/projects/{pid}/items",
            headers=owner,
            files=[("files", ("big.jpg", io.BytesIO(big)))],
        )
        assert refused.status_code == 413 and "limit" in refused.json()["detail"]
        assert items(small, owner, pid)["count"] == 0


def test_export_csv_and_jsonl(client, owner, run_jobs):
    pid = project(client, owner, task="text_classification", labels=("neg", "pos"))
    upload(client, owner, pid, ("r.csv", b"id,text,label\na,good,pos\nb,bad,neg\nc,meh,\n"))
    run_jobs()
    csv_text = client.get(f"/api/v1/projects/{pid}/export?format=csv", headers=owner).text
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("item_id,name,dataset,text,labels")
    assert len(lines) == 3 and any(",good,pos," in line for line in lines)
    jsonl = client.get(f"/api/v1/projects/{pid}/export?format=jsonl", headers=owner).text
    assert len(jsonl.strip().splitlines()) == 2
    assert client.get(f"/api/v1/projects/{pid}/export?format=xml", headers=owner).status_code == 422


def test_real_dataset_slice(client, owner, run_jobs):
    import pytest

    source = DATASETS / "images_cifar10_subset" / "train" / "cat"
    if not source.is_dir():
        pytest.skip("../shared/datasets is absent")
    pid = project(client, owner)
    files = [(p.name, p.read_bytes()) for p in sorted(source.iterdir())[:5]]
    assert upload(client, owner, pid, *files).status_code == 202
    run_jobs()
    assert items(client, owner, pid)["count"] == 5
