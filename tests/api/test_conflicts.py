"""Conflicts and their review through the real stack: annotators who disagree make a conflict,
reviewers (and owners) resolve or reopen it, the final label is what the head trains on (ties
wait for a review), and the items export carries it with how it was decided."""

import csv
import io
import json

import numpy as np
import pytest

from tests.api.test_loop import synthetic_rows, text_project
from tests.conftest import add_member, register

NEG, POS = ["negative"], ["positive"]


def _label(client, pid, headers, item_id, labels) -> None:  # type: ignore[no-untyped-def]
    answer = client.post(
        f"/api/v1/projects/{pid}/items/{item_id}/annotations",
        headers=headers,
        json={"labels": labels},
    )
    assert answer.status_code == 201, answer.text


def _team(client, owner, run_jobs):  # type: ignore[no-untyped-def]
    """Six items i0..i5 (embedded), three annotators and a reviewer and a viewer. Labels:
    i0 owner NEG, b POS (a tie); i1 owner POS, b POS (agree); i2 owner NEG, b POS, c NEG (a
    majority, still a conflict); i3..i5 the owner alone."""
    pid = text_project(client, owner, synthetic_rows(6), annotations_per_item=3)
    run_jobs()
    team = {
        "owner": owner,
        "b": add_member(client, owner, pid, "b@example.com"),
        "c": add_member(client, owner, pid, "c@example.com"),
        "reviewer": add_member(client, owner, pid, "r@example.com", "reviewer"),
        "viewer": add_member(client, owner, pid, "v@example.com", "viewer"),
    }
    listed = client.get(f"/api/v1/projects/{pid}/items", headers=owner).json()["data"]
    ids = {item["name"]: item["id"] for item in listed}
    for name, labels in [("i0", NEG), ("i1", POS), ("i2", NEG), ("i3", POS), ("i4", NEG)]:
        _label(client, pid, owner, ids[name], labels)
    _label(client, pid, owner, ids["i5"], POS)
    for name, labels in [("i0", POS), ("i1", POS), ("i2", POS)]:
        _label(client, pid, team["b"], ids[name], labels)
    _label(client, pid, team["c"], ids["i2"], NEG)
    return pid, team, ids


def _status(client, pid, headers):  # type: ignore[no-untyped-def]
    return client.get(f"/api/v1/projects/{pid}/status", headers=headers).json()


def _conflict_ids(client, pid, headers) -> set[int]:  # type: ignore[no-untyped-def]
    page = client.get(f"/api/v1/projects/{pid}/items?status=conflict", headers=headers).json()
    assert page["count"] == len(page["data"])
    return {item["id"] for item in page["data"]}


def test_disagreement_is_a_conflict_until_a_reviewer_resolves_it(client, owner, run_jobs):
    pid, team, ids = _team(client, owner, run_jobs)
    status = _status(client, pid, team["viewer"])
    assert (status["conflicts"], status["conflicts_tied"], status["conflicts_resolved"]) == (
        2,
        1,
        0,
    )
    assert _conflict_ids(client, pid, team["viewer"]) == {ids["i0"], ids["i2"]}
    labeled = client.get(f"/api/v1/projects/{pid}/items?status=labeled", headers=owner).json()
    assert labeled["count"] == 6  # a conflict is labeled all the same
    listed = {
        item["name"]: item
        for item in client.get(f"/api/v1/projects/{pid}/items", headers=owner).json()["data"]
    }
    assert (listed["i0"]["labels"], listed["i0"]["decided_by"], listed["i0"]["conflict"]) == (
        None,
        "tie",
        True,
    )
    assert (listed["i2"]["labels"], listed["i2"]["decided_by"], listed["i2"]["conflict"]) == (
        NEG,
        "majority",
        True,
    )
    assert (listed["i1"]["decided_by"], listed["i1"]["conflict"]) == ("majority", False)
    assert (listed["i3"]["labels"], listed["i3"]["decided_by"]) == (POS, "single")

    # the review list: every annotator's labels by name, the final label as it stands
    page = client.get(f"/api/v1/projects/{pid}/conflicts", headers=team["reviewer"]).json()
    assert page["count"] == 2 and [c["id"] for c in page["data"]] == [ids["i0"], ids["i2"]]
    tie, majority = page["data"]
    assert [(a["name"], a["email"], a["labels"]) for a in majority["annotations"]] == [
        ("ann", "ann@example.com", NEG),
        ("b", "b@example.com", POS),
        ("c", "c@example.com", NEG),
    ]
    assert tie["text"] and tie["kind"] == "text" and tie["resolution"] is None
    assert (tie["labels"], tie["decided_by"], tie["agreement"]) == (None, "tie", None)
    assert majority["agreement"] == pytest.approx(2 / 3)
    assert "prediction" in majority  # null here: no model was trained yet

    url = f"/api/v1/projects/{pid}/items/{ids['i0']}/resolution"
    before = client.get(f"/api/v1/projects/{pid}/items/{ids['i0']}", headers=owner).json()
    resolved = client.post(url, headers=team["reviewer"], json={"labels": POS})
    assert resolved.status_code == 201, resolved.text
    answer = resolved.json()
    assert answer["labels"] == POS and answer["source"] == "review"
    assert answer["user_name"] == "r" and answer["annotations_disagree"] is True
    assert "disagree" in answer["detail"]
    # the annotations stay as the annotators left them
    after = client.get(f"/api/v1/projects/{pid}/items/{ids['i0']}", headers=owner).json()
    assert after["annotations"] == before["annotations"]
    assert (after["labels"], after["decided_by"], after["conflict"]) == (POS, "review", False)
    assert after["resolution"]["user_name"] == "r" and after["resolution"]["labels"] == POS
    status = _status(client, pid, owner)
    assert (status["conflicts"], status["conflicts_tied"], status["conflicts_resolved"]) == (
        1,
        0,
        1,
    )
    assert _conflict_ids(client, pid, owner) == {ids["i2"]}
    done = client.get(f"/api/v1/projects/{pid}/conflicts?resolved=true", headers=owner).json()
    assert [c["id"] for c in done["data"]] == [ids["i0"]] and done["count"] == 1
    assert done["data"][0]["resolution"]["labels"] == POS

    # resolving again replaces the decision; an item without a conflict may be resolved too
    again = client.post(url, headers=owner, json={"labels": NEG}).json()
    assert again["labels"] == NEG and again["user_name"] == "ann" and "replaces" in again["detail"]
    calm = client.post(
        f"/api/v1/projects/{pid}/items/{ids['i3']}/resolution", headers=owner, json={"labels": NEG}
    ).json()
    assert calm["annotations_disagree"] is False and "no conflict" in calm["detail"]
    assert _status(client, pid, owner)["conflicts_resolved"] == 2

    # reopening: a conflict again
    assert client.delete(url, headers=team["reviewer"]).status_code == 204
    assert client.delete(url, headers=team["reviewer"]).status_code == 404
    assert _conflict_ids(client, pid, owner) == {ids["i0"], ids["i2"]}
    status = _status(client, pid, owner)
    assert (status["conflicts"], status["conflicts_tied"], status["conflicts_resolved"]) == (
        2,
        1,
        1,
    )


def test_who_may_review_and_what_is_refused(client, owner, run_jobs):
    pid, team, ids = _team(client, owner, run_jobs)
    url = f"/api/v1/projects/{pid}/items/{ids['i0']}/resolution"
    stranger = register(client, "s@example.com")
    for who in ("b", "viewer"):
        assert client.get(f"/api/v1/projects/{pid}/conflicts", headers=team[who]).status_code == 403
        refused = client.post(url, headers=team[who], json={"labels": POS})
        assert refused.status_code == 403 and "reviewers" in refused.json()["detail"]
        assert client.delete(url, headers=team[who]).status_code == 403
    assert client.get(f"/api/v1/projects/{pid}/conflicts", headers=stranger).status_code == 404
    assert client.post(url, headers=stranger, json={"labels": POS}).status_code == 404
    assert client.delete(url, headers=stranger).status_code == 404

    reviewer = team["reviewer"]
    unknown = client.post(url, headers=reviewer, json={"labels": ["meh"]})
    assert unknown.status_code == 422 and "meh" in unknown.json()["detail"]
    assert client.post(url, headers=reviewer, json={"labels": [*NEG, *POS]}).status_code == 422
    assert client.post(url, headers=reviewer, json={"labels": []}).status_code == 422
    # another project's item, a missing one, and an item nobody labeled
    other = text_project(client, owner, synthetic_rows(2))
    run_jobs()
    foreign = client.get(f"/api/v1/projects/{other}/items", headers=owner).json()["data"][0]["id"]
    path = f"/api/v1/projects/{pid}/items/{{}}/resolution"
    assert client.post(path.format(foreign), headers=owner, json={"labels": POS}).status_code == 404
    assert client.post(path.format(999999), headers=owner, json={"labels": POS}).status_code == 404
    fresh = client.get(f"/api/v1/projects/{other}/items", headers=owner).json()["data"][1]["id"]
    nobody = client.post(
        f"/api/v1/projects/{other}/items/{fresh}/resolution", headers=owner, json={"labels": POS}
    )
    assert nobody.status_code == 409 and "label it" in nobody.json()["detail"]
    # what was refused changed nothing
    assert _status(client, pid, owner)["conflicts_resolved"] == 0
    # the reviewer may label too
    _label(client, pid, reviewer, ids["i5"], POS)


def test_labeling_a_labeled_item_adds_an_annotation(client, owner, run_jobs):
    pid, team, ids = _team(client, owner, run_jobs)
    item = f"/api/v1/projects/{pid}/items/{ids['i3']}"
    _label(client, pid, team["c"], ids["i3"], NEG)
    annotations = client.get(item, headers=owner).json()["annotations"]
    assert [(a["user_name"], a["labels"]) for a in annotations] == [("ann", POS), ("c", NEG)]
    # relabeling replaces one's own annotation only
    _label(client, pid, team["c"], ids["i3"], POS)
    annotations = client.get(item, headers=owner).json()["annotations"]
    assert [(a["user_name"], a["labels"]) for a in annotations] == [("ann", POS), ("c", POS)]
    assert _conflict_ids(client, pid, owner) == {ids["i0"], ids["i2"]}


def test_the_head_trains_on_final_labels_and_a_tie_waits_for_review(
    client, owner, run_jobs, monkeypatch
):
    import filament_worker.train as train

    seen: list[np.ndarray] = []
    fit = train.fit_head

    def spy(X, y, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(np.asarray(y).copy())
        return fit(X, y, *args, **kwargs)

    monkeypatch.setattr(train, "fit_head", spy)
    pid, team, ids = _team(client, owner, run_jobs)
    run_jobs()
    status = _status(client, pid, owner)
    assert status["labeled"] == 6 and status["labels_in_model"] == 5  # i0 is tied
    # in item order i1..i5: i1 agreed POS, i2 the majority's NEG (not the latest, POS)
    negative, positive = 0, 1
    assert seen[-1].tolist() == [positive, negative, positive, negative, positive]
    version = status["model_version"]

    resolved = client.post(
        f"/api/v1/projects/{pid}/items/{ids['i0']}/resolution",
        headers=team["reviewer"],
        json={"labels": POS},
    )
    assert resolved.status_code == 201
    run_jobs()  # the resolution asked for the same coalesced head training an annotation does
    status = _status(client, pid, owner)
    assert status["model_version"] > version and status["labels_in_model"] == 6
    assert seen[-1].tolist() == [positive, positive, negative, positive, negative, positive]

    # a resolution against the majority wins over it
    client.post(
        f"/api/v1/projects/{pid}/items/{ids['i2']}/resolution", headers=owner, json={"labels": POS}
    )
    run_jobs()
    assert seen[-1].tolist()[2] == positive

    from filament.db.models import Project
    from filament.db.session import session_scope
    from filament.labeling.consensus import training_labels

    with session_scope() as session:
        project = session.get(Project, pid)
        assert project is not None
        labels = training_labels(session, project)
    assert labels[ids["i0"]] == POS and labels[ids["i2"]] == POS and len(labels) == 6


def test_export_items_with_final_labels_and_annotators(client, owner, run_jobs):
    pid, team, ids = _team(client, owner, run_jobs)
    client.post(
        f"/api/v1/projects/{pid}/items/{ids['i1']}/resolution",
        headers=team["reviewer"],
        json={"labels": NEG},
    )
    url = f"/api/v1/projects/{pid}/export?content=items"
    rows = list(
        csv.DictReader(io.StringIO(client.get(f"{url}&format=csv", headers=owner).text, newline=""))
    )
    assert list(rows[0]) == [
        "item_id",
        "name",
        "dataset",
        "text",
        "labels",
        "decided_by",
        "agreement",
        "annotators",
        "reviewer",
    ]
    by_name = {row["name"]: row for row in rows}
    assert len(rows) == 6 and [int(row["item_id"]) for row in rows] == sorted(ids.values())
    assert (by_name["i0"]["labels"], by_name["i0"]["decided_by"], by_name["i0"]["agreement"]) == (
        "",
        "tie",
        "",
    )
    assert (by_name["i1"]["labels"], by_name["i1"]["decided_by"]) == ("negative", "review")
    assert (by_name["i1"]["agreement"], by_name["i1"]["reviewer"]) == ("0.0", "r@example.com")
    assert (by_name["i2"]["labels"], by_name["i2"]["decided_by"]) == ("negative", "majority")
    assert (by_name["i2"]["agreement"], by_name["i2"]["annotators"]) == ("0.6667", "3")
    assert (by_name["i3"]["decided_by"], by_name["i3"]["agreement"]) == ("single", "1.0")

    wide = client.get(f"{url}&format=csv&annotators=true", headers=viewer_of(client, owner, pid))
    assert wide.status_code == 200
    rows = list(csv.DictReader(io.StringIO(wide.text, newline="")))
    assert list(rows[0])[-3:] == ["ann@example.com", "b@example.com", "c@example.com"]
    by_name = {row["name"]: row for row in rows}
    assert (by_name["i2"]["ann@example.com"], by_name["i2"]["b@example.com"]) == (
        "negative",
        "positive",
    )
    assert by_name["i3"]["b@example.com"] == "" and by_name["i3"]["ann@example.com"] == "positive"

    lines = client.get(f"{url}&format=jsonl&annotators=true", headers=owner).text.splitlines()
    by_name = {row["name"]: row for row in map(json.loads, lines)}
    assert by_name["i0"]["labels"] is None and by_name["i0"]["decided_by"] == "tie"
    assert by_name["i0"]["annotations"] == [
        {"annotator": "ann@example.com", "labels": NEG, "source": "human"},
        {"annotator": "b@example.com", "labels": POS, "source": "human"},
    ]
    assert by_name["i2"]["agreement"] == pytest.approx(0.6667) and by_name["i2"]["annotators"] == 3
    plain = client.get(f"{url}&format=jsonl", headers=owner).text.splitlines()
    assert "annotations" not in json.loads(plain[0])
    # the labels export has a row per annotation already: the flag changes nothing there
    labels_url = f"/api/v1/projects/{pid}/export?content=labels&format=csv"
    plain_labels = client.get(labels_url, headers=owner).text
    assert client.get(f"{labels_url}&annotators=true", headers=owner).text == plain_labels


def viewer_of(client, owner, pid):  # type: ignore[no-untyped-def]
    """Anyone who reads a project may export it."""
    return add_member(client, owner, pid, "reader@example.com", "viewer")


def test_items_export_is_spreadsheet_safe(client, owner, run_jobs):
    from tests.api.test_uploads import project, upload

    pid = project(client, owner, task="text_classification", labels=("=neg", "+pos"))
    lines = [
        json.dumps({"id": "=cmd()", "text": "-1+1 text", "label": "=neg"}),
        json.dumps({"id": "plain", "text": "fine", "label": "+pos"}),
    ]
    assert upload(client, owner, pid, ("a.jsonl", "\n".join(lines).encode())).status_code == 202
    run_jobs()
    shady = add_member(client, owner, pid, "=x@example.com")
    plain = client.get(f"/api/v1/projects/{pid}/items?q=fine", headers=owner).json()["data"][0]
    _label(client, pid, shady, plain["id"], ["=neg"])
    exported = client.get(
        f"/api/v1/projects/{pid}/export?content=items&format=csv&annotators=true", headers=owner
    ).text
    reader = csv.reader(io.StringIO(exported, newline=""))
    header = next(reader)
    assert "'=x@example.com" in header and "=x@example.com" not in header
    cells = [cell for row in reader for cell in row]
    assert "'=cmd()" in cells and "'-1+1 text" in cells and "'=neg" in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    jsonl = client.get(f"/api/v1/projects/{pid}/export?content=items&format=jsonl", headers=owner)
    names = {json.loads(line)["name"] for line in jsonl.text.splitlines()}
    assert names == {"=cmd()", "plain"}


def test_multilabel_conflicts_follow_the_per_label_majority(client, owner, run_jobs):
    from tests.api.test_uploads import png, project, upload

    pid = project(client, owner, task="image_multilabel", labels=("cat", "dog", "bird"))
    files = [
        (f"{name}.png", png(color)) for name, color in [("a", (200, 0, 0)), ("b", (0, 200, 0))]
    ]
    files.append(("c.png", png((0, 0, 200))))
    assert upload(client, owner, pid, *files).status_code == 202
    run_jobs()
    b = add_member(client, owner, pid, "b@example.com")
    c = add_member(client, owner, pid, "c@example.com")
    ids = {
        item["name"]: item["id"]
        for item in client.get(f"/api/v1/projects/{pid}/items", headers=owner).json()["data"]
    }
    _label(client, pid, owner, ids["a.png"], ["cat"])
    _label(client, pid, b, ids["a.png"], ["cat", "dog"])  # dog by one of two: a tie
    _label(client, pid, owner, ids["b.png"], ["cat"])
    _label(client, pid, b, ids["b.png"], ["cat"])
    _label(client, pid, c, ids["b.png"], [])  # cat by two of three: in
    _label(client, pid, owner, ids["c.png"], [])
    status = _status(client, pid, owner)
    assert (status["conflicts"], status["conflicts_tied"]) == (2, 1)
    listed = {
        item["name"]: item
        for item in client.get(f"/api/v1/projects/{pid}/items", headers=owner).json()["data"]
    }
    assert (listed["a.png"]["labels"], listed["a.png"]["decided_by"]) == (None, "tie")
    assert (listed["b.png"]["labels"], listed["b.png"]["decided_by"]) == (["cat"], "majority")
    assert (listed["c.png"]["labels"], listed["c.png"]["decided_by"]) == ([], "single")

    # the empty set is a resolution too; labels come back in the project's order
    url = f"/api/v1/projects/{pid}/items/{{}}/resolution"
    empty = client.post(url.format(ids["a.png"]), headers=owner, json={"labels": []})
    assert empty.status_code == 201 and empty.json()["labels"] == []
    both = client.post(url.format(ids["b.png"]), headers=owner, json={"labels": ["bird", "cat"]})
    assert both.json()["labels"] == ["cat", "bird"]
    status = _status(client, pid, owner)
    assert (status["conflicts"], status["conflicts_tied"], status["conflicts_resolved"]) == (
        0,
        0,
        2,
    )
    exported = client.get(
        f"/api/v1/projects/{pid}/export?content=items&format=jsonl", headers=owner
    ).text
    rows = {row["name"]: row for row in map(json.loads, exported.splitlines())}
    assert "text" not in rows["a.png"]
    assert (rows["a.png"]["labels"], rows["a.png"]["decided_by"]) == ([], "review")
    assert rows["a.png"]["agreement"] == 0.0 and rows["a.png"]["annotators"] == 2
    assert (rows["b.png"]["labels"], rows["b.png"]["agreement"]) == (["cat", "bird"], 0.0)
    assert (rows["c.png"]["labels"], rows["c.png"]["agreement"]) == ([], 1.0)
