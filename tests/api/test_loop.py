"""The learning loop through the REST API with a real worker and the real default text backbone."""

import csv
import io

import numpy as np
import pytest

from tests.conftest import DATASETS, add_member, download_archive, register

UCI = DATASETS / "sentiment_uci_labelled_sentences" / "uci_sentiment_all.csv"


def text_project(client, headers, rows, labels=("negative", "positive"), **settings):
    made = client.post(
        "/api/v1/projects",
        headers=headers,
        json={"name": "T", "task": "text_classification", "labels": list(labels), **settings},
    )
    pid = made.json()["id"]
    body = "id,text\n" + "".join(f"{name},{text}\n" for name, text in rows)
    files = [("files", ("t.csv", io.BytesIO(body.encode())))]
    assert (
        client.post(f"/api/v1/projects/{pid}/items", headers=headers, files=files).status_code
        == 202
    )
    return pid


def synthetic_rows(n=40):
    good = ["great", "wonderful", "excellent", "lovely", "superb"]
    bad = ["awful", "terrible", "horrible", "dreadful", "bad"]
    return [(f"i{i}", f"the food was {(good if i % 2 else bad)[i % 5]} and {i}") for i in range(n)]


def label_of(name: str) -> str:
    return "positive" if int(name[1:]) % 2 else "negative"


def test_leases_keep_two_annotators_apart(client, owner, run_jobs):
    pid = text_project(client, owner, synthetic_rows(30))
    run_jobs()
    other = add_member(client, owner, pid, "b@example.com")
    first = client.get(f"/api/v1/projects/{pid}/queue?limit=10", headers=owner).json()
    second = client.get(f"/api/v1/projects/{pid}/queue?limit=10", headers=other).json()
    assert first["cold_start"] and len(first["data"]) == 10 and len(second["data"]) == 10
    mine = {i["id"] for i in first["data"]}
    theirs = {i["id"] for i in second["data"]}
    assert not mine & theirs
    # asking again returns my own leased items first, not someone else's
    again = client.get(f"/api/v1/projects/{pid}/queue?limit=10", headers=owner).json()
    assert {i["id"] for i in again["data"]} == mine
    # with exclude, the client gets new items instead
    held = ",".join(map(str, mine))
    more = client.get(f"/api/v1/projects/{pid}/queue?limit=10&exclude={held}", headers=owner).json()
    assert not {i["id"] for i in more["data"]} & (mine | theirs)


def test_annotation_validation_and_undo(client, owner, run_jobs):
    pid = text_project(client, owner, synthetic_rows(4))
    run_jobs()
    item = client.get(f"/api/v1/projects/{pid}/items", headers=owner).json()["data"][0]["id"]
    url = f"/api/v1/projects/{pid}/items/{item}/annotations"
    assert client.post(url, headers=owner, json={"labels": ["meh"]}).status_code == 422
    assert client.post(url, headers=owner, json={"labels": []}).status_code == 422
    assert client.post(url, headers=owner, json={"labels": ["positive"]}).status_code == 201
    assert client.post(url, headers=owner, json={"labels": ["negative"]}).status_code == 201
    detail = client.get(f"/api/v1/projects/{pid}/items/{item}", headers=owner).json()
    assert [a["labels"] for a in detail["annotations"]] == [["negative"]]
    assert client.delete(url, headers=owner).status_code == 204
    assert (
        client.get(f"/api/v1/projects/{pid}/items?status=labeled", headers=owner).json()["count"]
        == 0
    )
    stranger = register(client, "s@example.com")
    assert client.post(url, headers=stranger, json={"labels": ["positive"]}).status_code == 404


def test_burst_of_labels_coalesces_training(client, owner, run_jobs):
    pid = text_project(client, owner, synthetic_rows(60))
    run_jobs()
    listed = client.get(f"/api/v1/projects/{pid}/items?limit=100", headers=owner).json()["data"]
    for item in listed[:50]:
        client.post(
            f"/api/v1/projects/{pid}/items/{item['id']}/annotations",
            headers=owner,
            json={"labels": [label_of(item["name"])]},
        )
    run_jobs()
    models = client.get(f"/api/v1/projects/{pid}/models", headers=owner).json()["data"]
    assert 1 <= len(models) <= 2
    status = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()
    assert status["labels_in_model"] == 50 and status["training"] is False
    assert status["metrics"]["accuracy"] > 0.9
    assert set(status["metrics"]["per_class"]) == {"negative", "positive"}
    # /score gives the stored predictions for the same texts
    texts = [item["text"] for item in listed[50:55]]
    scored = client.post(
        f"/api/v1/projects/{pid}/score", headers=owner, json={"type": "text", "texts": texts}
    ).json()
    assert scored["labels"] == ["negative", "positive"]
    assert scored["model_version"] == status["model_version"]
    for item, row in zip(listed[50:55], scored["scores"], strict=True):
        detail = client.get(f"/api/v1/projects/{pid}/items/{item['id']}", headers=owner).json()
        stored = [detail["prediction"]["scores"][label] for label in scored["labels"]]
        assert np.allclose(row, stored, atol=2e-3)
    # suggestions: confident items, reviewed in bulk
    page = client.get(f"/api/v1/projects/{pid}/suggestions?limit=5", headers=owner).json()
    assert page["target_precision"] == 0.97 and page["model_version"] == status["model_version"]
    if page["data"]:
        review = [{"item_id": s["id"], "accept": True} for s in page["data"]]
        result = client.post(
            f"/api/v1/projects/{pid}/suggestions/review", headers=owner, json={"items": review}
        ).json()
        assert result["accepted"] == len(review)
    archive = download_archive(
        client, owner, f"/api/v1/projects/{pid}/models/{status['model_version']}/download", run_jobs
    )
    assert archive.status_code == 200 and archive.content[:2] == b"PK"


def test_score_refuses_bad_input(client, owner, run_jobs):
    pid = text_project(client, owner, synthetic_rows(4))
    run_jobs()
    url = f"/api/v1/projects/{pid}/score"
    assert client.post(url, headers=owner, json={"type": "text", "texts": ["x"]}).status_code == 409
    assert (
        client.post(url, headers=owner, json={"type": "images", "data": ["xx"]}).status_code == 400
    )
    assert client.post(url, headers=owner, json={"type": "nope"}).status_code == 422


@pytest.mark.slow
def test_uci_sentiment_reaches_well_above_chance(client, owner, run_jobs):
    if not UCI.is_file():
        pytest.skip("../shared/datasets is absent")
    with UCI.open() as handle:
        rows = list(csv.DictReader(handle))[:400]
    truth = {
        f"s{i}": ("positive" if row["label"] == "1" else "negative") for i, row in enumerate(rows)
    }
    clean = [
        (f"s{i}", row["text"].replace(",", " ").replace('"', "")) for i, row in enumerate(rows)
    ]
    pid = text_project(client, owner, clean)
    run_jobs()
    labeled = 0
    while labeled < 40:
        queue = client.get(f"/api/v1/projects/{pid}/queue?limit=10", headers=owner).json()["data"]
        for item in queue:
            client.post(
                f"/api/v1/projects/{pid}/items/{item['id']}/annotations",
                headers=owner,
                json={"labels": [truth[item["name"]]]},
            )
            labeled += 1
        run_jobs()
    status = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()
    assert status["labels_in_model"] == 40
    # judged on the items nobody labeled: cross-validated accuracy over 40 actively chosen
    # labels moves by +-.07 between runs and is biased low (the picks are the hard cases)
    unlabeled = client.get(
        f"/api/v1/projects/{pid}/items?status=unlabeled&limit=1000", headers=owner
    ).json()["data"]
    assert len(unlabeled) > 300  # 400 rows less duplicates and the 40 labeled
    right = [item["prediction"]["labels"] == [truth[item["name"]]] for item in unlabeled]
    assert np.mean(right) > 0.7, status["metrics"]


def test_concurrent_queues_never_share_items(client, owner, run_jobs):
    """Eight annotators asking at the same moment, twice each: no item goes to two of them."""
    from concurrent.futures import ThreadPoolExecutor

    pid = text_project(client, owner, synthetic_rows(200))
    run_jobs()
    people = []
    for n in range(8):
        email = f"p{n}@example.com"
        people.append(add_member(client, owner, pid, email))

    def ask(headers):
        first = client.get(f"/api/v1/projects/{pid}/queue?limit=5", headers=headers).json()
        held = ",".join(str(i["id"]) for i in first["data"])
        more = client.get(f"/api/v1/projects/{pid}/queue?limit=5&exclude={held}", headers=headers)
        return [i["id"] for i in first["data"] + more.json()["data"]]

    with ThreadPoolExecutor(8) as pool:
        batches = list(pool.map(ask, people))
    served = [item for batch in batches for item in batch]
    assert len(served) == 80 and len(set(served)) == 80, [len(b) for b in batches]


def test_several_annotators_per_item(client, owner, run_jobs):
    pid = text_project(client, owner, synthetic_rows(3), annotations_per_item=2)
    run_jobs()
    other = add_member(client, owner, pid, "b@example.com")
    mine = client.get(f"/api/v1/projects/{pid}/queue?limit=3", headers=owner).json()["data"]
    theirs = client.get(f"/api/v1/projects/{pid}/queue?limit=3", headers=other).json()["data"]
    assert {i["id"] for i in mine} == {i["id"] for i in theirs}  # each item goes to both
    third = add_member(client, owner, pid, "c@example.com")
    assert client.get(f"/api/v1/projects/{pid}/queue?limit=3", headers=third).json()["data"] == []
    item = mine[0]["id"]
    client.post(
        f"/api/v1/projects/{pid}/items/{item}/annotations",
        headers=owner,
        json={"labels": ["positive"]},
    )
    # the owner never gets an item they labeled again
    again = client.get(
        f"/api/v1/projects/{pid}/queue?limit=3&exclude={mine[1]['id']},{mine[2]['id']}",
        headers=owner,
    ).json()["data"]
    assert item not in {i["id"] for i in again}


def test_renewed_leases_keep_their_annotator_slots(client, owner, run_jobs):
    """Asking again renews the caller's leases and their holds alike: a hold left to expire
    under a renewed lease would let one annotator too many take the item."""
    import time

    pid = text_project(client, owner, synthetic_rows(3), annotations_per_item=2)
    run_jobs()
    mine = client.get(f"/api/v1/projects/{pid}/queue?limit=3", headers=owner).json()["data"]
    redis = client.app.state.redis
    holds = redis.keys(f"filament:item:{pid}:*")
    assert len(holds) == 3
    for key in holds:
        (user,) = redis.hkeys(key)
        redis.hset(key, user, f"h{time.time() + 2:.3f}")  # as if the lease were about to end
    again = client.get(f"/api/v1/projects/{pid}/queue?limit=3", headers=owner).json()["data"]
    assert {i["id"] for i in again} == {i["id"] for i in mine}
    for key in holds:
        (mark,) = redis.hvals(key)
        assert float(mark[1:]) > time.time() + 5


def test_warming_loads_the_recently_labeled_projects_arrays(client, owner, run_jobs):
    from filament.cache import clear_all
    from filament.models import artifacts
    from filament.models.warmup import recent_projects, warm

    quiet = text_project(client, owner, synthetic_rows(6))
    busy = text_project(client, owner, synthetic_rows(12))
    run_jobs()
    for pid in (quiet, busy):
        listed = client.get(f"/api/v1/projects/{pid}/items", headers=owner).json()["data"]
        for item in listed[:4] if pid == quiet else listed[:8]:
            client.post(
                f"/api/v1/projects/{pid}/items/{item['id']}/annotations",
                headers=owner,
                json={"labels": [label_of(item["name"])]},
            )
    run_jobs()
    assert recent_projects(2) == [busy, quiet] and recent_projects(1) == [busy]
    clear_all()
    warm(1)
    assert list(artifacts._embedding_cache) == [(busy, None)]
    (scores,) = artifacts._score_cache.values()
    assert len(scores.item_ids) == 12 and scores.derived  # the queue's uncertainty too
    # clustered by the training job: a cluster per label and per item wanted (4 are left)
    assert scores.plan is not None and scores.plan.k == 8 + 4


def test_mlp_candidate_waits_for_the_labels_to_double(client, owner, run_jobs):
    # the head-training job cross-validates the MLP at 200 labels, then not again before 400
    # (heads.mlp_due): the versions' metrics carry the label count of the last try
    pid = text_project(client, owner, synthetic_rows(230))
    run_jobs()
    listed = client.get(f"/api/v1/projects/{pid}/items?limit=300", headers=owner).json()["data"]

    def label(items):
        for item in items:
            client.post(
                f"/api/v1/projects/{pid}/items/{item['id']}/annotations",
                headers=owner,
                json={"labels": [label_of(item["name"])]},
            )
        run_jobs()
        return client.get(f"/api/v1/projects/{pid}/models", headers=owner).json()["data"]

    first = max(label(listed[:200]), key=lambda m: m["version"])
    assert first["label_count"] == 200 and first["metrics"]["mlp_tried_at"] == 200
    latest = max(label(listed[200:220]), key=lambda m: m["version"])
    assert latest["label_count"] == 220 and latest["metrics"]["mlp_tried_at"] == 200
    assert "candidates" not in latest["metrics"]  # not tried: 220 < 2 x 200
