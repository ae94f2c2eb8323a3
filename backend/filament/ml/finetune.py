"""Deep fine-tuning of a backbone and its head on the project's labels.

``finetune(embedder, inputs, Y, ...)`` trains a ``ClassifierModel`` (a deep copy of the
embedder's backbone + a linear head) and returns the best epoch's weights with held-out metrics
computed by the same functions as the heads' (``metrics.single_label_metrics`` /
``multilabel_metrics``), so a fine-tuned version and a head-only version compare like for like.

Recipe (Kumar et al., "Fine-Tuning can Distort Pretrained Features", ICLR 2022, LP-FT; Loshchilov
& Hutter, AdamW, ICLR 2019 and SGDR cosine schedule, ICLR 2017; Szegedy et al., label smoothing,
CVPR 2016):

1. Stratified hold-out split (iterative stratification for multi-label), ``val_fraction`` 0.2.
2. Linear probe: a ``heads`` logistic regression on the frozen, L2-normalised features of the
   training part initialises the head (``linear_probe_init``). Its validation score is
   "epoch 0": the head-only baseline on the same held-out rows (``metrics["head_baseline"]``).
3. All weights trained with AdamW (head at 10x the backbone's rate, no decay on biases and norm
   weights), linear warm-up then cosine decay, label smoothing (single-label) or
   BCE-with-logits (multi-label); bf16 autocast + channels_last on CUDA, fp32 on CPU.
   Images: RandomResizedCrop, horizontal flip, colour jitter, decoded in a thread pool.
   Texts: dynamic padding in length-bucketed batches.
4. After every epoch the held-out rows are scored; the best epoch (primary metric, then
   validation loss) is kept, epoch 0 included: a fine-tune never returns weights worse on the
   held-out rows than its own linear probe.

Model building, scoring and (de)serialisation live in ``classifier``; batching in ``batching``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from filament.ml.backbones import MeanPooler
from filament.ml.batching import (
    autocast,
    collate_ids,
    image_loader,
    in_batches,
    prefetch_images,
    text_ids,
)
from filament.ml.classifier import ClassifierModel
from filament.ml.metrics import multilabel_metrics, primary_name, single_label_metrics
from filament.ml.splits import holdout_split

if TYPE_CHECKING:
    from filament.ml.embedder import Embedder

__all__ = ["FinetuneCancelled", "FinetuneConfig", "FinetuneResult", "finetune"]

ProgressFn = Callable[[dict[str, Any]], None]
# ((primary metric, -validation loss), epoch, weights on CPU, metrics): the epoch to keep
_Best = tuple[tuple[float, float], int, dict[str, torch.Tensor], dict[str, Any]]
_BUCKET_BATCHES = 50  # texts are sorted by length within chunks of this many batches


class FinetuneCancelled(Exception):
    """``should_stop()`` returned true; nothing is returned."""


@dataclass
class FinetuneConfig:
    """Fine-tuning settings. ``None`` means the modality's default.

    - ``batch_size``: 32 images / 16 texts. ``lr``: backbone rate, 1e-4 images / 3e-5 texts;
      the head gets ``lr * head_lr_multiplier`` (10x).
    - ``label_smoothing`` applies to single-label only.
    - ``max_items``: train on a stratified subset of at most this many labeled items (CPU
      budget); ``None`` uses all.
    - ``val_fraction``: held-out share for validation and model selection.
    - ``device``: ``None`` picks CUDA when available, else CPU.
    - ``image_size`` (images; smaller sizes are fine for tests) / ``max_length`` (texts).
    - ``linear_probe_init``: start the head from a logistic regression on frozen features.
    - ``train_token_embeddings``: texts only; by default the vocabulary embedding matrix stays
      frozen (with few labels, updating only the tokens seen would shift them away from the
      unseen ones; it is also a third of MiniLM's weights and optimizer time on CPU).
    """

    epochs: int = 3
    batch_size: int | None = None
    lr: float | None = None
    head_lr_multiplier: float = 10.0
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    max_items: int | None = None
    val_fraction: float = 0.2
    seed: int = 0
    device: str | None = None
    max_length: int = 128
    image_size: int = 224
    warmup_fraction: float = 0.1
    linear_probe_init: bool = True
    train_token_embeddings: bool = False

    def resolved(self, modality: str) -> FinetuneConfig:
        """A copy with the modality's defaults filled in."""
        image = modality == "image"
        return replace(
            self,
            batch_size=self.batch_size or (32 if image else 16),
            lr=self.lr or (1e-4 if image else 3e-5),
        )


@dataclass
class FinetuneResult:
    """``finetune``'s result.

    - ``model``: best epoch's weights, eval mode, on CPU.
    - ``metrics``: JSON-serialisable; the held-out metrics of the best epoch (same keys as a
      head's) plus ``cv_folds: 0``, ``validation: "holdout"``, ``val_size``, ``train_size``,
      ``primary`` (the key of the primary metric: ``"accuracy"`` single-label, ``"micro_f1"``
      multi-label), ``primary_metric``, ``best_epoch`` (0 = the linear probe), ``head_baseline``
      (the linear probe's primary metric on the same rows, or ``None``), throughput, config.
      ``head_baseline`` is the like-for-like reference for "did fine-tuning help": the heads'
      logistic regression, trained on the same training rows, scored on the same held-out rows
      (at ``image_size`` 224 it sees exactly the embedder's features).
    - ``history``: one dict per epoch (epoch 0 = linear probe): train/val loss, val metric.
    - ``label_count``: the number of labeled items passed in (the snapshot this model belongs
      to), even when ``max_items`` trained on fewer (``metrics["items_used"]``).
    - ``primary_metric``: NaN when there were too few items to hold any out (a NaN never
      compares better than anything).
    """

    model: ClassifierModel
    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    device: str
    label_count: int
    primary_metric: float
    seconds: float = 0.0
    config: dict[str, Any] = field(default_factory=dict)


def finetune(
    embedder: Embedder,
    inputs: Sequence[bytes] | Sequence[str],
    Y: np.ndarray,
    multilabel: bool,
    n_labels: int,
    config: FinetuneConfig,
    on_progress: ProgressFn | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> FinetuneResult:
    """Fine-tune ``embedder``'s backbone (a deep copy: the shared one is never touched).

    ``inputs``: image bytes or texts, matching the embedder's modality. ``Y``: label indices
    ``(n,)`` (single-label) or a {0,1} matrix ``(n, n_labels)``. ``on_progress`` receives
    ``{"stage", "epoch", "epochs", "step", "steps", "loss", "val_metric", "progress"}`` after
    every training step and every validation (``stage``: ``"linear_probe"``, ``"train"``,
    ``"validate"``); ``should_stop()`` is polled before every batch and raises
    ``FinetuneCancelled``. Raises ``ValueError`` for inconsistent inputs or a corrupt image.
    """
    modality = embedder.spec.modality
    cfg = config.resolved(modality)
    Y = np.asarray(Y, dtype=np.int64)
    check_inputs(inputs, Y, multilabel, n_labels, modality)
    device = torch.device(cfg.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(cfg.seed)
        run = _Run(embedder, inputs, Y, multilabel, n_labels, cfg, device, on_progress, should_stop)
        return run.train()


def check_inputs(
    inputs: Sequence[Any], Y: np.ndarray, multilabel: bool, n: int, modality: str
) -> None:
    """``ValueError`` unless ``inputs`` (bytes for images, str for texts) and ``Y`` (label
    indices, or an ``(n_rows, n)`` 0/1 matrix for multi-label) can be fine-tuned on."""
    if len(inputs) != len(Y):
        raise ValueError(f"{len(inputs)} inputs but {len(Y)} label rows")
    if len(inputs) < 2:
        raise ValueError("fine-tuning needs at least 2 labeled items")
    if multilabel and Y.shape != (len(Y), n):
        raise ValueError(f"multi-label Y must have shape ({len(Y)}, {n}), got {Y.shape}")
    if not multilabel and (Y.ndim != 1 or Y.min() < 0 or Y.max() >= n):
        raise ValueError(f"Y must hold label indices in [0, {n})")
    expected = bytes if modality == "image" else str
    if not all(isinstance(x, expected) for x in inputs):
        raise ValueError(f"{modality} backbone: inputs must all be {expected.__name__}")


class _Run:
    """One fine-tuning run's state (a class so the steps read as short methods)."""

    def __init__(
        self,
        embedder: Embedder,
        inputs: Sequence[Any],
        Y: np.ndarray,
        multilabel: bool,
        n_labels: int,
        cfg: FinetuneConfig,
        device: torch.device,
        on_progress: ProgressFn | None,
        should_stop: Callable[[], bool] | None,
    ) -> None:
        self.embedder, self.cfg, self.device = embedder, cfg, device
        self.multilabel, self.n_labels = multilabel, n_labels
        self.on_progress, self.should_stop = on_progress, should_stop
        self.label_count = len(Y)
        used = np.arange(len(Y))
        if cfg.max_items and len(Y) > cfg.max_items:
            used, _ = holdout_split(Y, multilabel, 1 - cfg.max_items / len(Y), cfg.seed)
        self.Y = Y[used]
        train, val = holdout_split(self.Y, multilabel, cfg.val_fraction, cfg.seed)
        self.train_rows, self.val_rows = train, val
        self.model = ClassifierModel.from_embedder(
            embedder,
            n_labels,
            multilabel,
            image_size=cfg.image_size,
            max_length=cfg.max_length,
        )
        self.image = self.model.modality == "image"
        if self.image:
            # rows index ``used``; errors name the caller's index
            eval_load = image_loader(inputs, self.model.image_transform())
            train_load = image_loader(inputs, self._augmenting_transform())
            self.eval_load = lambda row: eval_load(int(used[row]))
            self.train_load = lambda row: train_load(int(used[row]))
        else:
            texts = [inputs[i] for i in used.tolist()]
            self.ids = text_ids(embedder.tokenizer, texts, cfg.max_length)
            self.pad_id = embedder.tokenizer.pad_token_id or 0
        self.rng = np.random.default_rng(cfg.seed)
        self.steps_per_epoch = len(self._train_batches(np.random.default_rng(0)))
        self.total_steps = cfg.epochs * self.steps_per_epoch
        self.step = 0
        self.last_val: float | None = None

    # -- pieces -------------------------------------------------------------------------------

    def _augmenting_transform(self) -> Callable[[Any], torch.Tensor]:
        from torchvision import transforms

        normalise = self.model.image_transform()
        size = normalise.size
        augment = transforms.Compose(
            [
                transforms.RandomResizedCrop(
                    size, scale=(0.25, 1.0), interpolation=transforms.InterpolationMode.BICUBIC
                ),
                transforms.RandomHorizontalFlip(),
                transforms.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.05),
            ]
        )
        return lambda img: normalise(augment(img))

    def _train_batches(self, rng: np.random.Generator) -> list[list[int]]:
        rows = rng.permutation(self.train_rows)
        size = self.cfg.batch_size or 1
        if not self.image:  # similar lengths together, batch order still random
            chunk = size * _BUCKET_BATCHES
            rows = np.concatenate(
                [
                    sorted(rows[i : i + chunk], key=lambda r: len(self.ids[r]))
                    for i in range(0, len(rows), chunk)
                ]
            ).astype(np.int64)
        batches = in_batches(rows, size)
        if len(batches) > 1 and len(batches[-1]) == 1:  # batch norm cannot train on one row
            batches[-2].extend(batches.pop())
        order = rng.permutation(len(batches)) if not self.image else range(len(batches))
        return [batches[i] for i in order]

    def _batches(
        self, batches: list[list[int]], train: bool
    ) -> Iterator[tuple[Sequence[int], tuple[torch.Tensor, torch.Tensor | None]]]:
        """``(rows, (x, attention_mask or None))`` on the device, in the order of ``batches``."""
        if self.image:
            load = self.train_load if train else self.eval_load
            for rows, pixels in prefetch_images(batches, load):
                if self.device.type == "cuda":
                    pixels = pixels.to(self.device, non_blocking=True).contiguous(
                        memory_format=torch.channels_last
                    )
                yield rows, (pixels.to(self.device), None)
            return
        for rows in batches:
            input_ids, mask = collate_ids([self.ids[i] for i in rows], self.pad_id)
            yield rows, (input_ids.to(self.device), mask.to(self.device))

    def _check_stop(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise FinetuneCancelled("fine-tuning cancelled")

    def _report(self, stage: str, epoch: int, loss: float | None) -> None:
        if self.on_progress is None:
            return
        steps = max(self.total_steps, 1)
        self.on_progress(
            {
                "stage": stage,
                "epoch": epoch,
                "epochs": self.cfg.epochs,
                "step": self.step,
                "steps": self.total_steps,
                "loss": loss,
                "val_metric": self.last_val,
                "progress": min(1.0, self.step / steps),
            }
        )

    def _targets(self, rows: Sequence[int]) -> torch.Tensor:
        return torch.as_tensor(self.Y[list(rows)], device=self.device)

    def _loss(self, logits: torch.Tensor, target: torch.Tensor, smoothing: float) -> torch.Tensor:
        # pinned labels carry no gradient and no loss
        active = ~self.model.fixed_mask.to(logits.device)
        target = target.to(logits.device)
        logits = logits.float()[:, active]
        if logits.shape[1] == 0:  # every label pinned: nothing to learn
            return logits.sum() * 0.0
        if self.multilabel:
            return torch.nn.functional.binary_cross_entropy_with_logits(
                logits, target[:, active].float()
            )
        remap = torch.cumsum(active.long(), 0) - 1  # label index -> active column
        return torch.nn.functional.cross_entropy(logits, remap[target], label_smoothing=smoothing)

    # -- stages -------------------------------------------------------------------------------

    def _frozen_features(self, rows: np.ndarray) -> np.ndarray:
        out = np.zeros((len(rows), self.model.head_sizes[0]), dtype=np.float32)
        position = {row: i for i, row in enumerate(rows.tolist())}
        size = self.cfg.batch_size or 32
        batches = in_batches(rows, size)
        with torch.inference_mode(), autocast(self.device):
            for batch_rows, (x, mask) in self._batches(batches, train=False):
                self._check_stop()
                out[[position[r] for r in batch_rows]] = (
                    self.model.features(x, mask).float().cpu().numpy()
                )
        return out

    def _linear_probe(self) -> None:
        from filament.ml.heads import fit_head

        self.model.eval()
        X = self._frozen_features(self.train_rows)
        with threadpool_limits(1, user_api="blas"):
            head = fit_head(X, self.Y[self.train_rows], self.multilabel, self.n_labels, "logreg")
        self.model.set_head(head)
        self._report("linear_probe", 0, None)

    def _evaluate(self) -> tuple[dict[str, Any], float, float]:
        """``(metrics, primary, loss)`` on the held-out rows."""
        rows = self.val_rows
        logits = torch.zeros((len(rows), self.n_labels))
        position = {row: i for i, row in enumerate(rows.tolist())}
        size = self.cfg.batch_size or 32
        batches = in_batches(rows, size)
        self.model.eval()
        with torch.inference_mode(), autocast(self.device):
            for batch_rows, (x, mask) in self._batches(batches, train=False):
                self._check_stop()
                logits[[position[r] for r in batch_rows]] = self.model(x, mask).float().cpu()
        with torch.no_grad():
            loss = float(self._loss(logits, torch.as_tensor(self.Y[rows]), 0.0))
        probs = self.model.probabilities(logits).double().numpy()
        if self.multilabel:
            metrics = multilabel_metrics(self.Y[rows], probs)
            return metrics, metrics["micro_f1"], loss
        metrics = single_label_metrics(self.Y[rows], probs, self.n_labels)
        return metrics, metrics["accuracy"], loss

    def _optimizer(self) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
        cfg = self.cfg
        lr = cfg.lr or 1e-4
        frozen: set[int] = set()
        backbone = self.model.backbone
        if isinstance(backbone, MeanPooler) and not cfg.train_token_embeddings:  # texts
            frozen = {id(p) for p in backbone.encoder.get_input_embeddings().parameters()}
        groups: dict[tuple[bool, bool], list[torch.nn.Parameter]] = {}
        for name, param in self.model.named_parameters():
            if not param.requires_grad or id(param) in frozen:
                param.requires_grad_(False)
                continue
            key = (name.startswith("head."), param.ndim <= 1)
            groups.setdefault(key, []).append(param)
        param_groups: list[dict[str, Any]] = [
            {
                "params": params,
                "lr": lr * (cfg.head_lr_multiplier if is_head else 1.0),
                "weight_decay": 0.0 if no_decay else cfg.weight_decay,
            }
            for (is_head, no_decay), params in groups.items()
        ]
        fused = self.device.type == "cuda"
        optimizer = torch.optim.AdamW(param_groups, fused=fused)
        warmup = max(1, int(self.total_steps * cfg.warmup_fraction))

        def schedule(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            progress = (step - warmup) / max(1, self.total_steps - warmup)
            return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

        self.trainable = [p for group in param_groups for p in group["params"]]
        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)

    def _train_epoch(self, epoch: int, optimizer: Any, scheduler: Any) -> tuple[float, int, int]:
        """``(mean loss, items, tokens)`` of one pass over the training rows."""
        self.model.train()
        total, count, items, tokens = 0.0, 0, 0, 0
        smoothing = 0.0 if self.multilabel else self.cfg.label_smoothing
        for rows, (x, mask) in self._batches(self._train_batches(self.rng), train=True):
            self._check_stop()
            with autocast(self.device):
                logits = self.model(x, mask)
            loss = self._loss(logits, self._targets(rows), smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.trainable, 1.0)
            optimizer.step()
            scheduler.step()
            self.step += 1
            value = float(loss.detach())
            total, count = total + value * len(rows), count + len(rows)
            items += len(rows)
            tokens += int(mask.sum()) if mask is not None else 0
            self._report("train", epoch, value)
        return total / max(count, 1), items, tokens

    def train(self) -> FinetuneResult:
        started = time.perf_counter()
        cfg = self.cfg
        self.model.to(self.device)
        if self.image and self.device.type == "cuda":
            self.model.to(memory_format=torch.channels_last)
        history: list[dict[str, Any]] = []
        best: _Best | None = None
        have_val = len(self.val_rows) > 0

        def consider(epoch: int, entry: dict[str, Any], best: _Best | None) -> _Best | None:
            """Validate (recorded in ``entry``); the better of ``best`` and this epoch."""
            if not have_val:
                return best
            metrics, primary, loss = self._evaluate()
            self.last_val = primary
            entry |= {"val_loss": loss, "val_metric": primary}
            key = (primary, -loss)
            if best is None or key > best[0]:
                state = {
                    k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()
                }
                best = (key, epoch, state, metrics)
            self._report("validate", epoch, entry.get("train_loss"))
            return best

        if cfg.linear_probe_init:
            t0 = time.perf_counter()
            self._linear_probe()
            entry: dict[str, Any] = {"epoch": 0, "stage": "linear_probe"}
            best = consider(0, entry, best)
            history.append(entry | {"seconds": round(time.perf_counter() - t0, 3)})
        optimizer, scheduler = self._optimizer()
        train_seconds, items, tokens = 0.0, 0, 0
        for epoch in range(1, cfg.epochs + 1):
            t0 = time.perf_counter()
            loss, epoch_items, epoch_tokens = self._train_epoch(epoch, optimizer, scheduler)
            train_seconds += time.perf_counter() - t0
            items, tokens = items + epoch_items, tokens + epoch_tokens
            entry = {"epoch": epoch, "stage": "train", "train_loss": loss}
            entry["lr"] = optimizer.param_groups[0]["lr"]
            best = consider(epoch, entry, best)
            history.append(entry | {"seconds": round(time.perf_counter() - t0, 3)})
        best_epoch = cfg.epochs
        metrics: dict[str, Any] = {}
        primary_metric = float("nan")
        if best is not None:
            (primary_metric, _), best_epoch, state, metrics = best
            self.model.load_state_dict(state)
        self.model.eval().cpu().requires_grad_(True)
        if self.image:
            self.model.to(memory_format=torch.contiguous_format)
        primary = primary_name(self.multilabel)
        baseline = next(
            (h["val_metric"] for h in history if h["epoch"] == 0 and "val_metric" in h), None
        )
        metrics = metrics | {
            "kind": "finetune",
            "backbone": self.model.backbone_name,
            "n_labeled": self.label_count,
            "items_used": len(self.Y),
            "cv_folds": 0,
            "validation": "holdout",
            "train_size": len(self.train_rows),
            "val_size": len(self.val_rows),
            "primary": primary,
            "primary_metric": primary_metric if have_val else None,
            "best_epoch": best_epoch,
            "head_baseline": baseline,
            "device": str(self.device),
            "train_seconds": round(train_seconds, 3),
            "items_per_second": round(items / train_seconds, 3) if train_seconds else None,
            "tokens_per_second": round(tokens / train_seconds, 1) if tokens else None,
            "config": {k: v for k, v in asdict(cfg).items()},
        }
        if not have_val:
            metrics["note"] = "too few labeled items to hold any out: no validated metric"
        seconds = time.perf_counter() - started
        metrics["seconds"] = round(seconds, 3)
        self._report("done", cfg.epochs, None)
        return FinetuneResult(
            model=self.model,
            metrics=metrics,
            history=history,
            device=str(self.device),
            label_count=self.label_count,
            primary_metric=primary_metric,
            seconds=seconds,
            config=asdict(cfg),
        )
