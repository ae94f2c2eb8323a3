"""Contrastive fine-tuning of a text encoder on sentence pairs, then a head on the tuned
embeddings: the fine-tune tier for texts, cheap enough for a CPU.

Recipe (Tunstall et al., "Efficient Few-Shot Learning Without Prompts", 2022, "SetFit";
Reimers & Gurevych, Sentence-BERT, EMNLP 2019, for the cosine-similarity loss):

1. Stratified hold-out split (``splits.holdout_split``), as ``finetune`` does. "Epoch 0" is the
   heads' logistic regression on the frozen embeddings of the training part, scored on the
   held-out part (``metrics["head_baseline"]``): the like-for-like reference of the gate.
2. Sentence pairs from the training part (``sentence_pairs``): per iteration, every labelled
   text gets one partner with the same label (target 1) and one with another label (target 0).
   Multi-label: a pair is positive when the label sets share a label (SetFit's rule).
3. One epoch over the pairs: MSE between cos(u, v) of the L2-normalised pooled embeddings and
   the target; AdamW (no decay on biases and norm weights), linear warm-up then linear decay.
   The number of steps is capped by ``max_steps`` and by a wall-clock budget measured while it
   runs (the schedule shrinks to fit), so a CPU run takes minutes, whatever the label count.
4. A logistic regression on the tuned embeddings of the training part, scored on the held-out
   part. The better of epoch 0 and this is returned (primary metric, then held-out log loss).

The result is a ``finetune.FinetuneResult`` holding a ``ClassifierModel`` (tuned encoder + that
head), so storing, archiving, ONNX export, re-embedding the pool and serving are the same as for
the classification fine-tune.

Why plain torch rather than the ``setfit`` / ``sentence-transformers`` packages (both Apache-2.0):
the recipe is a pair sampler and a 4-line loss; the packages bring their own model format and
trainer (``setfit`` also ``datasets`` and ``evaluate``), while the result here must be our
``ClassifierModel`` over our ``MeanPooler`` and tokenizer, batched by ``batching``, reporting
progress and honouring cancellation between steps like ``finetune``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from filament.ml.backbones import MeanPooler
from filament.ml.batching import autocast, collate_ids, in_batches, text_ids
from filament.ml.classifier import ClassifierModel
from filament.ml.finetune import FinetuneCancelled, FinetuneResult, ProgressFn, check_inputs
from filament.ml.metrics import multilabel_metrics, primary_name, single_label_metrics
from filament.ml.splits import holdout_split

if TYPE_CHECKING:
    from filament.ml.embedder import Embedder
    from filament.ml.heads import HeadModel

__all__ = ["RECIPE", "PairSet", "SetFitConfig", "contrastive_finetune", "sentence_pairs"]

RECIPE = "contrastive (SetFit)"
_BUCKET_BATCHES = 50  # pairs are sorted by length within chunks of this many batches
_BUDGET_WARMUP_STEPS = 5  # steps timed before the budget may shrink the schedule


@dataclass
class SetFitConfig:
    """Contrastive fine-tuning settings (SetFit's defaults unless said).

    - ``pair_iterations``: R, positive + negative pairs per labelled text (20).
    - ``batch_size``: pairs per step (16). ``lr``: 2e-5, ``weight_decay``: 0.01.
    - ``max_steps``: cap on optimizer steps (R is lowered first, so pairs stay balanced).
    - ``time_budget_s``: wall-clock cap on the training steps; ``None``: no cap.
    - ``max_items``: train on a stratified subset of at most this many labelled texts.
    - ``train_token_embeddings``: as in ``FinetuneConfig``: the vocabulary matrix stays frozen
      (a third of MiniLM's weights, and few labels would move only the tokens they contain).
    - ``threads``: torch CPU threads during the run (``None``: leave as is).
    """

    pair_iterations: int = 20
    batch_size: int = 16
    lr: float = 2e-5
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    max_steps: int | None = 400
    time_budget_s: float | None = None
    max_items: int | None = None
    val_fraction: float = 0.2
    seed: int = 0
    device: str | None = None
    max_length: int = 128
    train_token_embeddings: bool = False
    threads: int | None = None


@dataclass
class PairSet:
    """Row indices of the two texts of each pair and the target cosine (1.0 or 0.0)."""

    left: np.ndarray
    right: np.ndarray
    target: np.ndarray
    iterations: int

    def __len__(self) -> int:
        return len(self.target)


def sentence_pairs(
    Y: np.ndarray,
    multilabel: bool,
    iterations: int,
    seed: int = 0,
    max_pairs: int | None = None,
) -> PairSet:
    """SetFit's pair generation, balanced by construction: in each of ``iterations`` passes over
    the rows (in a shuffled order), a row with both a same-label partner and an other-label
    partner contributes one pair of each, partners drawn uniformly (never the row itself).
    Multi-label: "same" means the label sets overlap (two empty sets count as the same).
    Stops once ``max_pairs`` are drawn. Deterministic for a given ``seed``; pairs come back
    shuffled. Memory stays linear in the rows (partners are found per anchor, not as a matrix).
    """
    Y = np.asarray(Y)
    rng = np.random.default_rng(seed)
    n = len(Y)
    sets = Y.astype(np.int64) if multilabel else Y[:, None]  # one-column "set" single-label
    empty = np.asarray(sets.sum(axis=1) == 0) if multilabel else np.zeros(n, bool)
    left: list[int] = []
    right: list[int] = []
    target: list[float] = []
    limit = max_pairs if max_pairs is not None else 2 * n * iterations
    for _ in range(iterations):
        for i in rng.permutation(n).tolist():
            if len(target) + 2 > limit:
                break
            same = _same_labels(Y, sets, empty, i, multilabel)
            same[i] = False
            positives = np.flatnonzero(same)
            negatives = np.flatnonzero(~same)
            negatives = negatives[negatives != i]
            if len(positives) == 0 or len(negatives) == 0:
                continue
            left += [i, i]
            right += [int(rng.choice(positives)), int(rng.choice(negatives))]
            target += [1.0, 0.0]
    order = rng.permutation(len(target))
    return PairSet(
        np.asarray(left, np.int64)[order],
        np.asarray(right, np.int64)[order],
        np.asarray(target, np.float32)[order],
        iterations,
    )


def _same_labels(
    Y: np.ndarray, sets: np.ndarray, empty: np.ndarray, i: int, multilabel: bool
) -> np.ndarray:
    """Rows whose label (set) counts as the same as row ``i``'s, as a fresh boolean array."""
    if not multilabel:
        return np.asarray(Y[i] == Y)
    return empty.copy() if empty[i] else np.asarray((sets @ sets[i]) > 0)


def contrastive_finetune(
    embedder: Embedder,
    texts: Sequence[str],
    Y: np.ndarray,
    multilabel: bool,
    n_labels: int,
    config: SetFitConfig,
    on_progress: ProgressFn | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> FinetuneResult:
    """Tune a deep copy of ``embedder``'s text encoder on pairs of ``texts``, then fit the head.

    ``Y``: label indices ``(n,)`` or a {0,1} matrix ``(n, n_labels)``. ``on_progress`` receives
    the same dict as ``finetune``'s (``stage``: ``"frozen_head"``, ``"train"``,
    ``"validate"``, ``"done"``; ``step``/``steps`` count optimizer steps, ``steps`` may shrink
    when the time budget is short); ``should_stop()`` is polled before every batch and raises
    ``FinetuneCancelled``. Raises ``ValueError`` for inconsistent inputs or a non-text backbone.
    """
    if not isinstance(embedder.module, MeanPooler):
        raise ValueError(f"{embedder.spec.name}: contrastive fine-tuning needs a text encoder")
    Y = np.asarray(Y, dtype=np.int64)
    check_inputs(texts, Y, multilabel, n_labels, "text")
    device = torch.device(config.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    devices = [device.index or 0] if device.type == "cuda" else []
    threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(config.seed)
            run = _Run(embedder, texts, Y, multilabel, n_labels, config, device)
            run.on_progress, run.should_stop = on_progress, should_stop
            return run.train()
    finally:
        torch.set_num_threads(threads)


class _Run:
    """One run's state (a class so the stages read as short methods)."""

    on_progress: ProgressFn | None = None
    should_stop: Callable[[], bool] | None = None

    def __init__(
        self,
        embedder: Embedder,
        texts: Sequence[str],
        Y: np.ndarray,
        multilabel: bool,
        n_labels: int,
        cfg: SetFitConfig,
        device: torch.device,
    ) -> None:
        self.cfg, self.device = cfg, device
        self.multilabel, self.n_labels = multilabel, n_labels
        self.label_count = len(Y)
        used = np.arange(len(Y))
        if cfg.max_items and len(Y) > cfg.max_items:
            used, _ = holdout_split(Y, multilabel, 1 - cfg.max_items / len(Y), cfg.seed)
        self.Y = Y[used]
        self.train_rows, self.val_rows = holdout_split(
            self.Y, multilabel, cfg.val_fraction, cfg.seed
        )
        self.model = ClassifierModel.from_embedder(
            embedder, n_labels, multilabel, max_length=cfg.max_length
        )
        self.ids = text_ids(embedder.tokenizer, [texts[i] for i in used.tolist()], cfg.max_length)
        self.pad_id = embedder.tokenizer.pad_token_id or 0
        self.pairs = self._pairs()
        self.planned_steps = -(-len(self.pairs) // cfg.batch_size)
        self.total_steps = self.planned_steps
        self.step = 0
        self.last_val: float | None = None

    # -- pieces -------------------------------------------------------------------------------

    def _pairs(self) -> PairSet:
        """Pairs over the training rows (indices into ``self.Y``): R lowered to fit
        ``max_steps``, then cut if even one iteration is too many."""
        cfg = self.cfg
        iterations = cfg.pair_iterations
        cap = cfg.max_steps * cfg.batch_size if cfg.max_steps else None
        if cap is not None:
            per_iteration = 2 * len(self.train_rows)
            iterations = max(1, min(iterations, cap // max(per_iteration, 1)))
        local = sentence_pairs(
            self.Y[self.train_rows], self.multilabel, iterations, cfg.seed, max_pairs=cap
        )
        rows = self.train_rows
        return PairSet(rows[local.left], rows[local.right], local.target, iterations)

    def _batches(self, rng: np.random.Generator) -> list[np.ndarray]:
        """Pair indices per step: similar lengths together (less padding), order random."""
        size = self.cfg.batch_size
        lengths = np.array(
            [
                max(len(self.ids[a]), len(self.ids[b]))
                for a, b in zip(self.pairs.left.tolist(), self.pairs.right.tolist(), strict=True)
            ]
        )
        chunk = size * _BUCKET_BATCHES
        order = np.arange(len(self.pairs))
        sorted_order = np.concatenate(
            [
                order[i : i + chunk][np.argsort(lengths[i : i + chunk], kind="stable")]
                for i in range(0, len(order), chunk)
            ]
        )
        batches = [np.asarray(b, np.int64) for b in in_batches(sorted_order, size)]
        return [batches[i] for i in rng.permutation(len(batches))]

    def _check_stop(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise FinetuneCancelled("fine-tuning cancelled")

    def _report(self, stage: str, loss: float | None) -> None:
        if self.on_progress is None:
            return
        self.on_progress(
            {
                "stage": stage,
                "epoch": 1 if stage in {"train", "validate", "done"} else 0,
                "epochs": 1,
                "step": self.step,
                "steps": self.total_steps,
                "loss": loss,
                "val_metric": self.last_val,
                "progress": min(1.0, self.step / max(self.total_steps, 1)),
            }
        )

    def _features(self, rows: np.ndarray) -> np.ndarray:
        """L2-normalised embeddings of ``rows`` by the model's current encoder."""
        out = np.zeros((len(rows), self.model.head_sizes[0]), dtype=np.float32)
        order = np.argsort([-len(self.ids[r]) for r in rows.tolist()], kind="stable")
        self.model.eval()
        with torch.inference_mode(), autocast(self.device):
            for positions in in_batches(order, 64):
                self._check_stop()
                x, mask = collate_ids([self.ids[rows[p]] for p in positions], self.pad_id)
                features = self.model.features(x.to(self.device), mask.to(self.device))
                out[positions] = features.float().cpu().numpy()
        return out

    def _head(self, X: np.ndarray) -> HeadModel:
        from filament.ml.heads import fit_head

        with threadpool_limits(1, user_api="blas"):
            return fit_head(X, self.Y[self.train_rows], self.multilabel, self.n_labels, "logreg")

    def _evaluate(self, head: HeadModel, X_val: np.ndarray) -> tuple[dict[str, Any], float, float]:
        """``(metrics, primary, log loss)`` of ``head`` on the held-out embeddings."""
        probs = np.clip(head.predict_proba(X_val), 1e-7, 1 - 1e-7)
        Y = self.Y[self.val_rows]
        if self.multilabel:
            metrics = multilabel_metrics(Y, probs)
            loss = -np.mean(Y * np.log(probs) + (1 - Y) * np.log(1 - probs))
            return metrics, metrics["micro_f1"], float(loss)
        metrics = single_label_metrics(Y, probs, self.n_labels)
        return metrics, metrics["accuracy"], float(-np.mean(np.log(probs[np.arange(len(Y)), Y])))

    def _pair_loss(self, X: np.ndarray) -> float | None:
        """The contrastive loss over every training pair, from embeddings of the training rows
        (no extra forward pass: they are computed for the head anyway)."""
        if not len(self.pairs):
            return None
        position = {row: i for i, row in enumerate(self.train_rows.tolist())}
        a = X[[position[r] for r in self.pairs.left.tolist()]]
        b = X[[position[r] for r in self.pairs.right.tolist()]]
        return float(np.mean(((a * b).sum(axis=1) - self.pairs.target) ** 2))

    def _optimizer(self) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
        cfg = self.cfg
        backbone = self.model.backbone
        assert isinstance(backbone, MeanPooler)
        frozen: set[int] = set()
        if not cfg.train_token_embeddings:
            frozen = {id(p) for p in backbone.encoder.get_input_embeddings().parameters()}
        decay: list[torch.nn.Parameter] = []
        no_decay: list[torch.nn.Parameter] = []
        for param in backbone.parameters():
            if id(param) in frozen:
                param.requires_grad_(False)
                continue
            (no_decay if param.ndim <= 1 else decay).append(param)
        self.model.head.requires_grad_(False)  # the head is fitted afterwards, not trained here
        self.trainable = decay + no_decay
        optimizer = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": cfg.weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=cfg.lr,
            fused=self.device.type == "cuda",
        )

        def schedule(step: int) -> float:
            # reads total_steps at every step: the time budget may have shortened it
            warmup = max(1, int(self.total_steps * cfg.warmup_fraction))
            if step < warmup:
                return (step + 1) / warmup
            return max(0.0, (self.total_steps - step) / max(1, self.total_steps - warmup))

        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)

    def _fit_budget(self, seconds: float) -> None:
        """Shrink the schedule so the remaining steps end within the time budget."""
        budget = self.cfg.time_budget_s
        if budget is None or self.step < _BUDGET_WARMUP_STEPS:
            return
        per_step = seconds / self.step
        fitting = max(self.step + 1, int(budget / per_step))
        self.total_steps = min(self.total_steps, fitting)

    # -- stages -------------------------------------------------------------------------------

    def _train(self) -> tuple[list[float], float, int]:
        """``(losses per step, seconds, texts encoded)`` of the contrastive epoch."""
        optimizer, scheduler = self._optimizer()
        self.model.train()
        losses: list[float] = []
        encoded = 0
        started = time.perf_counter()
        for batch in self._batches(np.random.default_rng(self.cfg.seed)):
            if self.step >= self.total_steps:
                break
            self._check_stop()
            left, right = self.pairs.left[batch], self.pairs.right[batch]
            rows, inverse = np.unique(np.concatenate([left, right]), return_inverse=True)
            x, mask = collate_ids([self.ids[r] for r in rows.tolist()], self.pad_id)
            with autocast(self.device):
                features = self.model.features(x.to(self.device), mask.to(self.device))
            index = torch.as_tensor(inverse, device=self.device)
            u, v = features[index[: len(batch)]], features[index[len(batch) :]]
            target = torch.as_tensor(self.pairs.target[batch], device=self.device)
            loss = torch.nn.functional.mse_loss((u * v).sum(dim=-1), target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.trainable, 1.0)
            optimizer.step()
            scheduler.step()
            self.step += 1
            encoded += len(rows)
            losses.append(float(loss.detach()))
            self._fit_budget(time.perf_counter() - started)
            self._report("train", losses[-1])
        return losses, time.perf_counter() - started, encoded

    def train(self) -> FinetuneResult:
        started = time.perf_counter()
        cfg = self.cfg
        self.model.to(self.device)
        have_val = len(self.val_rows) > 0
        history: list[dict[str, Any]] = []

        def stage(epoch: int, name: str) -> tuple[dict[str, Any], float, float, dict[str, Any]]:
            """Fit the head on the current embeddings; ``(metrics, primary, loss, entry)``."""
            t0 = time.perf_counter()
            X_train = self._features(self.train_rows)
            head = self._head(X_train)
            self.model.set_head(head)
            entry: dict[str, Any] = {"epoch": epoch, "stage": name}
            entry["pair_loss"] = self._pair_loss(X_train)
            metrics: dict[str, Any] = {}
            primary, loss = float("nan"), float("nan")
            if have_val:
                metrics, primary, loss = self._evaluate(head, self._features(self.val_rows))
                self.last_val = primary
                entry |= {"val_loss": loss, "val_metric": primary}
            history.append(entry | {"seconds": round(time.perf_counter() - t0, 3)})
            return metrics, primary, loss, entry

        frozen_metrics, frozen_primary, frozen_loss, _ = stage(0, "frozen_head")
        self._report("frozen_head", None)
        frozen_state = {
            k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()
        }
        losses, train_seconds, encoded = self._train()
        tuned_metrics, tuned_primary, tuned_loss, entry = stage(1, "contrastive")
        entry["train_loss"] = float(np.mean(losses)) if losses else None
        history[-1]["train_loss"] = entry["train_loss"]
        self._report("validate", entry["train_loss"])
        best_epoch, metrics, primary_metric = 1, tuned_metrics, tuned_primary
        if have_val and (frozen_primary, -frozen_loss) >= (tuned_primary, -tuned_loss):
            best_epoch, metrics, primary_metric = 0, frozen_metrics, frozen_primary
            self.model.load_state_dict(frozen_state)
        self.model.eval().cpu().requires_grad_(True)
        seconds = time.perf_counter() - started
        metrics = metrics | {
            "kind": "finetune",
            "recipe": RECIPE,
            "backbone": self.model.backbone_name,
            "n_labeled": self.label_count,
            "items_used": len(self.Y),
            "cv_folds": 0,
            "validation": "holdout",
            "train_size": len(self.train_rows),
            "val_size": len(self.val_rows),
            "primary": primary_name(self.multilabel),
            "primary_metric": primary_metric if have_val else None,
            "best_epoch": best_epoch,
            "head_baseline": frozen_primary if have_val else None,
            "device": str(self.device),
            "pairs": len(self.pairs),
            "pair_iterations": self.pairs.iterations,
            "steps": self.step,
            "steps_planned": self.planned_steps,
            "stopped_by_time_budget": self.step < self.planned_steps,
            "pair_loss_frozen": history[0]["pair_loss"],
            "pair_loss_tuned": history[1]["pair_loss"],
            "train_seconds": round(train_seconds, 3),
            "items_per_second": round(encoded / train_seconds, 3) if train_seconds else None,
            "seconds": round(seconds, 3),
            "config": asdict(cfg),
        }
        if not have_val:
            metrics["note"] = "too few labeled items to hold any out: no validated metric"
        self._report("done", None)
        return FinetuneResult(
            model=self.model,
            metrics=metrics,
            history=history,
            device=str(self.device),
            label_count=self.label_count,
            primary_metric=primary_metric,
            seconds=seconds,
            config=asdict(replace(cfg)),
        )
