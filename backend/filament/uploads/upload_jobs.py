"""An upload's job: the dataset its items go to and the job row its files are stored under,
for files posted to the API and for direct (presigned) uploads alike."""

from sqlmodel import Session, select

from filament import jobs
from filament.db.models import Dataset, Job
from filament.jobs.rows import new_job
from filament.storage import make_key


def get_or_create_dataset(session: Session, project_id: int, name: str) -> Dataset:
    dataset = session.exec(
        select(Dataset).where(Dataset.project_id == project_id, Dataset.name == name)
    ).first()
    if dataset is None:
        dataset = Dataset(project_id=project_id, name=name)
        session.add(dataset)
        session.commit()
        session.refresh(dataset)
    return dataset


def start_upload(
    session: Session,
    project_id: int,
    user_id: int | None,
    dataset_name: str,
    message: str,
) -> tuple[Dataset, Job]:
    """The dataset (made on first use) and the upload's ingest job, flushed for its id: the
    files are stored under it, then the caller commits the job with their list."""
    dataset = get_or_create_dataset(session, project_id, dataset_name.strip())
    job = new_job(session, project_id, user_id, jobs.INGEST, message, commit=False)
    return dataset, job


def upload_key(project_id: int, job_id: int, number: int, name: str) -> str:
    """Where an upload's file number `number` is stored."""
    return make_key("projects", project_id, "uploads", job_id, f"{number}-{name}")
