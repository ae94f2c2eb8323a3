"""Model download links: one use, a minute, the caller's membership checked again on use, and
the ticket in the query string (spent by the time anyone reads an access log)."""

from sqlmodel import Session

from tests.conftest import add_member


def _model_with_archive(client, owner) -> tuple[int, bytes]:
    from filament.db.models import ModelVersion
    from filament.db.session import get_engine
    from filament.storage import get_storage

    body = {"name": "P", "task": "text_classification", "labels": ["a", "b"]}
    pid = client.post("/api/v1/projects", headers=owner, json=body).json()["id"]
    archive = b"PK a stored archive"
    with Session(get_engine()) as session:
        model = ModelVersion(
            project_id=pid,
            version=1,
            kind="head",
            backbone="minilm",
            label_count=2,
            storage_key=f"projects/{pid}/models/1",
            active=True,
        )
        session.add(model)
        session.commit()
    get_storage().put_bytes(f"projects/{pid}/models/1/archive.zip", archive)
    return pid, archive


def test_a_link_works_once_and_keeps_the_ticket_out_of_the_path(client, owner):
    pid, archive = _model_with_archive(client, owner)
    link = client.post(f"/api/v1/projects/{pid}/models/1/download-link", headers=owner).json()
    assert link["url"].startswith("/api/v1/downloads?ticket=")
    assert link["expires_in"] <= 60
    first = client.get(link["url"])
    assert first.content == archive
    assert first.headers["Cache-Control"] == "no-store"
    assert client.get(link["url"]).status_code == 404  # spent
    assert client.get("/api/v1/downloads?ticket=made-up").status_code == 404


def test_a_removed_member_cannot_use_a_link_issued_before(client, owner):
    pid, _ = _model_with_archive(client, owner)
    member = add_member(client, owner, pid, "m@example.com", "owner")
    link = client.post(f"/api/v1/projects/{pid}/models/1/download-link", headers=member).json()
    me = client.get("/api/v1/users/me", headers=member).json()
    client.delete(f"/api/v1/projects/{pid}/members/{me['id']}", headers=owner)
    assert client.get(link["url"]).status_code == 404


def test_links_expire(client, owner):
    pid, _ = _model_with_archive(client, owner)
    link = client.post(f"/api/v1/projects/{pid}/models/1/download-link", headers=owner).json()
    redis = client.app.state.redis
    for key in redis.scan_iter("download:ticket:*"):
        redis.delete(key)  # what the minute's expiry does
    assert client.get(link["url"]).status_code == 404


def test_the_path_form_still_works_under_the_same_rules(client, owner):
    pid, archive = _model_with_archive(client, owner)
    link = client.post(f"/api/v1/projects/{pid}/models/1/download-link", headers=owner).json()
    ticket = link["url"].split("ticket=")[1]
    assert client.get(f"/api/v1/downloads/{ticket}").content == archive
    assert client.get(f"/api/v1/downloads/{ticket}").status_code == 404
