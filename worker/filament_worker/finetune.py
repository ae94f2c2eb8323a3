"""The finetune job: fine-tune the whole backbone on the labels, keep the version only if it
validates better than the active one, then re-embed and re-score the pool with it.

Recipes: the classification fine-tune (``ml.finetune``, LP-FT), or for texts when
``text_finetune`` is ``"contrastive"`` the sentence-pair fine-tune (``ml.setfit``, SetFit, with
a step and a time budget on CPU). The classification one stays the default for texts: on UCI
and AG News at 100 and 200 labels the contrastive one beat the frozen head but not the
classification fine-tune (docs/benchmarks.md, "Contrastive fine-tune for texts"). Both return
the same ``FinetuneResult``, so the gate, the stored version and the re-embedding below do not
depend on the recipe; the version's metrics and the job's result name it (``recipe``)."""

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from filament import jobs
from filament.core.settings import get_settings
from filament.db.models import (
    Item,
    ItemKind,
    ItemStatus,
    Job,
    JobStatus,
    ModelKind,
    ModelVersion,
    Project,
    VersionStatus,
)
from filament.db.session import session_scope
from filament.jobs.rows import update_job
from filament.labeling.consensus import training_labels
from filament.labeling.queue import plan_version
from filament.ml import classifier
from filament.ml.embedder import load_embedder
from filament.ml.finetune import (
    FinetuneCancelled,
    FinetuneConfig,
    FinetuneResult,
    ProgressFn,
    finetune,
)
from filament.ml.heads import PREDICT_SLICE
from filament.ml.setfit import RECIPE as CONTRASTIVE
from filament.ml.setfit import SetFitConfig, contrastive_finetune
from filament.models.archive import ensure_archive
from filament.models.archive_variants import ArchiveFormat, ArchiveVariant
from filament.models.artifacts import load_embeddings, model_prefix
from filament.models.encoders import FINETUNED_FILE, item_inputs
from filament.models.pool_scores import active_model, uncertainty_of
from filament.models.versions import (
    get_version,
    named_metrics,
    primary_metric,
    record_version,
    reserve_version,
)
from filament.storage import get_storage
from sqlmodel import col, func, select

from filament_worker.common import (
    Progress,
    failure_message,
    in_thread,
    log,
    project_changed,
    sync_lock,
    sync_redis,
)
from filament_worker.embed import embed_items
from filament_worker.train import targets

MAX_ATTEMPTS = 2
CLASSIFICATION = "classification (LP-FT)"
TIE = 1e-9  # held-out scores this close are equal (sums of float fractions)


class _Cancel:
    """`should_stop` for the trainer: reads the job's status at most once a second."""

    def __init__(self, job_id: int) -> None:
        self.job_id, self._checked, self._stop = job_id, 0.0, False

    def __call__(self) -> bool:
        if not self._stop and time.monotonic() - self._checked > 1.0:
            self.now()
        return self._stop

    def now(self) -> bool:
        """Read the status now, whatever the throttle says."""
        self._checked = time.monotonic()
        with session_scope() as session:
            job = session.get(Job, self.job_id)
            self._stop = job is None or job.status == JobStatus.cancelled
        return self._stop


def _labeled(project: Project) -> tuple[list[Item], list[list[str]]]:
    with session_scope() as session:
        agreed = training_labels(session, project)  # the final labels; ties wait
        items = list(session.exec(select(Item).where(col(Item.id).in_(list(agreed)))).all())
    items.sort(key=lambda item: item.id or 0)
    return items, [agreed[item.id or 0] for item in items]


def run_finetune(job_id: int, gpu: bool) -> str:
    """Returns what happened: activated, rejected, cancelled, or skipped."""
    settings = get_settings()
    storage = get_storage()
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is None or job.status in {JobStatus.done, JobStatus.failed, JobStatus.cancelled}:
            return "skipped"
        attempts = int(job.params.get("attempts", 0)) + 1
        project = session.get(Project, job.project_id)
    if project is None:
        return "skipped"
    if attempts > MAX_ATTEMPTS:
        update_job(
            job_id,
            status=JobStatus.failed,
            message="the worker stopped during fine-tuning twice; the active model is unchanged",
        )
        return "skipped"
    embedder = load_embedder(project.backbone, settings.weights_dir)
    device = str(embedder.device)
    update_job(
        job_id,
        status=JobStatus.running,
        device=device,
        message="preparing the labels",
        params={**job.params, "attempts": attempts},
    )
    items, label_sets = _labeled(project)
    if len(items) < 4:
        update_job(
            job_id,
            status=JobStatus.failed,
            message=f"fine-tuning needs at least 4 labeled items (has {len(items)})",
        )
        return "skipped"
    progress = Progress(job_id)
    recipe = _recipe(project)

    def on_progress(state: dict[str, Any]) -> None:
        stage = state.get("stage", "training")
        parts = [
            f"{recipe}, {stage}: epoch {state.get('epoch')}/{state.get('epochs')}",
            f"step {state.get('step')}/{state.get('steps')}",
        ]
        if state.get("loss") is not None:
            parts.append(f"loss {state['loss']:.4f}")
        if state.get("val_metric") is not None:
            parts.append(f"validation {state['val_metric']:.4f}")
        progress(int(1000 * (state.get("progress") or 0) * 0.8), 1000, ", ".join(parts))

    try:
        result = run_recipe(
            recipe,
            project,
            embedder,
            item_inputs(storage, items),
            targets(project, label_sets),
            on_progress,
            _Cancel(job_id),
            cpu=not gpu and device == "cpu",
            seed=job_id,
        )
    except FinetuneCancelled:
        update_job(
            job_id, status=JobStatus.cancelled, message="cancelled; the active model is unchanged"
        )
        return "cancelled"
    if _Cancel(job_id).now():
        return "cancelled"  # cancelled after the last training step: nothing is recorded
    metrics = {
        **named_metrics(result.metrics, project.labels),
        "history": result.history[-50:],
        "recipe": recipe,
    }
    new_score = primary_metric(metrics, project.task.multilabel)
    with session_scope() as session:
        current = active_model(session, project.id or 0)
        old_score, reference = gate_reference(current, metrics, project.task.multilabel)
        # held-out losses only where the reference was scored on the same held-out rows
        losses = holdout_losses(result) if _against_frozen_head(current, metrics) else None
        # taken now: the heads trained while the pool is re-embedded number after it
        version = reserve_version(session, sync_redis(), job_id)
    better = gate_opens(new_score, old_score, settings.finetune_min_gain, losses)
    new_loss, old_loss = losses or (None, None)
    fields = dict(
        kind=ModelKind.finetuned,
        backbone=project.backbone,
        label_count=len(items),
        metrics=metrics,
        device=result.device,
    )
    files = {FINETUNED_FILE: classifier.save_model(result.model)}
    if not better:
        with session_scope() as session:
            record_version(
                session,
                storage,
                project,
                version,
                files,
                None,
                active=False,
                status=VersionStatus.rejected,
                **fields,
            )
        if new_score is None:
            message = (
                f"v{version}: too few labels to hold any out, so not validated: kept, not used"
            )
        else:
            message = (
                f"v{version} validated {new_score:.4f}, not better than {reference} "
                f"({old_score:.4f}): kept, not used"
            )
        update_job(
            job_id,
            status=JobStatus.done,
            progress=1.0,
            message=message,
            result={
                "version": version,
                "activated": False,
                "metric": new_score,
                "reference": reference,
                "reference_metric": old_score,
                "recipe": recipe,
                "loss": new_loss,
                "reference_loss": old_loss,
            },
        )
        return VersionStatus.rejected
    _activate(project, version, files, fields, job_id, result.model)
    if result.device != "cpu":
        # on a CPU the export (10-60 s) would compete with the head trainings of the people
        # labeling, and the head refit that follows replaces this version within seconds
        # (its archive is composed on its own); a download builds this one on request
        _prepare_archive(project.id or 0, version, job_id)
    update_job(
        job_id,
        status=JobStatus.done,
        progress=1.0,
        message=f"v{version} validated {new_score:.4f}{_tie_note(new_score, old_score, losses)} "
        "and is now active",
        result={
            "version": version,
            "activated": True,
            "metric": new_score,
            "reference": reference,
            "reference_metric": old_score,
            "recipe": recipe,
            "loss": new_loss,
            "reference_loss": old_loss,
        },
    )
    return "activated"


def _recipe(project: Project) -> str:
    if project.task.modality == ItemKind.text and get_settings().text_finetune == "contrastive":
        return CONTRASTIVE
    return CLASSIFICATION


def run_recipe(
    recipe: str,
    project: Project,
    embedder: Any,
    inputs: Any,
    Y: np.ndarray,
    on_progress: ProgressFn,
    should_stop: Callable[[], bool],
    *,
    cpu: bool,
    seed: int,
) -> FinetuneResult:
    """Run ``recipe`` with its CPU budget when no GPU does the work (``project``: its ``task``
    and ``labels``; bench_finetune_loop.py runs the worker's recipe through this too)."""
    settings = get_settings()
    multilabel, n_labels = project.task.multilabel, len(project.labels)
    if recipe == CONTRASTIVE:
        setfit = SetFitConfig(seed=seed, max_steps=settings.setfit_max_steps)
        if cpu:  # minutes, whatever the label count: the schedule shrinks to the time budget
            setfit.max_steps = min(settings.setfit_max_steps, settings.cpu_setfit_max_steps)
            setfit.time_budget_s = settings.cpu_setfit_seconds
        return contrastive_finetune(
            embedder, inputs, Y, multilabel, n_labels, setfit, on_progress, should_stop
        )
    config = FinetuneConfig(seed=seed)
    if cpu:  # the CPU budget: a few epochs on a subset, so the feature works everywhere
        config.epochs = settings.cpu_finetune_epochs
        config.max_items = settings.cpu_finetune_max_items
        config.image_size = settings.cpu_finetune_image_size
    return finetune(embedder, inputs, Y, multilabel, n_labels, config, on_progress, should_stop)


def gate_reference(
    current: ModelVersion | None, metrics: dict[str, Any], multilabel: bool
) -> tuple[float | None, str]:
    """What a fine-tuned version must beat, and its name. Against a head on the pretrained
    backbone the like-for-like number is `head_baseline`: that head's method scored on the same
    held-out items as the fine-tuned model (its cross-validated score is another measurement)."""
    if current is None:
        return None, "no active model"
    if _against_frozen_head(current, metrics):
        baseline = float(metrics["head_baseline"])
        return baseline, "the frozen-backbone head on the same held-out items"
    return primary_metric(current.metrics, multilabel), f"the active v{current.version}"


def _against_frozen_head(current: ModelVersion | None, metrics: dict[str, Any]) -> bool:
    """Whether the gate compares with the fine-tune's own frozen-head baseline (same rows)."""
    return (
        current is not None
        and current.kind == ModelKind.head
        and current.base_version is None
        and metrics.get("head_baseline") is not None
    )


def holdout_losses(result: FinetuneResult) -> tuple[float | None, float | None]:
    """The held-out loss of the weights kept (their epoch) and of the frozen head on the same
    rows (epoch 0, the linear probe or the frozen head; both recipes record ``val_loss``)."""
    losses = {entry["epoch"]: entry.get("val_loss") for entry in result.history}
    return losses.get(result.metrics.get("best_epoch")), losses.get(0)


def gate_opens(
    new_score: float | None,
    old_score: float | None,
    gain: float,
    losses: tuple[float | None, float | None] | None = None,
) -> bool:
    """Whether a fine-tuned version that validated at ``new_score`` replaces the model scored
    ``old_score`` (``gate_reference``; None: no active model): by more than ``gain``, or by
    exactly ``gain`` at a lower held-out loss, ``losses`` = (new, old) on the same rows. With
    few labels the held-out accuracy moves in steps of 1/20 or 1/40 and ties are common; the
    loss (cross-entropy, a proper score) tells them apart (docs/benchmarks.md, "Fine-tune tier
    through the loop")."""
    if new_score is None:
        return False
    if old_score is None or new_score > old_score + gain:
        return True
    new_loss, old_loss = losses or (None, None)
    tied = new_score >= old_score + gain - TIE
    return tied and new_loss is not None and old_loss is not None and new_loss < old_loss


def _tie_note(new_score: float, old_score: float | None, losses: Any) -> str:
    """What the activation message adds when a tie opened the gate."""
    if old_score is None or new_score > old_score + TIE or not losses or None in losses:
        return ""
    return f" (ties with the frozen head, lower held-out loss {losses[0]:.4f} < {losses[1]:.4f})"


def _activate(
    project: Project,
    version: int,
    files: dict[str, bytes],
    fields: dict[str, Any],
    job_id: int,
    model: classifier.ClassifierModel,
) -> None:
    """Re-embed and re-score the pool with the new model, then make it the active version."""
    storage = get_storage()
    assert project.id is not None
    # its weights first: re-embedding loads the model from storage like every other reader
    storage.put_bytes(
        f"{model_prefix(project.id, version)}/{FINETUNED_FILE}", files[FINETUNED_FILE]
    )
    with session_scope() as session:
        total = session.exec(
            select(func.count()).where(
                Item.project_id == project.id, Item.status == ItemStatus.ready
            )
        ).one()
    progress = _Scaled(Progress(job_id), 0.8, 0.2, "re-embedding the pool")
    # the embed job waits meanwhile: items it would embed now land in the new generation after
    with sync_lock(jobs.EMBED, project.id):
        embed_items(project, ItemStatus.ready, version, progress, total)
        embeddings = load_embeddings(storage, project.id, version)
        with session_scope() as session:
            fresh = session.get(Project, project.id)
            assert fresh is not None
            probs = _head_probabilities(model, embeddings.vectors)
            labeled = session.exec(
                select(Item.id).where(Item.project_id == project.id, col(Item.n_annotations) > 0)
            ).all()
            # the queue's clustering for the new version, so that no request makes it
            plan = plan_version(
                embeddings,
                np.array(labeled, dtype=np.int64),
                uncertainty_of(probs, fresh),
                np.random.default_rng([project.id, version]),
            )
            record_version(
                session,
                storage,
                fresh,
                version,
                files,
                (embeddings.item_ids, probs),
                active=True,
                plan=plan,
                **fields,
            )
            fresh.embedding_version = version
            session.add(fresh)
            session.commit()
    project_changed(project.id)


def _prepare_archive(project_id: int, version: int, job_id: int) -> None:
    """Build the new active version's download archive now (exports take 10-60 s), so the first
    download does not wait for them. A failure here only leaves that for the download."""
    update_job(job_id, message="preparing the downloadable archive (ONNX)")
    try:
        with session_scope() as session:
            project = session.get(Project, project_id)
            model = get_version(session, project_id, version)
            if project is not None and model is not None:
                # the variant the SPA, SDK and CLI ask for unless told otherwise
                ensure_archive(
                    session,
                    get_storage(),
                    project,
                    model,
                    get_settings().weights_dir,
                    variant=ArchiveVariant(ArchiveFormat.onnx),
                )
    except Exception:
        log.exception("project %s: building the archive of v%s failed", project_id, version)


def _head_probabilities(model: classifier.ClassifierModel, features: np.ndarray) -> np.ndarray:
    """The model's own head on features it already computed (no second pass over the pool),
    in slices: the float16 features become float32 a slice at a time."""
    parts = []
    with torch.inference_mode():
        for start in range(0, len(features), PREDICT_SLICE):
            chunk = features[start : start + PREDICT_SLICE]
            inputs = torch.from_numpy(np.asarray(chunk, np.float32))
            logits = model.head(inputs.to(model.fixed_logits.device))
            logits = torch.where(model.fixed_mask, model.fixed_logits, logits.float())
            parts.append(model.probabilities(logits).cpu().numpy())
    return np.concatenate(parts) if parts else np.zeros((0, len(model.fixed_mask)), np.float32)


class _Scaled:
    """Maps a sub-task's progress into [start, start + width] of the job's."""

    def __init__(self, progress: Progress, start: float, width: float, label: str) -> None:
        self.progress, self.start, self.width, self.label = progress, start, width, label

    def __call__(self, done: int, total: int, message: str = "") -> None:
        share = self.start + self.width * done / max(total, 1)
        self.progress(int(share * 1000), 1000, f"{self.label}: {message}")


async def finetune_job(ctx: dict[str, Any], job_id: int) -> None:
    try:
        outcome = await in_thread(run_finetune, job_id, bool(ctx.get("gpu")))
    except Exception as error:
        log.exception("finetune job %s failed", job_id)
        update_job(
            job_id, status=JobStatus.failed, message=failure_message("fine-tuning", job_id, error)
        )
        raise
    log.info("finetune job %s: %s", job_id, outcome)
    if outcome == "activated":
        with session_scope() as session:
            job = session.get(Job, job_id)
        if job and job.project_id:
            await jobs.request_project_job(ctx["redis"], jobs.TRAIN_HEAD, job.project_id)
