"""The model-archive job: build a version's downloadable archive once, off the request."""

from typing import Any

from filament.core.settings import get_settings
from filament.db.models import Job, JobStatus, Project
from filament.db.session import session_scope
from filament.jobs.rows import update_job
from filament.ml.export import ExportError, QuantizationRefused
from filament.models.archive import ensure_archive, forget_failed_build
from filament.models.archive_variants import ArchiveVariant
from filament.models.versions import get_version
from filament.storage import get_storage

from filament_worker.common import in_thread, log, sync_redis


def run_build_archive(job_id: int) -> None:
    """Idempotent: a second run finds the archive in storage and only marks the job done."""
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is None or job.status == JobStatus.done or job.project_id is None:
            return
        project = session.get(Project, job.project_id)
        version = int(job.params.get("version", 0))
        variant = ArchiveVariant.from_params(job.params)
        model = get_version(session, job.project_id, version) if project else None
        if project is None or model is None:
            update_job(job_id, status=JobStatus.failed, message="the model version was deleted")
            return
        update_job(job_id, status=JobStatus.running, progress=0.05, message="starting")
        try:
            ensure_archive(
                session,
                get_storage(),
                project,
                model,
                get_settings().weights_dir,
                lambda fraction, message: update_job(job_id, progress=fraction, message=message),
                variant,
            )
        except QuantizationRefused as refused:  # stored: the download answers it from now on
            fail(job_id, job.project_id, version, variant, str(refused))
            return
        except ExportError as error:
            fail(job_id, job.project_id, version, variant, f"exporting the model failed: {error}")
            return
        except Exception:
            log.exception("building the archive of job %s failed", job_id)
            fail(
                job_id,
                job.project_id,
                version,
                variant,
                "building the archive failed on the worker",
            )
            raise
        update_job(job_id, status=JobStatus.done, progress=1.0, message="the archive is ready")


def fail(job_id: int, project_id: int, version: int, variant: ArchiveVariant, reason: str) -> None:
    update_job(job_id, status=JobStatus.failed, message=reason)
    forget_failed_build(sync_redis(), project_id, version, variant)


async def build_archive(ctx: dict[str, Any], job_id: int) -> None:
    await in_thread(run_build_archive, job_id)
