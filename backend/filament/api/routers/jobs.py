from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlmodel import col, select

from filament.api.deps import CurrentUser, ProjectMemberDep, SessionDep
from filament.db.models import Job, JobPublic, Page, ProjectMember

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


@router.get("/jobs/{job_id}")
def read_job(job_id: int, user: CurrentUser, session: SessionDep) -> JobPublic:
    job = session.get(Job, job_id)
    allowed = job is not None and (
        job.user_id == user.id or session.get(ProjectMember, (job.project_id, user.id)) is not None
    )
    if job is None or not allowed:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Job not found")
    return JobPublic.model_validate(job)
