"""Labeling as a team, through the API: guidelines, skips and timing, per-annotator figures,
and the activity log (on SQLite and PostgreSQL, with the real Redis and worker)."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.api.test_loop import synthetic_rows, text_project
from tests.conftest import add_member, register


def _items(client, headers, pid, **params):  # type: ignore[no-untyped-def]
    return client.get(
        f"/api/v1/projects/{pid}/items", headers=headers, params={"limit": 100, **params}
    ).json()["data"]


def _label(client, headers, pid, item_id, label):  # type: ignore[no-untyped-def]
    answer = client.post(
        f"/api/v1/projects/{pid}/items/{item_id}/annotations",
        headers=headers,
        json={"labels": [label]},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def _team(client, owner, pid):  # type: ignore[no-untyped-def]
    return {
        role: add_member(client, owner, pid, f"{role}@example.com", role)
        for role in ("reviewer", "annotator", "viewer")
    }


class Clock:
    """The clock of `filament.labeling.timing` (serves, finishes, the rows' times), moved by
    hand."""

    def __init__(self) -> None:
        self.at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at

    def set(self, seconds: float) -> None:
        self.at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC) + timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    from filament.labeling import timing

    fake = Clock()
    monkeypatch.setattr(timing, "now", fake)
    return fake


# --- guidelines ---------------------------------------------------------------------------------


def test_guidelines_roles_limits_examples_and_unsafe_text(client, owner, run_jobs):
    pid = text_project(client, owner, synthetic_rows(8))
    other = text_project(client, owner, synthetic_rows(4))  # the owner's other project
    run_jobs()
    team = _team(client, owner, pid)
    stranger = register(client, "stranger@example.com")
    url = f"/api/v1/projects/{pid}/guidelines"

    empty = client.get(url, headers=owner).json()
    assert empty["instructions"] == "" and empty["updated_at"] is None
    assert [g["label"] for g in empty["labels"]] == ["negative", "positive"]
    for headers in team.values():
        assert client.get(url, headers=headers).status_code == 200
    assert client.get(url, headers=stranger).status_code == 404

    items = _items(client, owner, pid)
    positive = next(i for i in items if i["name"] == "i1")
    negative = next(i for i in items if i["name"] == "i2")
    unlabeled = next(i for i in items if i["name"] == "i3")
    _label(client, owner, pid, positive["id"], "positive")
    _label(client, owner, pid, negative["id"], "negative")
    foreign = _items(client, owner, other)[0]
    _label(client, owner, other, foreign["id"], "positive")

    unsafe = (
        "# Rules\n<script>alert(1)</script>\n<img src=x onerror=alert(2)>\n"
        "[click](javascript:alert(3))"
    )
    body = {
        "instructions": unsafe,
        "labels": [{"label": "positive", "description": "*praise*", "examples": [positive["id"]]}],
    }
    for role in ("reviewer", "annotator", "viewer"):
        assert client.put(url, headers=team[role], json=body).status_code == 403
    assert client.put(url, headers=stranger, json=body).status_code == 404

    saved = client.put(url, headers=owner, json=body)
    assert saved.status_code == 200, saved.text
    read = client.get(url, headers=team["annotator"]).json()
    assert read["instructions"] == unsafe  # stored as text; the web app renders it inert
    assert read["updated_by_name"] == "ann" and read["updated_at"] is not None
    by_label = {g["label"]: g for g in read["labels"]}
    assert by_label["negative"] == {"label": "negative", "description": "", "examples": []}
    (example,) = by_label["positive"]["examples"]
    assert (example["id"], example["name"], example["labels"]) == (
        positive["id"],
        "i1",
        ["positive"],
    )

    def refused(labels, instructions="ok"):  # type: ignore[no-untyped-def]
        return client.put(url, headers=owner, json={"instructions": instructions, "labels": labels})

    assert refused([], instructions="x" * 20_001).status_code == 422
    assert refused([{"label": "positive", "description": "x" * 2_001}]).status_code == 422
    assert refused([{"label": "positive", "examples": [positive["id"]] * 11}]).status_code == 422
    assert refused([{"label": "neutral"}]).status_code == 422
    assert refused([{"label": "positive"}, {"label": "positive"}]).status_code == 422
    assert refused([{"label": "positive", "examples": [2**31]}]).status_code == 422
    assert refused([{"label": "positive", "examples": [unlabeled["id"]]}]).status_code == 422
    # carrying another label is no example of this one
    assert refused([{"label": "positive", "examples": [negative["id"]]}]).status_code == 422
    for wrong in (foreign["id"], 999_999):  # someone else's item is as unknown as a missing one
        answer = refused([{"label": "positive", "examples": [wrong]}])
        assert answer.status_code == 404
        assert foreign["text"] not in answer.text
    assert client.get(url, headers=owner).json()["instructions"] == unsafe  # nothing changed

    log = client.get(f"/api/v1/projects/{pid}/activity?action=guidelines_changed", headers=owner)
    (entry,) = log.json()["data"]
    assert entry["actor_name"] == "ann"
    assert entry["details"]["instructions_chars"] == {"old": 0, "new": len(unsafe)}
    assert entry["details"]["label:positive"]["new"]["examples"] == [positive["id"]]


# --- skips and the claim protocol ---------------------------------------------------------------


def test_skip_releases_the_hold_to_others_and_keeps_it_from_the_skipper(client, owner, run_jobs):
    pid = text_project(client, owner, synthetic_rows(6))
    other = text_project(client, owner, synthetic_rows(2))
    run_jobs()
    team = _team(client, owner, pid)
    annotator, reviewer = team["annotator"], team["reviewer"]
    queue = f"/api/v1/projects/{pid}/queue"
    mine = [i["id"] for i in client.get(f"{queue}?limit=6", headers=annotator).json()["data"]]
    assert len(mine) == 6
    assert client.get(f"{queue}?limit=6", headers=reviewer).json()["data"] == []  # all held

    skipped = mine[0]
    assert client.post(f"{queue}/{skipped}/skip", headers=annotator).status_code == 204
    theirs = [i["id"] for i in client.get(f"{queue}?limit=6", headers=reviewer).json()["data"]]
    assert theirs == [skipped]  # available at once to someone else
    again = [i["id"] for i in client.get(f"{queue}?limit=6", headers=annotator).json()["data"]]
    assert sorted(again) == sorted(mine[1:])  # the skipper keeps the rest, not the skipped one

    # skipping a labeled item leaves its done mark: it is not served to anyone again
    _label(client, annotator, pid, mine[1], "positive")
    assert client.post(f"{queue}/{mine[1]}/skip", headers=annotator).status_code == 204
    assert mine[1] not in {
        i["id"] for i in client.get(f"{queue}?limit=6", headers=reviewer).json()["data"]
    }

    foreign = _items(client, owner, other)[0]["id"]
    assert client.post(f"{queue}/{foreign}/skip", headers=annotator).status_code == 404
    assert client.post(f"{queue}/999999/skip", headers=annotator).status_code == 404
    assert client.post(f"{queue}/{mine[2]}/skip", headers=team["viewer"]).status_code == 403
    stranger = register(client, "stranger@example.com")
    assert client.post(f"{queue}/{mine[2]}/skip", headers=stranger).status_code == 404


def test_release_drops_a_hold_but_never_a_done_mark(env, redis_url):
    from filament.db.models import Project
    from filament.labeling import leases
    from redis import Redis

    redis = Redis.from_url(redis_url)
    project = Project(id=7, name="p", task="text_classification", labels=["a"], backbone="x")
    redis.hset(leases.item_key(7, 1), mapping={"5": "h9999999999.000", "6": "d9999999999.000"})
    assert leases.release(redis, project, 6, 1) is False  # a done mark stays
    assert leases.release(redis, project, 5, 1) is True
    assert redis.hgetall(leases.item_key(7, 1)) == {b"6": b"d9999999999.000"}
    assert leases.release(redis, project, 5, 1) is False  # nothing left to release


# --- per-annotator figures ----------------------------------------------------------------------


def test_annotator_figures_on_a_constructed_example(client, owner, run_jobs, clock):
    pid = text_project(client, owner, synthetic_rows(40), annotations_per_item=2)
    run_jobs()
    team = _team(client, owner, pid)
    annotator, reviewer = team["annotator"], team["reviewer"]
    queue = f"/api/v1/projects/{pid}/queue"
    names = {i["id"]: i["name"] for i in _items(client, owner, pid)}

    def label_served(item_id):  # type: ignore[no-untyped-def]
        return _label(client, annotator, pid, item_id, "positive")

    # the annotator: served 3 at t=0, labels at 30 s, skips at 50 s, labels at 100 s; after a
    # pause (1910 s: not active time) is served one more at 2000 s and labels it at 2010 s
    clock.set(0)
    first = [i["id"] for i in client.get(f"{queue}?limit=3", headers=annotator).json()["data"]]
    clock.set(30)
    label_served(first[0])
    clock.set(50)
    assert client.post(f"{queue}/{first[1]}/skip", headers=annotator).status_code == 204
    clock.set(100)
    label_served(first[2])
    clock.set(2000)
    (later,) = [i["id"] for i in client.get(f"{queue}?limit=1", headers=annotator).json()["data"]]
    assert later != first[1]
    clock.set(2010)
    label_served(later)

    # owner and reviewer both label 8 other items (disagreeing on one) for agreement; the
    # reviewer then accepts one suggestion and corrects another
    clock.set(3000)
    done = {*first, later}
    shared = [i for i in names if i not in done][:8]
    for n, item_id in enumerate(shared):
        _label(client, owner, pid, item_id, "positive" if n % 2 else "negative")
        _label(client, reviewer, pid, item_id, "positive" if n % 2 or n < 2 else "negative")
    run_jobs()  # trains a model and stores the agreement
    rest = [i for i in names if i not in done and i not in shared]
    review = client.post(
        f"/api/v1/projects/{pid}/suggestions/review",
        headers=reviewer,
        json={
            "items": [
                {"item_id": rest[0], "accept": True},
                {"item_id": rest[1], "accept": False, "labels": ["negative"]},
            ]
        },
    )
    assert review.json() == {"accepted": 1, "corrected": 1, "rejected": 0}

    url = f"/api/v1/projects/{pid}/annotators"
    table = client.get(url, headers=owner).json()
    assert table["scope"] == "all" and table["active_gap_seconds"] == 600
    rows = {row["name"]: row for row in table["data"]}
    assert set(rows) == {"ann", "reviewer", "annotator"}  # viewers do not label
    a = rows["annotator"]
    assert (a["labels"], a["skipped"], a["timed_labels"]) == (3, 1, 3)
    assert a["median_seconds"] == pytest.approx(30.0)  # 30, 50 (from the skip), 10
    assert a["active_seconds"] == pytest.approx(70.0)  # 20 + 50; the 1910 s pause is out
    assert a["labels_per_hour"] == pytest.approx(1 / 70 * 3600)
    assert a["skip_share"] == pytest.approx(0.25)
    assert (a["suggestions_accepted"], a["suggestions_corrected"]) == (0, 0)
    r = rows["reviewer"]
    assert (r["labels"], r["suggestions_accepted"], r["suggestions_corrected"]) == (10, 1, 1)
    assert r["median_seconds"] is None and r["skip_share"] is None and r["timed_labels"] == 0
    stored = client.get(f"/api/v1/projects/{pid}/agreement", headers=owner).json()
    theirs = next(x for x in stored["per_annotator"] if x["name"] == "reviewer")
    assert r["agreement_items"] == theirs["items"] == 8
    assert r["vs_consensus"]["percent_agreement"] == theirs["vs_consensus"]["percent_agreement"]
    assert r["vs_consensus"]["percent_agreement"]["items"] == 8  # with its support
    assert table["agreement_computed_at"] is not None

    own = client.get(url, headers=annotator).json()
    assert own["scope"] == "own" and [row["name"] for row in own["data"]] == ["annotator"]
    assert own["data"][0]["labels_per_hour"] == a["labels_per_hour"]
    assert client.get(url, headers=reviewer).json()["scope"] == "all"
    assert client.get(url, headers=team["viewer"]).status_code == 403
    assert client.get(url, headers=register(client, "x@example.com")).status_code == 404

    # undo and label again: timed from the annotator's previous finish, not lost
    assert (
        client.delete(
            f"/api/v1/projects/{pid}/items/{later}/annotations", headers=annotator
        ).status_code
        == 204
    )
    clock.set(2030)
    label_served(later)
    again = {row["name"]: row for row in client.get(url, headers=owner).json()["data"]}
    assert again["annotator"]["timed_labels"] == 3 and again["annotator"]["labels"] == 3


# --- the activity log ---------------------------------------------------------------------------


def test_activity_records_every_kind_of_change_and_pages(client, owner, run_jobs):
    from filament.db.models import JobStatus
    from filament.jobs.rows import update_job

    pid = text_project(client, owner, synthetic_rows(12))
    run_jobs()
    team = _team(client, owner, pid)
    base = f"/api/v1/projects/{pid}"
    made = client.post(f"{base}/datasets", headers=owner, json={"name": "extra"}).json()
    client.patch(f"{base}/datasets/{made['id']}", headers=owner, json={"name": "renamed"})
    client.delete(f"{base}/datasets/{made['id']}?confirm=true", headers=owner)
    annotator_id = next(
        m["user_id"]
        for m in client.get(f"{base}/members", headers=owner).json()["data"]
        if m["email"] == "annotator@example.com"
    )
    client.patch(f"{base}/members/{annotator_id}", headers=owner, json={"role": "reviewer"})
    client.patch(f"{base}/members/{annotator_id}", headers=owner, json={"role": "annotator"})
    add_member(client, owner, pid, "leaver@example.com", "viewer")
    leaver = next(
        m["user_id"]
        for m in client.get(f"{base}/members", headers=owner).json()["data"]
        if m["email"] == "leaver@example.com"
    )
    client.delete(f"{base}/members/{leaver}", headers=owner)
    client.patch(f"{base}", headers=owner, json={"name": "Renamed", "lease_seconds": 900})
    client.patch(f"{base}", headers=owner, json={"lease_seconds": 900})  # no change: no entry
    client.put(f"{base}/guidelines", headers=owner, json={"instructions": "Be kind"})
    items = _items(client, owner, pid)
    for item in items[:6]:
        _label(client, team["annotator"], pid, item["id"], "positive")
    _label(client, team["annotator"], pid, items[0]["id"], "negative")  # changed
    client.delete(f"{base}/items/{items[1]['id']}/annotations", headers=team["annotator"])
    run_jobs()  # a head is trained and activated
    job = client.post(f"{base}/finetune", headers=owner).json()
    client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=owner)
    second = client.post(f"{base}/finetune", headers=owner).json()
    update_job(second["id"], status=JobStatus.done, result={"version": 9, "activated": False})

    url = f"{base}/activity"
    entries = client.get(f"{url}?limit=200", headers=team["viewer"]).json()["data"]
    actions = [e["action"] for e in reversed(entries)]
    # members join by invitation: each is sent (by the owner), then accepted (by the member)
    assert actions[:5] == [
        "items_uploaded",
        "invitation_sent",
        "member_added",
        "invitation_sent",
        "member_added",
    ]
    for expected in (
        "dataset_created",
        "dataset_renamed",
        "dataset_deleted",
        "member_role_changed",
        "member_removed",
        "settings_changed",
        "guidelines_changed",
        "annotation_created",
        "annotation_changed",
        "annotation_deleted",
        "model_activated",
        "finetune_started",
        "finetune_cancelled",
        "finetune_finished",
    ):
        assert expected in actions, expected
    by = {}
    for entry in entries:
        by.setdefault(entry["action"], []).append(entry)
    (upload,) = by["items_uploaded"]
    assert upload["details"]["created"] == 12 and upload["details"]["dataset"] == "default"
    assert upload["actor_name"] == "ann"
    (renamed,) = by["dataset_renamed"]
    assert renamed["details"] == {"old": "extra", "new": "renamed"}
    assert renamed["target_type"] == "dataset" and renamed["target_id"] == made["id"]
    assert by["dataset_deleted"][0]["details"] == {"name": "renamed", "items": 0}
    (settings,) = by["settings_changed"]
    assert settings["details"] == {
        "name": {"old": "T", "new": "Renamed"},
        "lease_seconds": {"old": 600, "new": 900},
    }
    email = "annotator@example.com"
    assert [e["details"] for e in reversed(by["member_role_changed"])] == [
        {"email": email, "old": "annotator", "new": "reviewer"},
        {"email": email, "old": "reviewer", "new": "annotator"},
    ]
    (removed,) = by["member_removed"]
    assert removed["details"] == {"email": "leaver@example.com", "role": "viewer"}
    assert len(by["annotation_created"]) == 6
    (changed,) = by["annotation_changed"]
    assert changed["details"]["old"] == ["positive"] and changed["details"]["new"] == ["negative"]
    assert changed["target_id"] == items[0]["id"] and changed["actor_name"] == "annotator"
    assert by["annotation_deleted"][0]["details"] == {"labels": ["positive"]}
    assert by["model_activated"][0]["actor_id"] is None  # the worker
    assert by["finetune_started"][0]["actor_name"] == "ann"
    assert by["finetune_cancelled"][0]["target_id"] == job["id"]
    finished = by["finetune_finished"][0]["details"]
    assert (finished["status"], finished["version"]) == ("done", 9)

    # paging: newest first, each entry once, filters by action and actor
    seen, cursor = [], None
    while True:
        page = client.get(
            url, headers=owner, params={"limit": 5, **({"before": cursor} if cursor else {})}
        ).json()
        seen += [e["id"] for e in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [e["id"] for e in entries] and seen == sorted(seen, reverse=True)
    created = client.get(f"{url}?action=annotation_created&limit=4", headers=owner).json()
    assert len(created["data"]) == 4 and created["next_cursor"] is not None
    mine = client.get(f"{url}?actor={annotator_id}&limit=200", headers=owner).json()["data"]
    assert {e["action"] for e in mine} == {
        "member_added",  # they joined by accepting their invitation
        "annotation_created",
        "annotation_changed",
        "annotation_deleted",
    }
    assert client.get(f"{url}?action=nonsense", headers=owner).status_code == 422
    assert client.get(url, headers=register(client, "x@example.com")).status_code == 404


def test_activity_export_streams_csv_and_jsonl_safely(client, owner, run_jobs):
    pid = text_project(client, owner, synthetic_rows(4))
    run_jobs()
    attacker = add_member(client, owner, pid, "-2+3@example.com", "owner")
    base = f"/api/v1/projects/{pid}"
    client.post(f"{base}/datasets", headers=attacker, json={"name": '=HYPERLINK("http://x")'})
    viewer = add_member(client, owner, pid, "viewer@example.com", "viewer")
    exported = client.get(f"{base}/export?content=activity&format=csv", headers=viewer)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "activity.csv" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text, newline="")))
    assert [row["action"] for row in rows] == [
        "items_uploaded",
        "invitation_sent",
        "member_added",
        "dataset_created",
        "invitation_sent",
        "member_added",
    ]
    made = rows[3]
    assert made["actor"] == "'-2+3@example.com"  # a formula-like cell is escaped
    assert json.loads(made["details"]) == {"name": '=HYPERLINK("http://x")'}  # inside JSON: inert
    for row in rows:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row.values()), row
    lines = client.get(f"{base}/export?content=activity&format=jsonl", headers=viewer).text
    parsed = [json.loads(line) for line in lines.splitlines()]
    assert parsed[3]["actor"] == "-2+3@example.com"  # JSONL keeps values as they are
    assert [p["id"] for p in parsed] == sorted(p["id"] for p in parsed)
    stranger = register(client, "x@example.com")
    assert client.get(f"{base}/export?content=activity", headers=stranger).status_code == 404
