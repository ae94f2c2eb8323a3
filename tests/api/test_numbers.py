"""Honest numbers through the API: audited and cross-validated metrics with their supports,
suggestions whose threshold rests on a precision bound over human labels, prediction export."""

import csv
import io
import json

import pytest
from sqlmodel import Session, col, select, update

from tests.api.test_loop import label_of, synthetic_rows, text_project


def _settings(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    from filament.core.settings import get_settings

    for name, value in values.items():
        monkeypatch.setenv(f"FILAMENT_{name.upper()}", value)
    get_settings.cache_clear()


def _label(client, headers, pid: int, items: list[dict]) -> None:
    for item in items:
        answer = client.post(
            f"/api/v1/projects/{pid}/items/{item['id']}/annotations",
            headers=headers,
            json={"labels": [label_of(item["name"])]},
        )
        assert answer.status_code == 201


def _mark_audit(item_ids: list[int]) -> None:
    from filament.db.models import Item
    from filament.db.session import get_engine

    with Session(get_engine()) as session:
        session.exec(update(Item).where(col(Item.id).in_(item_ids)).values(audit=True))
        session.commit()


def _items(client, headers, pid: int) -> list[dict]:
    return client.get(f"/api/v1/projects/{pid}/items?limit=500", headers=headers).json()["data"]


def test_status_reports_audit_beside_cross_validation(client, owner, run_jobs, monkeypatch):
    pid = text_project(client, owner, synthetic_rows(60))
    run_jobs()
    items = _items(client, owner, pid)
    _mark_audit([item["id"] for item in items[:12]])
    _label(client, owner, pid, items[:40])
    run_jobs()
    metrics = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()["metrics"]
    # the existing figures stay, now said to be cross-validated
    assert metrics["accuracy"] > 0.9 and metrics["evaluation"] == "cross_validated"
    cv = metrics["cross_validated"]
    assert cv["support"] == 40 and cv["accuracy"]["low"] <= cv["accuracy"]["value"]
    # 12 audit labels, below the minimum support of 30: counts only
    assert metrics["audit"] == {"support": 12, "min_support": 30, "label_counts": [6, 6]}
    assert metrics["judgement"]["trust"] == "cross_validated"

    _settings(monkeypatch, metrics_min_support="10")
    _label(client, owner, pid, items[40:41])
    run_jobs()
    metrics = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()["metrics"]
    audit = metrics["audit"]
    assert audit["support"] == 12 and audit["accuracy"]["method"] == "wilson"
    assert audit["accuracy"]["low"] <= audit["accuracy"]["value"] <= audit["accuracy"]["high"]
    assert metrics["judgement"]["trust"] == "audit"
    # the pool-wide figure: the 29 queue-chosen labels counted, the rest of the 60 items
    # estimated from the 12 audit labels and the model's confidence; it is the one judged
    pool = audit["pool_accuracy"]
    assert pool["method"] == "prediction-powered" and pool["audit_labels"] == 12
    assert (pool["queue_labels"], pool["pool_items"]) == (29, 60)
    assert 0 <= pool["low"] <= pool["value"] <= pool["high"] <= 1
    assert pool["design_effect"] >= 0.5
    assert metrics["judgement"]["figure"] == "pool_accuracy"


def test_suggestions_wait_for_human_labels_and_promise_a_bound(
    client, owner, run_jobs, monkeypatch
):
    pid = text_project(client, owner, synthetic_rows(160), suggestion_precision=0.9)
    run_jobs()
    items = _items(client, owner, pid)
    _label(client, owner, pid, items[:40])
    run_jobs()
    page = client.get(f"/api/v1/projects/{pid}/suggestions", headers=owner).json()
    # 40 human labels, 50 needed: nothing offered, and the page says why
    assert page["data"] == [] and page["calibration_items"] == 40 and page["min_labels"] == 50
    assert page["reachable_precision"] is None
    assert "50 human labels" in page["detail"]

    _label(client, owner, pid, items[40:70])
    run_jobs()
    page = client.get(f"/api/v1/projects/{pid}/suggestions?limit=20", headers=owner).json()
    assert page["calibration_items"] == 70 and page["confidence_level"] == 0.95
    assert page["data"], page
    # the promise is the bound, not the point estimate, and it says what it means in items
    assert 0.9 <= page["precision_lower_bound"] <= page["calibrated_precision"]
    assert page["precision_lower_bound"] <= page["reachable_precision"]
    assert page["calibration_support"] >= 29  # 0.05 ** (1 / 29) = 0.902: the fewest for 90 %
    assert page["expected_wrong"] == pytest.approx(
        len(page["data"]) * (1 - page["precision_lower_bound"]), abs=0.06
    )

    # confirmed suggestions train the model but never calibrate the next threshold
    review = [{"item_id": s["id"], "accept": True} for s in page["data"]]
    client.post(f"/api/v1/projects/{pid}/suggestions/review", headers=owner, json={"items": review})
    run_jobs()
    status = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()
    assert status["labels_in_model"] == 70 + len(review)
    assert status["metrics"]["calibration"]["human_labels"] == 70


def test_an_unreachable_target_says_what_the_labels_back(client, owner, run_jobs):
    # 99 % needs 299 all-right held-out labels at 95 %; 60 back at most 0.05 ** (1 / 60) = 95.1 %
    pid = text_project(client, owner, synthetic_rows(120), suggestion_precision=0.99)
    run_jobs()
    _label(client, owner, pid, _items(client, owner, pid)[:60])
    run_jobs()
    page = client.get(f"/api/v1/projects/{pid}/suggestions", headers=owner).json()
    assert page["data"] == [] and page["precision_lower_bound"] is None
    assert 0.5 < page["reachable_precision"] <= 0.05 ** (1 / 60) + 1e-9
    assert f"{page['reachable_precision']:.1%}" in page["detail"]


def test_a_point_estimate_threshold_offers_nothing(client, owner, run_jobs):
    """A version calibrated before bounds existed ("100 %" on five items) is not trusted."""
    from filament.db.models import ModelVersion
    from filament.db.session import get_engine

    pid = text_project(client, owner, synthetic_rows(40))
    run_jobs()
    _label(client, owner, pid, _items(client, owner, pid)[:20])
    run_jobs()
    with Session(get_engine()) as session:
        model = session.exec(select(ModelVersion).where(ModelVersion.project_id == pid)).first()
        model.metrics = dict(
            model.metrics, calibration={"target": 0.97, "threshold": 0.5, "precision": 1.0}
        )
        session.add(model)
        session.commit()
    page = client.get(f"/api/v1/projects/{pid}/suggestions", headers=owner).json()
    assert page["data"] == [] and "no precision bound" in page["detail"]
    status = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()
    assert status["suggested"] == 0


def test_export_predictions_for_every_item(client, owner, run_jobs):
    pid = text_project(client, owner, synthetic_rows(30))
    run_jobs()
    url = f"/api/v1/projects/{pid}/export"
    assert client.get(f"{url}?content=predictions", headers=owner).status_code == 409
    items = _items(client, owner, pid)
    _label(client, owner, pid, items[:10])
    run_jobs()
    version = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()["model_version"]
    answer = client.get(f"{url}?format=csv&content=predictions", headers=owner)
    assert answer.status_code == 200
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == 30 and {int(r["item_id"]) for r in rows} == {i["id"] for i in items}
    first = rows[0]
    assert list(first)[:7] == [
        "item_id",
        "name",
        "dataset",
        "text",
        "predicted",
        "confidence",
        "model_version",
    ]
    assert int(first["model_version"]) == version
    p = float(first["p_positive"])
    assert first["predicted"] == ("positive" if p >= 0.5 else "negative")
    # each class's probability is stored as float16 (spacing 4.9e-4 in [0.5, 1)) and printed
    # to 4 decimals: the stored p_negative may differ from 1 - p_positive by up to ~4e-4
    assert float(first["confidence"]) == pytest.approx(max(p, 1 - p), abs=6e-4)
    lines = client.get(f"{url}?format=jsonl&content=predictions", headers=owner).text.splitlines()
    record = json.loads(lines[0])
    assert len(lines) == 30 and record["model_version"] == version
    assert set(record["scores"]) == {"negative", "positive"}
    # the labels export is what it was
    labels = client.get(f"{url}?format=csv", headers=owner).text.splitlines()
    assert labels[0] == "item_id,name,dataset,text,labels,annotator,source,created_at"
    assert len(labels) == 11
    assert client.get(f"{url}?content=nope", headers=owner).status_code == 422
