"""Direct-to-bucket uploads on S3: presigned PUT URLs, then a completion call that ingests."""

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field

from filament import jobs
from filament.api.deps import ProjectOwner, SessionDep, SettingsDep, StorageDep
from filament.api.enqueue import enqueue
from filament.api.params import UploadId
from filament.db.models import Job
from filament.storage import make_key
from filament.uploads import upload_jobs
from filament.uploads.direct import check_stored_upload
from filament.uploads.ingest import UploadRefused

router = APIRouter(prefix="/projects/{project_id}/uploads", tags=["items"])


class PlannedFile(BaseModel):
    name: str = Field(min_length=1, max_length=500)
    size: int = Field(ge=1)


class UploadPlan(BaseModel):
    files: list[PlannedFile] = Field(min_length=1, max_length=1000)
    dataset: str = Field(default="default", min_length=1, max_length=200)


class PresignedFile(BaseModel):
    name: str
    url: str


class PresignedUpload(BaseModel):
    upload_id: int
    files: list[PresignedFile]


@router.post("", status_code=status.HTTP_201_CREATED)
def start_upload(
    body: UploadPlan,
    writer: ProjectOwner,  # uploading is dataset work: owners only
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> PresignedUpload:
    """Presigned PUT URLs for each file (S3 storage only), signed for the declared size and
    valid for FILAMENT_DIRECT_UPLOAD_SECONDS; then call `.../complete`."""
    if sum(f.size for f in body.files) > settings.max_upload_bytes:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail="The upload is too large")
    if storage.presigned_put(make_key("projects", writer.id, "uploads", "probe")) is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail="Direct uploads need S3 storage; POST the files to /items",
        )
    dataset, job = upload_jobs.start_upload(
        session, writer.id, writer.user.id, body.dataset, "waiting for the files"
    )
    planned = []
    for number, file in enumerate(body.files):
        key = upload_jobs.upload_key(writer.id, job.id or 0, number, file.name)
        url = storage.presigned_put(key, settings.direct_upload_seconds, size=file.size) or ""
        planned.append({"key": key, "name": file.name, "size": file.size, "url": url})
    job.params = {"dataset_id": dataset.id, "files": planned, "direct": True}
    session.add(job)
    session.commit()
    return PresignedUpload(
        upload_id=job.id or 0, files=[PresignedFile(name=f["name"], url=f["url"]) for f in planned]
    )


@router.post("/{upload_id}/complete", status_code=status.HTTP_202_ACCEPTED)
def complete_upload(
    upload_id: UploadId,
    request: Request,
    writer: ProjectOwner,  # uploading is dataset work: owners only
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> dict[str, int]:
    """Check the uploaded objects as a direct upload would be checked, then ingest them."""
    job = session.get(Job, upload_id)
    if job is None or job.project_id != writer.id or not job.params.get("direct"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Upload not found")
    problems = []
    for file in job.params["files"]:
        try:
            file["kind"] = check_stored_upload(
                storage, file, writer.project.task, settings, writer.project.labels
            ).kind
            file["etag"] = storage.etag(file["key"])
        except UploadRefused as error:
            problems.append(str(error))
    if problems:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="; ".join(problems))
    job.params = {
        **job.params,
        "files": [{k: v for k, v in f.items() if k != "url"} for f in job.params["files"]],
    }
    session.add(job)
    session.commit()
    enqueue(request, jobs.INGEST, upload_id, job_id=f"{jobs.INGEST}:{upload_id}")
    return {"job_id": upload_id}
