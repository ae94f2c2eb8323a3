"""Starting fine-tuning jobs: by request, or automatically when labels have grown enough."""

from arq.connections import ArqRedis
from redis import Redis
from sqlmodel import Session, col, func, select

from filament import activity, jobs
from filament.core.redis import project_lock
from filament.db.models import (
    ActivityAction,
    Item,
    ItemKind,
    Job,
    JobStatus,
    ModelKind,
    ModelVersion,
    Project,
)
from filament.jobs.rows import new_job

MIN_LABELS_FOR_AUTO = 50


def running_finetune(session: Session, project_id: int) -> Job | None:
    return session.exec(
        select(Job).where(
            Job.project_id == project_id,
            Job.type == jobs.FINETUNE,
            col(Job.status).in_([JobStatus.queued, JobStatus.running]),
        )
    ).first()


def start_finetune_job(
    session: Session, redis: Redis, project_id: int, user_id: int | None, gpu: bool, reason: str
) -> tuple[Job, bool]:
    """A new fine-tuning job, or the one already queued or running (then False): the check and
    the creation happen under one per-project lock, so parallel requests start one job."""
    with project_lock(redis, "finetune-start", project_id):
        if (busy := running_finetune(session, project_id)) is not None:
            return busy, False
        return _create_finetune_job(session, project_id, user_id, gpu, reason), True


def _create_finetune_job(
    session: Session, project_id: int, user_id: int | None, gpu: bool, reason: str
) -> Job:
    where = "a GPU worker" if gpu else "the CPU worker (no GPU worker is connected: a short run)"
    job = new_job(
        session,
        project_id,
        user_id,
        jobs.FINETUNE,
        f"waiting for {where}",
        device="gpu" if gpu else "cpu",
        params={"reason": reason},
        commit=False,
    )
    activity.record(
        session,
        project_id,
        user_id,
        ActivityAction.finetune_started,
        ("job", job.id),
        reason=reason,
        device="gpu" if gpu else "cpu",
    )
    session.commit()
    session.refresh(job)
    return job


async def enqueue_finetune(redis: ArqRedis, job_id: int, gpu: bool) -> None:
    await jobs.enqueue(
        redis,
        jobs.FINETUNE,
        job_id,
        job_id=f"{jobs.FINETUNE}:{job_id}",
        queue=jobs.GPU_QUEUE if gpu else jobs.CPU_QUEUE,
    )


def finetunes_on_cpu(session: Session, project: Project, max_items: int) -> bool:
    """Whether the CPU worker fine-tunes this project on its own when no GPU worker is
    connected: texts only, and only a pool of at most ``max_items`` (0: never). The CPU run
    itself takes seconds whatever the pool (one epoch on at most 256 labels); re-embedding the
    pool when the gate opens is what grows with it, 8-19 s per 1,000 texts on one thread
    (docs/benchmarks.md, "Fine-tune tier through the loop"). Images stay GPU-only: the short
    CPU image run is at 128 px and was not measured to help."""
    if max_items <= 0 or project.task.modality != ItemKind.text:
        return False
    items = session.exec(select(func.count()).where(Item.project_id == project.id)).one()
    return items <= max_items


def labels_grown_enough(session: Session, project_id: int, labels: int, growth: float) -> bool:
    """No fine-tuned version yet and enough labels, or `growth` more labels than the last one."""
    last = session.exec(
        select(ModelVersion.label_count)
        .where(ModelVersion.project_id == project_id, ModelVersion.kind == ModelKind.finetuned)
        .order_by(col(ModelVersion.version).desc())
    ).first()
    if last is None:
        return labels >= MIN_LABELS_FOR_AUTO
    return labels >= last * (1 + growth)
