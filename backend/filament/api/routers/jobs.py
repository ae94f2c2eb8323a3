from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlmodel import Session, col, select

from filament import activity
from filament.api.deps import OWNERS, CurrentUser, ProjectMemberDep, SessionDep
from filament.api.params import JobId
from filament.db.models import ActivityAction, Job, JobPublic, Page, ProjectMember, Role, User
from filament.jobs import FINETUNE
from filament.jobs import rows as job_rows

router = APIRouter(tags=["jobs"])


@router.get("/projects/{project_id}/jobs")
def list_jobs(
    member: ProjectMemberDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[JobPublic]:
    rows = session.exec(
        select(Job).where(Job.project_id == member.id).order_by(col(Job.id).desc()).limit(limit)
    ).all()
    return Page(data=[JobPublic.model_validate(row) for row in rows], count=len(rows))


def visible_job(session: Session, job_id: int, user: User) -> tuple[Job, Role]:
    """A job of a project the caller belongs to now, and their role; 404 otherwise. Having
    started the job is not enough: a removed member no longer sees its jobs."""
    job = session.get(Job, job_id)
    member = session.get(ProjectMember, (job.project_id, user.id)) if job else None
    if job is None or member is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Job not found")
    return job, member.role


@router.get("/jobs/{job_id}")
def read_job(job_id: JobId, user: CurrentUser, session: SessionDep) -> JobPublic:
    return JobPublic.model_validate(visible_job(session, job_id, user)[0])


@router.post("/jobs/{job_id}/cancel")
def cancel_job(job_id: JobId, user: CurrentUser, session: SessionDep) -> JobPublic:
    """Cancel a queued or running fine-tuning job; the active model stays as it is."""
    job, role = visible_job(session, job_id, user)
    if role not in OWNERS:  # who may start fine-tuning may stop it
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, detail="Only the project's owners can cancel jobs"
        )
    if job.type != FINETUNE:
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail="Only fine-tuning jobs can be cancelled"
        )
    if job.status in job_rows.UNFINISHED:  # cancel_job commits the entry with the cancel
        activity.record(
            session,
            job.project_id or 0,
            user.id,
            ActivityAction.finetune_cancelled,
            ("job", job.id),
        )
    job_rows.cancel_job(session, job, "cancelled; the active model is unchanged")
    return JobPublic.model_validate(job)
