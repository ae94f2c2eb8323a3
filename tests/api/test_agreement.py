"""Agreement through the real stack: two annotators label the same items, the training job
computes and stores the figures, members read them with their supports."""

import pytest

from tests.api.test_loop import synthetic_rows, text_project
from tests.conftest import add_member

# 40 items, both annotators on each: (owner's label, annotator's label) x how many. By hand:
# p_o = 28/40 = 0.7; owner negative 24/40, annotator negative 20/40;
# p_e = 0.6 x 0.5 + 0.4 x 0.5 = 0.5; Cohen's kappa = (0.7 - 0.5) / 0.5 = 0.4
TABLE = [("negative", "negative")] * 16 + [("positive", "positive")] * 12
TABLE += [("negative", "positive")] * 8 + [("positive", "negative")] * 4


def _label_all(client, pid, headers, items, labels) -> None:  # type: ignore[no-untyped-def]
    for item, label in zip(items, labels, strict=True):
        answer = client.post(
            f"/api/v1/projects/{pid}/items/{item['id']}/annotations",
            headers=headers,
            json={"labels": [label]},
        )
        assert answer.status_code == 201


def test_two_annotators_kappa_is_stored_and_shown_to_members_only(client, owner, run_jobs):
    pid = text_project(client, owner, synthetic_rows(len(TABLE)), annotations_per_item=2)
    run_jobs()
    url = f"/api/v1/projects/{pid}/agreement"
    before = client.get(url, headers=owner).json()
    assert before["computed"] is False and before["items"] == 0 and before["message"]
    assert before["annotations_per_item"] == 2

    annotator = add_member(client, owner, pid, "b@example.com", "annotator")
    items = client.get(f"/api/v1/projects/{pid}/items?limit=100", headers=owner).json()["data"]
    _label_all(client, pid, owner, items, [a for a, _ in TABLE])
    _label_all(client, pid, annotator, items, [b for _, b in TABLE])
    run_jobs()

    got = client.get(url, headers=annotator)
    assert got.status_code == 200
    report = got.json()
    assert report["computed"] is True and report["message"] is None
    assert (report["items"], report["annotations"], report["annotators"]) == (40, 80, 2)
    kappa = report["cohen_kappa"]
    assert kappa["value"] == pytest.approx(0.4)
    assert (kappa["items"], kappa["pairs"]) == (40, 40)
    assert kappa["low"] < 0.4 < kappa["high"]
    assert report["overall"]["percent_agreement"]["value"] == pytest.approx(0.7)
    assert report["interval"] == "percentile bootstrap over items" and report["level"] == 0.95
    (pair,) = report["pairs"]
    assert {pair["a_name"], pair["b_name"]} == {"ann", "b"}
    assert pair["cohen_kappa"]["value"] == pytest.approx(0.4)
    assert [label["label"] for label in report["per_label"]] == ["negative", "positive"]
    by_name = {a["name"]: a for a in report["per_annotator"]}
    assert by_name["ann"]["items"] == 40
    # with two annotators, the others' majority is the other annotator
    assert by_name["ann"]["vs_consensus"]["cohen_kappa"]["value"] == pytest.approx(0.4)
    assert report["model_version"] is not None
    vs_model = by_name["b"]["vs_model"]
    assert vs_model is not None and vs_model["percent_agreement"]["items"] > 0
    assert len(report["history"]) == 1 and report["history"][0]["items"] == 40

    # one undo later the history has a second point, on 39 items
    client.delete(f"/api/v1/projects/{pid}/items/{items[0]['id']}/annotations", headers=annotator)
    run_jobs()
    history = client.get(url, headers=owner).json()["history"]
    assert [point["items"] for point in history] == [40, 39]

    # a viewer of another project, and a stranger, get 404
    other = text_project(client, owner, synthetic_rows(2))
    viewer = add_member(client, owner, other, "v@example.com", "viewer")
    assert client.get(f"/api/v1/projects/{other}/agreement", headers=viewer).status_code == 200
    assert client.get(url, headers=viewer).status_code == 404


def test_below_the_minimum_support_only_counts(client, owner, run_jobs):
    pid = text_project(client, owner, synthetic_rows(3), annotations_per_item=2)
    run_jobs()
    annotator = add_member(client, owner, pid, "b@example.com")
    items = client.get(f"/api/v1/projects/{pid}/items", headers=owner).json()["data"]
    _label_all(client, pid, owner, items, ["negative", "positive", "positive"])
    _label_all(client, pid, annotator, items[:2], ["negative", "negative"])
    run_jobs()
    report = client.get(f"/api/v1/projects/{pid}/agreement", headers=owner).json()
    assert report["computed"] and report["items"] == 2 and report["annotations"] == 4
    assert report["message"] == "2 items to compare; a figure needs 30"
    for estimate in (report["cohen_kappa"], *report["overall"].values()):
        assert estimate["value"] is None and estimate["low"] is None and estimate["items"] == 2
    assert report["history"][0]["krippendorff_alpha"]["value"] is None
