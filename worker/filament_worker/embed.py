"""The embed job: every new item is embedded once with the project's frozen backbone.

A large upload is split into **shards** (`FILAMENT_EMBED_SHARD_ITEMS` items, by id range) that
any worker takes, on the GPU queue when a GPU worker is connected: ten workers embed one
project ten times as fast as one. The project's embed run (one at a time, under its lock) only
coordinates: it enqueues the shards, adds up their progress from the database, re-plans the
cold start as the pool grows, and publishes the result (the consolidated matrix, the
announcement, the training request). A shard writes chunks named by their ids and marks its
items ready, so a shard run twice (a killed worker's, retried) overwrites rather than
duplicates, and the run's progress counts items, not shards.
"""

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from filament import jobs
from filament.core.settings import get_settings
from filament.db.models import Annotation, Item, ItemStatus, JobStatus, Project
from filament.db.session import get_engine, refresh_statistics, session_scope
from filament.jobs.metrics import record_embedding
from filament.jobs.rows import create_job, update_job
from filament.labeling.queue import plan_cold_start
from filament.ml.embedder import load_embedder
from filament.models.artifacts import (
    consolidate,
    load_embeddings,
    save_cold_plan,
    save_embedding_chunk,
)
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


# one forward pass at a time per worker process: shards running side by side in one worker
# would only split its cores between them (other workers are what adds speed)
_forward = threading.Lock()


def _items(
    project_id: int, status: ItemStatus, after_id: int, last_id: int | None = None
) -> list[Item]:
    with session_scope() as session:
        query = select(Item).where(
            Item.project_id == project_id, Item.status == status, col(Item.id) > after_id
        )
        if last_id is not None:
            query = query.where(col(Item.id) <= last_id)
        return list(session.exec(query.order_by(col(Item.id)).limit(CHUNK)).all())


def embed_items(
    project: Project,
    status: ItemStatus,
    generation: int | None,
    progress: Progress | None,
    total: int,
    id_range: tuple[int, int] | None = None,
) -> int:
    """Embed every item of `status` (within `id_range`, a shard's) in chunks into
    `generation`'s embeddings; marks them ready. Chunks are named by their ids, so a re-run
    overwrites rather than duplicates. A whole run (no range) also plans the cold start as the
    pool grows and publishes the matrix; a shard leaves both to its coordinator."""
    storage = get_storage()
    weights_dir = get_settings().weights_dir
    whole = id_range is None
    after, last = (0, None) if id_range is None else (id_range[0] - 1, id_range[1])
    done, planned_for, before = 0, 0, 0
    in_flight = _in_flight_reporter(project.id or 0, id_range)
    while batch := _items(project.id or 0, status, after, last):
        after = batch[-1].id or 0
        ids = np.array([item.id for item in batch], dtype=np.int64)
        inputs = item_inputs(storage, batch)

        # per forward batch (32 images, 64 texts), not per chunk of CHUNK items: an upload of
        # a few hundred items is one chunk, and its bar would sit at 0 % until the end
        def batch_done(rows: int, _: int, done: int = done) -> None:
            if progress is not None:
                progress(done + rows, total, f"embedded {done + rows:,} of {total:,} items")
            elif in_flight is not None:
                in_flight(rows)

        with _forward:
            started = time.monotonic()
            vectors = encode(storage, project, inputs, weights_dir, generation, batch_done)
            # the forward pass alone: /metrics' embedding throughput (filament.jobs.metrics)
            seconds = time.monotonic() - started
        record_embedding(sync_redis(), project.backbone, len(batch), seconds)
        save_embedding_chunk(storage, project.id or 0, ids, vectors, generation)
        _near_duplicates(project, generation, ids)
        if in_flight is not None:
            # before the rows turn ready: the coordinator may then count the chunk neither
            # in flight nor ready for one poll, never twice (its bar never runs ahead)
            in_flight(0)
        if status != ItemStatus.ready:
            embedded = before + done + len(batch)  # what the pool holds now, if known
            if whole and (not planned_for or embedded >= planned_for * REPLAN_GROWTH):
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
        if progress is not None:
            progress(done, total, f"embedded {done:,} of {total:,} items")
    if done and whole:
        publish(project, generation)
    return done


def in_flight_key(project_id: int) -> str:
    """A Redis hash of the project's running shards: items each has embedded in its current
    chunk but not yet marked ready (what `pending_count` cannot see yet)."""
    return f"filament:embed-in-flight:{project_id}"


def _in_flight_reporter(
    project_id: int, id_range: tuple[int, int] | None
) -> Callable[[int], None] | None:
    """A shard's report of its chunk's embedded rows, for its coordinator's progress; None
    for a whole run (it writes its own job row)."""
    if id_range is None:
        return None
    key, field = in_flight_key(project_id), f"{id_range[0]}-{id_range[1]}"

    def report(rows: int) -> None:
        try:
            redis = sync_redis()
            redis.hset(key, field, rows)
            redis.expire(key, 3600)  # a run whose coordinator died leaves nothing behind
        except Exception:  # progress is a help: Redis restarting must not fail the shard
            log.warning("project %s: shard %s could not report its progress", project_id, field)

    return report


def in_flight_count(project_id: int) -> int:
    """Items the project's shards have embedded but not yet marked ready."""
    values = sync_redis().hvals(in_flight_key(project_id))
    return sum(int(value) for value in values)  # type: ignore[union-attr]


def publish(project: Project, generation: int | None) -> None:
    """The end of a run: one matrix that the API processes memory-map
    (filament.models.artifacts), then tell them."""
    consolidate(get_storage(), project.id or 0, generation)
    announce(sync_redis(), project.id or 0)


def shard_ranges(project_id: int, size: int) -> list[tuple[int, int]]:
    """The project's pending items as id ranges of `size` items each."""
    with session_scope() as session:
        ids = session.exec(
            select(Item.id)
            .where(Item.project_id == project_id, Item.status == ItemStatus.pending)
            .order_by(col(Item.id))
        ).all()
    return [(ids[i] or 0, ids[min(i + size, len(ids)) - 1] or 0) for i in range(0, len(ids), size)]


def pending_count(project_id: int, up_to: int | None = None) -> int:
    """The project's pending items (with ids up to `up_to`: those a run's shards cover)."""
    with session_scope() as session:
        query = select(func.count()).where(
            Item.project_id == project_id, Item.status == ItemStatus.pending
        )
        if up_to is not None:
            query = query.where(col(Item.id) <= up_to)
        return session.exec(query).one()


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


def has_labels(project_id: int) -> bool:
    with session_scope() as session:
        labeled = session.exec(
            select(Annotation.id).where(Annotation.project_id == project_id).limit(1)
        ).first()
    return labeled is not None


def run_embed(project_id: int) -> bool:
    """Embed the project's pending items in this worker; returns whether the project has
    labels."""
    with session_scope() as session:
        project = session.get(Project, project_id)
        if project is None:
            return False
    total = pending_count(project_id)
    if total == 0:
        return has_labels(project_id)
    embedder = load_embedder(project.backbone, get_settings().weights_dir)
    job_id = create_job(
        project_id, jobs.EMBED, f"embedding {total:,} items", device=str(embedder.device)
    )
    try:
        done = embed_items(
            project,
            ItemStatus.pending,
            project.embedding_version,
            Progress(job_id, unit="items"),
            total,
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
    return has_labels(project_id)


async def run_sharded(redis: Any, project_id: int, shard: int) -> bool | None:
    """Embed the project's pending items as shard jobs that any worker takes, waiting for
    them; None when the upload is small enough for one worker (`run_embed` then)."""
    ranges = await in_thread(shard_ranges, project_id, shard)
    if len(ranges) < 2:
        return None
    with session_scope() as session:
        project = session.get(Project, project_id)
        if project is None:
            return False
    up_to = ranges[-1][1]  # items uploaded meanwhile are the next run's
    total = await in_thread(pending_count, project_id, up_to)
    gpu = await jobs.gpu_worker_connected(redis)
    job_id = create_job(
        project_id,
        jobs.EMBED,
        f"embedding {total:,} items in {len(ranges)} parts",
        device="gpu" if gpu else "cpu",
    )
    queue = jobs.GPU_QUEUE if gpu else jobs.CPU_QUEUE
    await redis.delete(in_flight_key(project_id))  # a killed run's shards reported there
    names = [f"{jobs.EMBED_SHARD}:{project_id}:{first}-{last}" for first, last in ranges]
    for (first, last), name in zip(ranges, names, strict=True):
        await jobs.enqueue(
            redis, jobs.EMBED_SHARD, project_id, first, last, job_id=name, queue=queue
        )
    try:
        await _wait_for_shards(redis, project, job_id, ranges, names, queue, total)
    except Exception as error:
        update_job(
            job_id, status=JobStatus.failed, message=failure_message("embedding", job_id, error)
        )
        raise
    update_job(
        job_id,
        status=JobStatus.done,
        progress=1.0,
        message=f"embedded {total:,} items",
        result={"embedded": total, "shards": len(ranges)},
    )
    return await in_thread(has_labels, project_id)


async def _wait_for_shards(
    redis: Any,
    project: Project,
    job_id: int,
    ranges: list[tuple[int, int]],
    names: list[str],
    queue: str,
    total: int,
) -> None:
    """Follow the shards until every item they cover is embedded, then publish."""
    project_id, up_to = project.id or 0, ranges[-1][1]
    # forward only: a shard's chunk is counted in flight, then as ready, and the two reads
    # may straddle the switch
    progress, planned_for = Progress(job_id, unit="items", forward_only=True), 0
    while True:
        left = await in_thread(pending_count, project_id, up_to)
        done = total - left
        # the shards' chunks under way count too: with chunks of CHUNK items, pending items
        # alone move in steps of hundreds
        shown = min(done + await in_thread(_in_flight_or_zero, project_id), total)
        progress(shown, total, f"embedded {shown:,} of {total:,} items")
        if done and (not planned_for or done >= planned_for * REPLAN_GROWTH):
            planned_for = await in_thread(_plan_cold_start, project, project.embedding_version)
        if left == 0:
            break
        if not await _any_unfinished(redis, names, queue):
            # every shard ended: an item committed late below a shard's cursor is done here
            await in_thread(run_shard, project_id, ranges[0][0], up_to)
            if await in_thread(pending_count, project_id, up_to) == 0:
                break
            raise RuntimeError(f"project {project_id}: {left} items left after every shard ended")
        await asyncio.sleep(SHARD_POLL_SECONDS)
    await redis.delete(in_flight_key(project_id))
    await in_thread(publish, project, project.embedding_version)


SHARD_POLL_SECONDS = 1.0


def _in_flight_or_zero(project_id: int) -> int:
    try:
        return in_flight_count(project_id)
    except Exception:  # Redis restarting: the ready count alone for this poll
        return 0


async def _any_unfinished(redis: Any, names: list[str], queue: str) -> bool:
    from arq.jobs import Job as ArqJob
    from arq.jobs import JobStatus as ArqStatus

    for name in names:
        status = await ArqJob(name, redis, _queue_name=queue).status()
        if status in {ArqStatus.queued, ArqStatus.deferred, ArqStatus.in_progress}:
            return True
    return False


async def embed(ctx: dict[str, Any], project_id: int) -> None:
    async with project_run(ctx["redis"], jobs.EMBED, project_id):
        shard = get_settings().embed_shard_items
        labeled = await run_sharded(ctx["redis"], project_id, shard)
        if labeled is None:
            labeled = await in_thread(run_embed, project_id)
    if labeled:
        await jobs.request_project_job(ctx["redis"], jobs.TRAIN_HEAD, project_id)


def run_shard(project_id: int, first: int, last: int) -> int:
    with session_scope() as session:
        project = session.get(Project, project_id)
    if project is None:
        return 0
    done = embed_items(
        project, ItemStatus.pending, project.embedding_version, None, 0, (first, last)
    )
    log.info("project %s: embedded %s items of %s-%s", project_id, done, first, last)
    return done


async def embed_shard(ctx: dict[str, Any], project_id: int, first: int, last: int) -> None:
    """One shard of a project's embed run: its pending items with ids in [first, last]."""
    await in_thread(run_shard, project_id, first, last)
