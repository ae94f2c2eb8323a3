"""Quality tools through the API with a real worker and the real default text backbone: likely
label errors, near-duplicates and their one-call labeling, "more like this", the items list's
sorts and preset views, the label forecast and stop advice; roles, other projects' ids, bad
input."""

import pytest
from sqlmodel import Session, select

from tests.api.test_loop import label_of, synthetic_rows, text_project
from tests.conftest import add_member, register

FLIPPED = ("i3", "i8")  # labeled with the other class
TWINS = [("d1", "THE FOOD WAS WONDERFUL AND 1"), ("d2", "The Food Was Wonderful And 1")]


def _settings(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    from filament.core.settings import get_settings

    for name, value in values.items():
        monkeypatch.setenv(f"FILAMENT_{name.upper()}", value)
    get_settings.cache_clear()


def _mark_audit(item_ids: list[int]) -> None:
    from filament.db.models import Item
    from filament.db.session import get_engine
    from sqlmodel import col, update

    with Session(get_engine()) as session:
        session.exec(update(Item).where(col(Item.id).in_(item_ids)).values(audit=True))
        session.commit()


def _wrong(name: str) -> str:
    return "negative" if label_of(name) == "positive" else "positive"


def _label(client, headers, pid: int, items: list[dict], wrong=FLIPPED) -> None:
    for item in items:
        label = _wrong(item["name"]) if item["name"] in wrong else label_of(item["name"])
        answer = client.post(
            f"/api/v1/projects/{pid}/items/{item['id']}/annotations",
            headers=headers,
            json={"labels": [label]},
        )
        assert answer.status_code == 201, answer.text


def _items(client, headers, pid: int, query: str = "") -> dict:
    answer = client.get(f"/api/v1/projects/{pid}/items?limit=500{query}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _project(client, owner, run_jobs, n: int = 60) -> tuple[int, dict[str, dict]]:
    pid = text_project(client, owner, synthetic_rows(n) + TWINS)
    run_jobs()
    return pid, {item["name"]: item for item in _items(client, owner, pid)["data"]}


def test_likely_label_errors_are_listed_and_sortable(client, owner, run_jobs):
    pid, by_name = _project(client, owner, run_jobs)
    labeled = [by_name[f"i{i}"] for i in range(40)]
    _label(client, owner, pid, labeled)
    run_jobs()
    page = client.get(f"/api/v1/projects/{pid}/label-issues", headers=owner).json()
    assert page["checked"] == 40 and page["model_version"] == 1
    top = page["data"][: len(FLIPPED)]
    assert {issue["item"]["name"] for issue in top} == set(FLIPPED), page
    for issue in top:
        name = issue["item"]["name"]
        assert issue["given"] == [_wrong(name)] and issue["model_thinks"] == [label_of(name)]
        assert issue["probability"] > issue["given_probability"]
        assert issue["score"] == pytest.approx(1 - issue["given_probability"], abs=2e-3)
        assert issue["annotators"] == 1
        assert issue["votes"] == [{"labels": [_wrong(name)], "count": 1, "annotators": ["ann"]}]
    assert [i["score"] for i in page["data"]] == sorted(
        (i["score"] for i in page["data"]), reverse=True
    )
    # the version's metrics say what was checked
    status = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()
    assert status["metrics"]["label_issues"]["checked"] == 40

    # the items list: the score per item, sortable; the preset view in the same order
    ranked = _items(client, owner, pid, "&sort=-label_error")["data"]
    assert {item["name"] for item in ranked[:2]} == set(FLIPPED)
    scored = [item["label_error_score"] for item in ranked if item["label_error_score"] is not None]
    assert len(scored) == 40 and scored == sorted(scored, reverse=True)
    assert all(item["label_error_score"] is None for item in ranked[40:])  # unlabeled: last
    assert ranked[0]["likely_error"] is True and ranked[0]["annotators"] == ["ann"]
    assert ranked[0]["source"] == "human"
    view = _items(client, owner, pid, "&quality=likely_error")
    assert view["count"] == page["count"]
    assert [i["id"] for i in view["data"]] == [i["item"]["id"] for i in page["data"]]
    # filters combine with the view: the flipped items carry the label they were given
    negative = _items(client, owner, pid, "&quality=likely_error&label=negative")["data"]
    assert all(item["labels"] == ["negative"] for item in negative)

    # uncertainty and confidence sort both ways, unscored items never before scored ones
    by_uncertainty = _items(client, owner, pid, "&sort=-uncertainty")["data"]
    values = [item["uncertainty"] for item in by_uncertainty]
    assert values == sorted(values, reverse=True)
    rising = [i["confidence"] for i in _items(client, owner, pid, "&sort=confidence")["data"]]
    assert rising == sorted(rising) and all(0.5 <= c <= 1 for c in rising)
    # second page by offset continues the order
    first = _items(client, owner, pid, "&sort=confidence")["data"]
    second = client.get(
        f"/api/v1/projects/{pid}/items?sort=confidence&limit=10&offset=10", headers=owner
    ).json()
    assert [i["id"] for i in second["data"]] == [i["id"] for i in first[10:20]]

    # "label disagrees with model": exactly the labeled items whose label the list shows
    # differs from the prediction it shows
    listed = _items(client, owner, pid, "&status=labeled")["data"]
    expected = {i["id"] for i in listed if i["labels"] != i["prediction"]["labels"]}
    disagree = _items(client, owner, pid, "&quality=label_disagrees")
    assert {i["id"] for i in disagree["data"]} == expected and disagree["count"] == len(expected)

    # bad input: 422 with a detail, never a 500
    for query in (
        "sort=nope",
        "sort=--uncertainty",
        "quality=conflicts_x",
        "sort=uncertainty&after=3",
    ):
        answer = client.get(f"/api/v1/projects/{pid}/items?{query}", headers=owner)
        assert answer.status_code == 422 and answer.json()["detail"], query
    assert (
        client.get(f"/api/v1/projects/{pid}/label-issues?limit=0", headers=owner).status_code == 422
    )


def test_near_duplicates_group_and_take_a_label_in_one_call(client, owner, run_jobs):
    from filament.db.models import Annotation, AnnotationSource
    from filament.db.session import get_engine

    pid, by_name = _project(client, owner, run_jobs, n=20)
    d1, d2 = by_name["d1"]["id"], by_name["d2"]["id"]
    # i1 is "the food was wonderful and 1": the same sentence for an uncased model
    i1 = by_name["i1"]["id"]
    group = client.get(f"/api/v1/projects/{pid}/items/{d1}/duplicates", headers=owner).json()
    assert {item["id"] for item in group["data"]} == {d2, i1} and group["threshold"] == 0.98
    assert by_name["d1"]["duplicates"] == 2 and by_name["i2"]["duplicates"] == 0
    view = _items(client, owner, pid, "&quality=near_duplicate")
    assert [item["id"] for item in view["data"]] == sorted([d1, d2, i1])
    assert view["count"] == 3

    # a teammate labeled i1 (one annotator per item); an annotator's queue serves the twins
    # with their count (the labeler offers the label to them with one key), the annotator
    # labels d1 and gives its duplicates the same label: d2 (held by the annotator) takes
    # it, i1 is full and skipped, as the queue would skip it
    annotator = add_member(client, owner, pid, "a@example.com", "annotator")
    _label(client, owner, pid, [by_name["i1"]], wrong=())
    queued = client.get(f"/api/v1/projects/{pid}/queue?limit=50", headers=annotator).json()
    counts = {item["name"]: item["duplicates"] for item in queued["data"]}
    assert counts["d1"] == counts["d2"] == 2 and counts["i2"] == 0 and "i1" not in counts
    _label(client, annotator, pid, [by_name["d1"]], wrong=())
    url = f"/api/v1/projects/{pid}/items/{d1}/duplicates/label"
    answer = client.post(url, headers=annotator, json={"labels": ["positive"]})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"labeled": [d2], "skipped": [i1]}
    with Session(get_engine()) as session:
        rows = session.exec(select(Annotation).where(Annotation.item_id == d2)).all()
    assert [(row.labels, row.source) for row in rows] == [
        (["positive"], AnnotationSource.duplicate)
    ]
    detail = client.get(f"/api/v1/projects/{pid}/items/{d2}", headers=owner).json()
    assert detail["annotations"][0]["source"] == "duplicate" and detail["duplicates"] == 2
    assert detail["source"] == "duplicate" and detail["annotators"] == ["a"]
    # again: nothing left to label (the caller labeled d2 now)
    again = client.post(url, headers=annotator, json={"labels": ["positive"]}).json()
    assert again == {"labeled": [], "skipped": sorted([d2, i1])}
    # someone else's hold counts too: the owner may not label d1's twins the annotator holds
    held = client.post(
        f"/api/v1/projects/{pid}/items/{by_name['i2']['id']}/duplicates/label",
        headers=owner,
        json={"labels": ["negative"]},
    )
    assert held.json() == {"labeled": [], "skipped": []}  # i2 has no near-duplicates

    # roles, ids of other projects, bad input
    viewer = add_member(client, owner, pid, "v@example.com", "viewer")
    assert client.post(url, headers=viewer, json={"labels": ["positive"]}).status_code == 403
    assert (
        client.get(f"/api/v1/projects/{pid}/items/{d1}/duplicates", headers=viewer).status_code
        == 200
    )
    assert client.post(url, headers=owner, json={"labels": ["meh"]}).status_code == 422
    assert client.post(url, headers=owner, json={"labels": []}).status_code == 422
    assert client.post(url, headers=owner, json={}).status_code == 422
    other = text_project(client, owner, [("x1", "another project")])
    run_jobs()
    foreign = f"/api/v1/projects/{other}/items/{d1}/duplicates"
    assert client.get(foreign, headers=owner).status_code == 404
    assert (
        client.post(foreign + "/label", headers=owner, json={"labels": ["positive"]}).status_code
        == 404
    )
    stranger = register(client, "s@example.com")
    assert (
        client.get(f"/api/v1/projects/{pid}/items/{d1}/duplicates", headers=stranger).status_code
        == 404
    )
    assert client.post(url, headers=stranger, json={"labels": ["positive"]}).status_code == 404


def test_more_like_this_from_an_item_and_from_a_text(client, owner, run_jobs, monkeypatch):
    pid, by_name = _project(client, owner, run_jobs, n=30)
    d1 = by_name["d1"]["id"]
    answer = client.get(f"/api/v1/projects/{pid}/items/{d1}/similar?limit=5", headers=owner)
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["embedded"] == 32 and len(page["data"]) == 5
    names = [entry["item"]["name"] for entry in page["data"]]
    assert "d1" not in names and set(names[:2]) == {"d2", "i1"}
    assert page["data"][0]["similarity"] > 0.99
    sims = [entry["similarity"] for entry in page["data"]]
    assert sims == sorted(sims, reverse=True)

    typed = client.post(
        f"/api/v1/projects/{pid}/similar",
        headers=owner,
        json={"text": "it was horrible", "limit": 4},
    )
    assert typed.status_code == 200, typed.text
    texts = [entry["item"]["text"] for entry in typed.json()["data"]]
    # the three "horrible" sentences (i2, i12, i22) first among 30 sentences of ten words
    assert len(texts) == 4 and "horrible" in texts[0], texts
    assert sum("horrible" in text for text in texts) == 3, texts

    viewer = add_member(client, owner, pid, "v@example.com", "viewer")
    assert (
        client.post(
            f"/api/v1/projects/{pid}/similar", headers=viewer, json={"text": "x"}
        ).status_code
        == 200
    )
    # bad input
    url = f"/api/v1/projects/{pid}/similar"
    assert client.post(url, headers=owner, json={"text": ""}).status_code == 422
    assert client.post(url, headers=owner, json={"text": "x", "limit": 0}).status_code == 422
    _settings(monkeypatch, max_text_chars="10")
    long = client.post(url, headers=owner, json={"text": "x" * 11})
    assert long.status_code == 422 and "text" in long.json()["detail"]
    assert (
        client.get(
            f"/api/v1/projects/{pid}/items/{d1}/similar?limit=999", headers=owner
        ).status_code
        == 422
    )
    # an image project has no text to search by
    images = client.post(
        "/api/v1/projects",
        headers=owner,
        json={"name": "I", "task": "image_classification", "labels": ["a", "b"]},
    ).json()["id"]
    refused = client.post(f"/api/v1/projects/{images}/similar", headers=owner, json={"text": "x"})
    assert refused.status_code == 422 and refused.json()["detail"]
    # other projects' items, strangers
    assert (
        client.get(f"/api/v1/projects/{images}/items/{d1}/similar", headers=owner).status_code
        == 404
    )
    stranger = register(client, "s@example.com")
    assert (
        client.get(f"/api/v1/projects/{pid}/items/{d1}/similar", headers=stranger).status_code
        == 404
    )
    assert client.post(url, headers=stranger, json={"text": "x"}).status_code == 404


def test_forecast_and_stop_advice_follow_the_versions(client, owner, run_jobs, monkeypatch):
    _settings(monkeypatch, metrics_min_support="5", stop_check_labels="6", stop_window="2")
    pid, by_name = _project(client, owner, run_jobs, n=60)
    # every other item is an audit draw: versions get audited figures from 5 audit labels on
    _mark_audit([by_name[f"i{i}"]["id"] for i in range(0, 60, 2)])
    answer = client.get(f"/api/v1/projects/{pid}/forecast", headers=owner).json()
    assert answer["basis"] is None and "needs an audited accuracy at 4" in answer["message"]
    advice = client.get(f"/api/v1/projects/{pid}/stop-advice", headers=owner).json()
    assert advice["history"] == [] and not advice["stopped"] and advice["stop_set"] == 0
    for end in (10, 16, 22, 28, 34):
        _label(
            client,
            owner,
            pid,
            [by_name[f"i{i}"] for i in range(end - 6 if end > 10 else 0, end)],
            wrong=(),
        )
        run_jobs()
    forecast = client.get(f"/api/v1/projects/{pid}/forecast", headers=owner).json()
    assert forecast["basis"] == "audit" and forecast["metric"] == "accuracy"
    assert [p["labels"] for p in forecast["points"]] == [10, 16, 22, 28, 34]
    assert forecast["labels_now"] == 34 and forecast["message"]
    assert 0 < forecast["ceiling"]["value"] <= 1 and forecast["law"]["b"] >= 0
    # an easy task: doubling the labels adds nothing
    assert forecast["flattened"] and forecast["gain_if_doubled"] < 0.01, forecast
    assert forecast["message"].startswith("The curve has flattened"), forecast
    aimed = client.get(f"/api/v1/projects/{pid}/forecast?target=0.5", headers=owner).json()
    assert aimed["target"] == 0.5 and aimed["more_labels"]["value"] == 0
    assert (
        client.get(f"/api/v1/projects/{pid}/forecast?target=1.5", headers=owner).status_code == 422
    )

    advice = client.get(f"/api/v1/projects/{pid}/stop-advice", headers=owner).json()
    assert advice["stop_set"] == len(by_name) - 10  # the unlabeled items at the first check
    assert [p["labels"] for p in advice["history"]] == [10, 16, 22, 28, 34]
    assert (
        advice["history"][0]["kappa"] is None and advice["history"][0]["reference_version"] is None
    )
    assert [p["reference_version"] for p in advice["history"][1:]] == [1, 2, 3, 4]
    assert all(p["compared"] == advice["stop_set"] for p in advice["history"][1:])
    kappas = [p["kappa"] for p in advice["history"][1:]]
    # separable sentences: the calls on the stop set settle as soon as both words are known
    assert kappas[-2:] == [1.0, 1.0] and advice["stopped"], advice
    assert "stopped changing" in advice["message"]
    assert advice["fired_at"]["labels"] <= 34

    stranger = register(client, "s@example.com")
    for path in ("forecast", "stop-advice", "label-issues"):
        assert client.get(f"/api/v1/projects/{pid}/{path}", headers=stranger).status_code == 404
    viewer = add_member(client, owner, pid, "v@example.com", "viewer")
    for path in ("forecast", "stop-advice", "label-issues"):
        assert client.get(f"/api/v1/projects/{pid}/{path}", headers=viewer).status_code == 200
