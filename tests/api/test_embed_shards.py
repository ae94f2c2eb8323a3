"""A large upload is embedded in shards that any worker takes (filament_worker.embed): every
item exactly once, one job row whose progress adds up, the result published as one matrix."""

import numpy as np

from tests.api.test_loop import synthetic_rows, text_project


def test_a_large_upload_is_embedded_in_shards(client, owner, run_jobs, monkeypatch):  # type: ignore[no-untyped-def]
    from filament.db.models import Item, Job
    from filament.db.session import session_scope
    from filament.models.artifacts import load_embeddings, matrix_prefix
    from filament.storage import get_storage
    from sqlmodel import col, select

    monkeypatch.setenv("FILAMENT_EMBED_SHARD_ITEMS", "64")
    from filament.core.settings import get_settings

    get_settings.cache_clear()
    pid = text_project(client, owner, synthetic_rows(300))
    run_jobs()
    with session_scope() as session:
        statuses = session.exec(select(Item.status).where(Item.project_id == pid)).all()
        rows = session.exec(
            select(Job).where(Job.project_id == pid, Job.type == "embed").order_by(col(Job.id))
        ).all()
    assert len(statuses) == 300 and set(statuses) == {"ready"}
    embeddings = load_embeddings(get_storage(), pid, None)
    assert len(embeddings.item_ids) == 300 == len(np.unique(embeddings.item_ids))
    assert isinstance(embeddings.vectors, np.memmap)  # published as one matrix
    assert any(get_storage().list(matrix_prefix(pid) + "/"))
    spans = [  # chunk files are named first-last id: each shard wrote its own
        [int(part) for part in key.rsplit("/", 1)[1].removesuffix(".npz").split("-")]
        for key in get_storage().list(f"projects/{pid}/embeddings/")
    ]
    assert len(spans) == 5 and all(last - first < 64 for first, last in spans)
    (row,) = rows
    assert row.status == "done" and row.progress == 1.0
    assert row.result == {"embedded": 300, "shards": 5}
    status = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()
    assert status["items_ready"] == 300
    get_settings.cache_clear()
