"""Per-line caps for CSV/JSONL and a per-file cap for images (zip members, single files): the
long line or the large member is skipped with a clear error on the job, the rest is ingested."""

from tests.api.test_uploads import items, make_zip, png, project, upload


def _job(client, headers, accepted) -> dict:
    assert accepted.status_code == 202, accepted.text
    return client.get(f"/api/v1/jobs/{accepted.json()['job_id']}", headers=headers).json()


def _limit(monkeypatch, name: str, value: int) -> None:
    from filament.core.settings import get_settings

    monkeypatch.setenv(name, str(value))
    get_settings.cache_clear()


def test_long_csv_and_jsonl_lines_are_skipped_with_an_error(client, owner, run_jobs, monkeypatch):
    _limit(monkeypatch, "FILAMENT_MAX_LINE_CHARS", 1000)
    pid = project(client, owner, task="text_classification", labels=("neg", "pos"))
    long_text = "word " * 2000  # 10,000 characters on one line
    csv_rows = f"id,text\na,short one\nb,{long_text}\nc,short two\n".encode()
    jsonl_rows = (
        f'{{"id": "d", "text": "fine"}}\n{{"id": "e", "text": "{long_text}"}}\n'
        '{"id": "f", "text": "also fine"}\n'
    ).encode()
    accepted = upload(client, owner, pid, ("r.csv", csv_rows), ("r.jsonl", jsonl_rows))
    run_jobs()
    job = _job(client, owner, accepted)
    assert job["status"] == "done" and job["result"]["created"] == 4
    errors = {e["name"]: e["error"] for e in job["errors"]}
    assert errors["r.csv:3"] == (
        "line 3: skipped, longer than 1,000 characters (FILAMENT_MAX_LINE_CHARS)"
    )
    assert errors["r.jsonl:2"].startswith("line 2: skipped, longer than 1,000 characters")
    assert {i["name"] for i in items(client, owner, pid)["data"]} == {"a", "c", "d", "f"}


def test_large_zip_members_and_images_are_skipped_with_an_error(
    client, owner, run_jobs, monkeypatch
):
    pid = project(client, owner)
    big = png((1, 1, 1), size=400) + b"\0" * 20_000  # a valid PNG with trailing bytes: 20 KB+
    _limit(monkeypatch, "FILAMENT_MAX_IMAGE_FILE_BYTES", 10_000)
    archive = make_zip({"cat/small.png": png((200, 0, 0)), "cat/big.png": big})
    accepted = upload(client, owner, pid, ("pets.zip", archive), ("alone.png", big))
    run_jobs()
    job = _job(client, owner, accepted)
    assert job["status"] == "done" and job["result"]["created"] == 1
    errors = {e["name"]: e["error"] for e in job["errors"]}
    # the entry names the file; its error does not repeat it
    assert errors["cat/big.png"] == (
        "skipped, larger than the per-file limit of 10,000 bytes (FILAMENT_MAX_IMAGE_FILE_BYTES)"
    )
    assert "alone.png" in errors
    assert [i["name"] for i in items(client, owner, pid)["data"]] == ["cat/small.png"]
