"""The Job rows members see (status, progress, message), from creation to their end. Every
place that starts or changes a job goes through here, so the lifecycle rules live once: a
running job gets its start time, an ended one its finish time and its `job.finished` webhook
event (once), and a cancelled job stays as the user left it (a worker that has not noticed
the cancel cannot overwrite it)."""

from typing import Any

from sqlmodel import Session, col, select

from filament import activity
from filament.core.errors import Conflict
from filament.db.models import ActivityAction, Job, JobStatus, JobType, WebhookEvent, utcnow
from filament.db.session import session_scope
from filament.webhooks import events

ENDED = {JobStatus.done, JobStatus.failed, JobStatus.cancelled}
UNFINISHED = {JobStatus.queued, JobStatus.running}


def new_job(
    session: Session,
    project_id: int,
    user_id: int | None,
    job_type: str,
    message: str,
    *,
    status: JobStatus = JobStatus.queued,
    device: str | None = None,
    params: dict[str, Any] | None = None,
    commit: bool = True,
) -> Job:
    """A new job row with its id. `commit=False` only flushes: the caller stores files under
    the id and commits the row with them."""
    job = Job(
        project_id=project_id,
        user_id=user_id,
        type=job_type,
        status=status,
        message=message,
        device=device,
        params=params or {},
        started_at=utcnow() if status == JobStatus.running else None,
    )
    session.add(job)
    if commit:
        session.commit()
        session.refresh(job)
    else:
        session.flush()
    return job


def latest_unfinished(session: Session, project_id: int) -> Job | None:
    """The project's newest job that is queued or running (what its status page shows)."""
    return session.exec(
        select(Job)
        .where(
            Job.project_id == project_id,
            col(Job.status).in_([JobStatus.queued, JobStatus.running]),
        )
        .order_by(col(Job.id).desc())
    ).first()


def update_job(job_id: int, **fields: Any) -> None:
    """Change a job's row in its own transaction (the worker's progress and endings)."""
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is None or job.status == JobStatus.cancelled:
            return
        for name, value in fields.items():
            setattr(job, name, value)
        if fields.get("status") == JobStatus.running and job.started_at is None:
            job.started_at = utcnow()
        if fields.get("status") in ENDED:
            first_end = job.finished_at is None
            if job.type == JobType.finetune and first_end and job.project_id:
                activity.record(
                    session,
                    job.project_id,
                    None,
                    ActivityAction.finetune_finished,
                    ("job", job.id),
                    status=str(fields["status"]),
                    message=job.message,
                    version=job.result.get("version"),
                    activated=job.result.get("activated"),
                )
            job.finished_at = utcnow()
            if first_end:
                _finished(session, job)
        session.add(job)
        session.commit()


def _finished(session: Session, job: Job) -> None:
    """The `job.finished` event of a job that just ended (done, failed or cancelled)."""
    if job.project_id is not None:
        events.emit(session, job.project_id, WebhookEvent.job_finished, events.job_data(job))


def create_job(project_id: int, job_type: str, message: str = "", device: str | None = None) -> int:
    """A job the worker starts itself (embedding after an upload, say), running from now."""
    with session_scope() as session:
        job = new_job(
            session, project_id, None, job_type, message, status=JobStatus.running, device=device
        )
        assert job.id is not None
        return job.id


INTERRUPTED = "interrupted: the worker running it stopped; a new run takes over"


def interrupt_running(project_id: int, job_type: str) -> int:
    """End the project's rows of `job_type` still marked running as failed, for a run that
    knows it is the only one (it holds the per-project lock): they belong to a run whose
    worker died. Returns how many."""
    with session_scope() as session:
        stale = session.exec(
            select(Job).where(
                Job.project_id == project_id,
                Job.type == job_type,
                Job.status == JobStatus.running,
            )
        ).all()
        for job in stale:
            job.status, job.message, job.finished_at = JobStatus.failed, INTERRUPTED, utcnow()
            session.add(job)
            _finished(session, job)
        session.commit()
        return len(stale)


def cancel_job(session: Session, job: Job, message: str) -> Job:
    """A member's cancel of a queued or running job; Conflict once it has ended."""
    if job.status not in UNFINISHED:
        raise Conflict(f"The job is already {job.status.value}")
    job.status = JobStatus.cancelled
    job.message = message
    job.finished_at = utcnow()
    session.add(job)
    _finished(session, job)
    session.commit()
    return job
