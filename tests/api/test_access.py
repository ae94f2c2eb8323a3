"""Every owner-only action performed by an annotator, a viewer and a stranger: 403 for members,
404 for everyone else, and the project's data unchanged afterwards."""

import io

import pytest

from tests.api.test_loop import synthetic_rows
from tests.conftest import add_member, register


def _csv(rows: list[tuple[str, str]], labeled: int) -> bytes:
    lines = ["id,text,label"]
    for n, (name, text) in enumerate(rows):
        label = ("positive" if n % 2 else "negative") if n < labeled else ""
        lines.append(f"{name},{text},{label}")
    return ("\n".join(lines) + "\n").encode()


def _snapshot(client, owner, pid) -> dict:  # type: ignore[type-arg]
    """What an attack could change, as the owner sees it."""
    get = lambda path: client.get(f"/api/v1/projects/{pid}{path}", headers=owner).json()  # noqa: E731
    project = get("")
    return {
        "project": {k: project[k] for k in ("name", "labels", "strategy", "items_total")},
        "datasets": get("/datasets")["data"],
        "members": get("/members")["data"],
        "invitations": [(i["id"], i["email"]) for i in get("/invitations")["data"]],
        "models": [m["version"] for m in get("/models")["data"]],
        "jobs": [(j["id"], j["type"], j["status"]) for j in get("/jobs")["data"]],
    }


@pytest.fixture
def team(client, owner, run_jobs):  # type: ignore[no-untyped-def]
    """A text project with items, labels, a model, a queued fine-tune, a reviewer, an
    annotator and a viewer, and a stranger who owns a project of their own."""
    made = client.post(
        "/api/v1/projects",
        headers=owner,
        json={"name": "P", "task": "text_classification", "labels": ["negative", "positive"]},
    ).json()
    pid = made["id"]
    upload = client.post(
        f"/api/v1/projects/{pid}/items",
        headers=owner,
        files=[("files", ("t.csv", io.BytesIO(_csv(synthetic_rows(12), labeled=8))))],
    )
    assert upload.status_code == 202
    run_jobs()
    people = {}
    for role in ("reviewer", "annotator", "viewer"):
        people[role] = add_member(client, owner, pid, f"{role}@example.com", role)
    pending = client.post(
        f"/api/v1/projects/{pid}/invitations", headers=owner, json={"email": "later@example.com"}
    ).json()["id"]
    people["stranger"] = register(client, "stranger@example.com")
    own = client.post(
        "/api/v1/projects",
        headers=people["stranger"],
        json={"name": "Mine", "task": "text_classification", "labels": ["a", "b"]},
    ).json()["id"]
    finetune = client.post(f"/api/v1/projects/{pid}/finetune", headers=owner)
    assert finetune.status_code == 202
    status = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()
    assert status["model_version"] is not None
    return {
        "pid": pid,
        "own": own,
        "people": people,
        "job": finetune.json()["id"],
        "version": status["model_version"],
        "dataset": client.get(f"/api/v1/projects/{pid}/datasets", headers=owner).json()["data"][0][
            "id"
        ],
        "item": client.get(f"/api/v1/projects/{pid}/items", headers=owner).json()["data"][0]["id"],
        "owner_id": client.get("/api/v1/users/me", headers=owner).json()["id"],
        "invitation": pending,
    }


OWNER_ONLY = [
    ("PATCH", "/projects/{pid}", {"json": {"name": "taken", "strategy": "random"}}),
    ("DELETE", "/projects/{pid}", {}),
    ("POST", "/projects/{pid}/datasets", {"json": {"name": "mine"}}),
    ("PATCH", "/projects/{pid}/datasets/{dataset}", {"json": {"name": "renamed"}}),
    ("DELETE", "/projects/{pid}/datasets/{dataset}?confirm=true", {}),
    ("POST", "/projects/{pid}/items", {"files": [("files", ("x.csv", b"text\nhello\n"))]}),
    ("POST", "/projects/{pid}/uploads", {"json": {"files": [{"name": "x.csv", "size": 9}]}}),
    ("POST", "/projects/{pid}/finetune", {}),
    ("POST", "/jobs/{job}/cancel", {}),
    ("POST", "/projects/{pid}/members", {"json": {"email": "stranger@example.com"}}),
    ("POST", "/projects/{pid}/invitations", {"json": {"email": "stranger@example.com"}}),
    ("GET", "/projects/{pid}/invitations", {}),
    ("DELETE", "/projects/{pid}/invitations/{invitation}", {}),
    ("PATCH", "/projects/{pid}/members/{owner_id}", {"json": {"role": "viewer"}}),
    ("DELETE", "/projects/{pid}/members/{owner_id}", {}),
]
MODEL_DOWNLOADS = [  # owners and reviewers
    ("GET", "/projects/{pid}/models/{version}/download", {}),
    ("POST", "/projects/{pid}/models/{version}/download-link", {}),
]


def test_owner_only_actions_are_refused_and_change_nothing(client, owner, team):
    before = _snapshot(client, owner, team["pid"])
    for role, headers in team["people"].items():
        refused = OWNER_ONLY + (MODEL_DOWNLOADS if role != "reviewer" else [])
        for method, path, extra in refused:
            url = "/api/v1" + path.format(**team)
            answer = client.request(method, url, headers=headers, **extra)
            expected = 404 if role == "stranger" else 403
            assert answer.status_code == expected, (role, method, path, answer.text)
            assert "detail" in answer.json()
    # a member may not make themselves an owner either
    annotator_id = client.get("/api/v1/users/me", headers=team["people"]["annotator"]).json()["id"]
    self_promotion = client.patch(
        f"/api/v1/projects/{team['pid']}/members/{annotator_id}",
        headers=team["people"]["annotator"],
        json={"role": "owner"},
    )
    assert self_promotion.status_code == 403
    assert _snapshot(client, owner, team["pid"]) == before


def test_reviewers_may_take_download_links_and_label(client, team):
    pid, reviewer = team["pid"], team["people"]["reviewer"]
    link = client.post(
        f"/api/v1/projects/{pid}/models/{team['version']}/download-link", headers=reviewer
    )
    assert link.status_code < 300, link.text
    labeled = client.post(
        f"/api/v1/projects/{pid}/items/{team['item']}/annotations",
        headers=reviewer,
        json={"labels": ["negative"]},
    )
    assert labeled.status_code == 201


def test_viewers_cannot_label_and_members_still_read(client, owner, team):
    pid = team["pid"]
    viewer, annotator = team["people"]["viewer"], team["people"]["annotator"]
    label = client.post(
        f"/api/v1/projects/{pid}/items/{team['item']}/annotations",
        headers=viewer,
        json={"labels": ["positive"]},
    )
    assert label.status_code == 403
    for headers in (viewer, annotator):
        assert client.get(f"/api/v1/projects/{pid}/items", headers=headers).status_code == 200
        assert client.get(f"/api/v1/jobs/{team['job']}", headers=headers).status_code == 200
    labeled = client.post(
        f"/api/v1/projects/{pid}/items/{team['item']}/annotations",
        headers=annotator,
        json={"labels": ["positive"]},
    )
    assert labeled.status_code == 201


def test_other_projects_ids_are_404_through_ones_own_project(client, owner, team):
    """A stranger names another project's dataset, item or job through their own project."""
    stranger, own = team["people"]["stranger"], team["own"]
    for method, path, extra in [
        ("PATCH", f"/projects/{own}/datasets/{team['dataset']}", {"json": {"name": "x"}}),
        ("DELETE", f"/projects/{own}/datasets/{team['dataset']}?confirm=true", {}),
        ("GET", f"/projects/{own}/items/{team['item']}", {}),
        ("GET", f"/projects/{own}/items/{team['item']}/content", {}),
        ("GET", f"/jobs/{team['job']}", {}),
        ("POST", f"/jobs/{team['job']}/cancel", {}),
        ("GET", f"/projects/{own}/models/{team['version']}/download", {}),
    ]:
        answer = client.request(method, f"/api/v1{path}", headers=stranger, **extra)
        assert answer.status_code == 404, (method, path, answer.text)
    names = [
        d["name"]
        for d in client.get(f"/api/v1/projects/{team['pid']}/datasets", headers=owner).json()[
            "data"
        ]
    ]
    assert names == ["default"]


def test_removed_members_no_longer_reach_their_jobs(client, owner, team):
    pid = team["pid"]
    second = add_member(client, owner, pid, "second@example.com", "owner")
    client.post(f"/api/v1/jobs/{team['job']}/cancel", headers=owner)
    started = client.post(f"/api/v1/projects/{pid}/finetune", headers=second)
    assert started.status_code == 202
    job = started.json()["id"]
    assert client.get(f"/api/v1/jobs/{job}", headers=second).status_code == 200
    second_id = client.get("/api/v1/users/me", headers=second).json()["id"]
    assert (
        client.delete(f"/api/v1/projects/{pid}/members/{second_id}", headers=owner).status_code
        == 204
    )
    assert client.get(f"/api/v1/jobs/{job}", headers=second).status_code == 404
    assert client.post(f"/api/v1/jobs/{job}/cancel", headers=second).status_code == 404
    assert client.get(f"/api/v1/jobs/{job}", headers=owner).json()["status"] == "queued"
