"""The embed job: every new item is embedded once with the project's frozen backbone."""

from typing import Any

import numpy as np
from filament import jobs
from filament.core.settings import get_settings
from filament.db.models import Annotation, Item, ItemStatus, JobStatus, Project
from filament.db.session import get_engine, refresh_statistics, session_scope
from filament.jobs.rows import create_job, update_job
from filament.labeling.queue import plan_cold_start
from filament.ml.embedder import load_embedder
from filament.models.artifacts import load_embeddings, save_cold_plan, save_embedding_chunk
from filament.models.encoders import encode, item_inputs
from filament.models.warmup import announce
from filament.quality.duplicates import record_chunk
from filament.storage import get_storage
from sqlmodel import col, func, select, update

from filament_worker.common import (
    Progress,
    failure_message,
    in_thread,
    log,
    project_changed,
    project_run,
    sync_redis,
)

CHUNK = 512
REPLAN_GROWTH = 1.25  # the cold-start plan is made again when the pool has grown this much


def _items(project_id: int, status: ItemStatus, after_id: int) -> list[Item]:
    with session_scope() as session:
        return list(
            session.exec(
                select(Item)
                .where(
                    Item.project_id == project_id, Item.status == status, col(Item.id) > after_id
                )
                .order_by(col(Item.id))
                .limit(CHUNK)
            ).all()
        )


def embed_items(
    project: Project, status: ItemStatus, generation: int | None, progress: Progress, total: int
) -> int:
    """Embed every item of `status` in chunks into `generation`'s embeddings; marks them ready.
    Chunks are named by their ids, so a re-run overwrites rather than duplicates."""
    storage = get_storage()
    weights_dir = get_settings().weights_dir
    done, last_id, planned_for, before = 0, 0, 0, 0
    while batch := _items(project.id or 0, status, last_id):
        last_id = batch[-1].id or 0
        ids = np.array([item.id for item in batch], dtype=np.int64)
        vectors = encode(storage, project, item_inputs(storage, batch), weights_dir, generation)
        save_embedding_chunk(storage, project.id or 0, ids, vectors, generation)
        _near_duplicates(project, generation, ids)
        if status != ItemStatus.ready:
            embedded = before + done + len(batch)  # what the pool holds now, if known
            if not planned_for or embedded >= planned_for * REPLAN_GROWTH:
                planned_for = _plan_cold_start(project, generation)
                before = planned_for - done - len(batch)
            with session_scope() as session:
                session.exec(
                    update(Item)
                    .where(col(Item.id).in_(ids.tolist()))
                    .values(status=ItemStatus.ready)
                )
                session.commit()
            project_changed(project.id or 0)
        done += len(batch)
        progress(done, total, f"embedded {done:,} of {total:,} items")
    if done:
        announce(sync_redis(), project.id or 0)
    return done


def _near_duplicates(project: Project, generation: int | None, ids: np.ndarray) -> None:
    """Pairs of the chunk with every item embedded so far (`filament.quality.duplicates`). A
    failure is logged: the embeddings are what counts, the pairs are a help."""
    try:
        record_chunk(
            get_storage(), project.id or 0, generation, ids, get_settings().near_duplicate_cosine
        )
    except Exception:
        log.exception("project %s: near-duplicates of a chunk not recorded", project.id)


def _plan_cold_start(project: Project, generation: int | None) -> int:
    """Store the queue's clustering for the pool as it is now, so that no annotator's request
    clusters it before the first model; returns how many items it covers."""
    storage = get_storage()
    embeddings = load_embeddings(storage, project.id or 0, generation)
    embedded = len(embeddings.item_ids)
    rng = np.random.default_rng([project.id or 0, embedded])
    save_cold_plan(storage, project.id or 0, generation, plan_cold_start(embeddings, rng), embedded)
    announce(sync_redis(), project.id or 0)  # the API processes load the new arrays now
    return embedded


def run_embed(project_id: int) -> bool:
    """Embed the project's pending items; returns whether the project has labels."""
    with session_scope() as session:
        project = session.get(Project, project_id)
        if project is None:
            return False
        total = session.exec(
            select(func.count()).where(
                Item.project_id == project_id, Item.status == ItemStatus.pending
            )
        ).one()
        has_labels = (
            session.exec(
                select(Annotation.id).where(Annotation.project_id == project_id).limit(1)
            ).first()
            is not None
        )
    if total == 0:
        return has_labels
    embedder = load_embedder(project.backbone, get_settings().weights_dir)
    job_id = create_job(
        project_id, jobs.EMBED, f"embedding {total:,} items", device=str(embedder.device)
    )
    try:
        done = embed_items(
            project, ItemStatus.pending, project.embedding_version, Progress(job_id), total
        )
    except Exception as error:
        update_job(
            job_id, status=JobStatus.failed, message=failure_message("embedding", job_id, error)
        )
        raise
    # marking items ready rewrote their rows: fresh statistics and visibility map again
    refresh_statistics(get_engine(), Item.__tablename__)
    update_job(
        job_id,
        status=JobStatus.done,
        progress=1.0,
        message=f"embedded {done:,} items",
        result={"embedded": done},
    )
    log.info("project %s: embedded %s items", project_id, done)
    return has_labels


async def embed(ctx: dict[str, Any], project_id: int) -> None:
    async with project_run(ctx["redis"], jobs.EMBED, project_id):
        has_labels = await in_thread(run_embed, project_id)
    if has_labels:
        await jobs.request_project_job(ctx["redis"], jobs.TRAIN_HEAD, project_id)
