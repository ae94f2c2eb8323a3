"""Light classifier heads on frozen embeddings: fit, cross-validate, serialise safely.

- Default: L2-regularised logistic regression with balanced class weights (softmax over the
  labels seen for single-label; one independent sigmoid per label for multi-label), solved with
  L-BFGS (Liu & Nocedal, Math. Programming 1989) in numpy: the same objective as scikit-learn's
  ``LogisticRegression(class_weight="balanced")`` at a fraction of its overhead.
- A one-hidden-layer MLP replaces it only when there are at least ``MLP_MIN_LABELS`` labeled
  rows and its cross-validated macro-F1 is better by ``MLP_MIN_GAIN``; the service tries it
  when the label count has doubled since the last try (``mlp_due``).

- Self-training (pseudo-labels, Lee 2013): below ``SELF_TRAINING_MAX_LABELS`` labeled rows,
  when the caller passes the project's pool, the logistic regression is fitted, labels a random
  sample of the pool with its own predictions, and is refitted on both (the pool rows at a
  reduced total weight). Every cross-validation and audit fold does the same from its own
  training rows, so no held-out row's label reaches its own prediction.

Multi-label heads decide that a label applies at ``p >= 0.5`` as every head does, with the cut
moved first to the one with the best out-of-fold micro-F1 (``f1_threshold``, folded into the
last bias by ``with_threshold``).

Both kinds are stored the same way: a stack of dense layers (ReLU between them) in an ``.npz``
with a JSON manifest; loading never unpickles anything.

Features may be standardised per dimension first (``Standardization``, chosen by the caller from
the project's modality: see ``standardization_for``); the scaling is folded into the first dense
layer, so a standardised head is stored, scored and exported exactly as any other.
"""

from __future__ import annotations

import io
import json
import time
import warnings
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from scipy.optimize import minimize
from sklearn.model_selection import KFold, StratifiedKFold
from threadpoolctl import threadpool_limits

from filament.ml.metrics import multilabel_metrics, single_label_metrics

FORMAT = "filament-head"
FORMAT_VERSION = 1
LOGREG_C = 1.0  # inverse L2 strength, as scikit-learn's C (objective: sum of losses)
# C on standardised features, by multilabel. Measured (random labels, bench_loop's pools and
# test sets, mean test accuracy / micro-F1 at 100 / 200 / 500 labels), against C = 1 unscaled:
# CIFAR-10 (8 seeds) .589 / .639 / .677 -> .597 / .655 / .701 at 0.003 (0.01: .594 / .658 /
# .707; 0.001 with the raw std: .594 / .653 / .704); posters (5 seeds) .431 / .436 / .448 ->
# .424 / .446 at 0.0003 (0.003: .411 / .434 / .455). One C each rather than one chosen by
# cross-validation: the cross-validated log-loss chose the grid's weakest penalty every time
# (0.03 of 0.001-0.03: CIFAR-10 .586 / .650, posters .394 / .417), choosing by accuracy was
# noise, and either multiplies the cross-validation's fits by the grid's size.
STANDARDIZED_C = {False: 0.003, True: 0.0003}
MLP_MIN_LABELS = 200
MLP_MIN_GAIN = 0.02
# The MLP candidate is cross-validated again once the label count has doubled since it last was
# (and on every training while an MLP is the head): on these frozen embeddings it replaced the
# logistic regression in 1 of 75 trainings (200-2,000 random labels, UCI, AG News, CIFAR-10,
# posters, 3 seeds; 2026-12-04) while its cross-validation was two thirds of an image head's
# fit at 1,000 labels (2.6 of 4.0 s), so trying it on every training cost every label -> model
# wait for a head that almost never wins.
MLP_RETRY_FACTOR = 2
MAX_FOLDS = 5
MLP_STEPS = 150
MLP_BATCH = 256
MLP_HIDDEN = 64
# Multi-label heads decide "applies" at the cut with the best out-of-fold micro-F1 (folded
# into the last bias: f1_threshold, with_threshold) rather than at p = 0.5: on posters
# (Lite0, random labels, 6 seeds) micro-F1 .381 / .422 / .444 / .446 at 50 / 100 / 200 / 500
# labels -> .435 / .452 / .448 / .449. The balanced weights and the strong penalty of the
# image heads leave probabilities near 0.5, where 0.5 itself is rarely the best cut.
MIN_THRESHOLD_ROWS = 10
THRESHOLD_RANGE = (0.05, 0.95)
PREDICT_SLICE = 16384  # rows per matrix product when scoring a pool
# Standardising (see Standardization.of) helps the logistic regression on image embeddings and
# hurts it on text embeddings (figures at STANDARDIZED_C; UCI, 3 seeds, random labels: .853 /
# .863 at 100 / 200 unscaled, at most .841 / .833 standardised for any C of 0.3-100; AG News
# .813 / .827 against .813 / .830 shrunk at its best C: no gain worth a change).
STANDARDIZED_MODALITIES = frozenset({"image"})
STANDARDIZE_ROWS = 20_000  # pool rows the mean / std are estimated on (a strided sample)
STANDARDIZE_MIN_STD = 1e-6  # dimensions constant in the pool stay unscaled, not divided by 0
# Self-training (single-label logistic regression only). Measured on bench_loop's pools (scratch
# script: fixed labeled sets, the margin loop's recorded picks (5 seeds) and random ones (3
# seeds), test accuracy at 100 / 200 labels, plain -> self-trained at weight 1): CIFAR-10
# margin .612 / .659 -> .632 / .673, random .608 / .669 -> .637 / .677; AG News margin .818 /
# .833 -> .829 / .835, random .806 / .822 -> .819 / .831. Weight 2 against 1 in bench_loop
# itself (margin, 10 seeds, at 100 labels): AG News .827 -> .835, CIFAR-10 .631 -> .642 (see
# docs/benchmarks.md, 2026-12-07). At 500 random labels the gain is down to +.004 (CIFAR-10) /
# +.003 (AG News) for ~0.5 s per fit on 1280-d rows, so it stops at SELF_TRAINING_MAX_LABELS
# (300: between the budgets measured, not tuned). Tried and left out (CIFAR-10): 1,000 sampled
# rows, margin .625 / .672 at weight 1; three rounds instead of one: +.002 at 100 for 3x the
# time; soft targets (the model's own probabilities) gained nothing (random .606 at 100), nor
# did weighting each row by its confidence (margin .626); label spreading over a kNN graph
# (Zhou et al. 2004) as soft targets: random .626 against .637 at 2.5x the time.
SELF_TRAINING_MAX_LABELS = 300
SELF_TRAINING_ROWS = 2000  # pool rows sampled (at random, by the seed) to pseudo-label
SELF_TRAINING_WEIGHT = 2.0  # the pseudo-labeled rows' total weight, relative to the labeled rows'


@dataclass
class HeadModel:
    """A fitted head: dense layers ``weights[i]`` (in, out) + ``biases[i]``, ReLU in between.

    Single-label: output column ``j`` is the logit of label ``classes[j]``; labels never seen in
    training get probability 0. Multi-label: one logit per label; ``constant[j]`` (0 or 1, NaN
    when fitted) fixes labels that were never / always positive in training.
    """

    kind: Literal["logreg", "mlp"]
    multilabel: bool
    n_labels: int
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    classes: np.ndarray
    constant: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probabilities, shape ``(len(X), n_labels)``: softmax rows or independent sigmoids.
        Large inputs go in slices, so a float16 pool becomes float32 a slice at a time."""
        if len(X) > PREDICT_SLICE:
            parts = [
                self.predict_proba(X[start : start + PREDICT_SLICE])
                for start in range(0, len(X), PREDICT_SLICE)
            ]
            return np.concatenate(parts)
        h = np.asarray(X, dtype=np.float32)
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = h @ w + b
            if i < len(self.weights) - 1:
                h = np.maximum(h, 0)
        logits = h.astype(np.float64)
        if self.multilabel:
            probs = 0.5 * (1 + np.tanh(0.5 * logits))  # sigmoid without overflow warnings
            fixed = ~np.isnan(self.constant)
            probs[:, fixed] = self.constant[fixed]
            return probs
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        probs = np.zeros((len(logits), self.n_labels))
        probs[:, self.classes] = exp / exp.sum(axis=1, keepdims=True)
        return probs

    def to_bytes(self) -> bytes:
        """An ``.npz`` of the arrays plus a JSON manifest (no pickle)."""
        manifest = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "kind": self.kind,
            "multilabel": self.multilabel,
            "n_labels": self.n_labels,
            "n_layers": len(self.weights),
        }
        arrays = {f"w{i}": w for i, w in enumerate(self.weights)}
        arrays |= {f"b{i}": b for i, b in enumerate(self.biases)}
        buffer = io.BytesIO()
        np.savez(
            buffer,
            manifest=np.frombuffer(json.dumps(manifest).encode(), dtype=np.uint8),
            classes=self.classes,
            constant=self.constant,
            allow_pickle=False,  # numbers only, as from_bytes reads them
            **arrays,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> HeadModel:
        """Inverse of ``to_bytes``; ``ValueError`` if ``data`` is not a head of this format."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                manifest = json.loads(npz["manifest"].tobytes())
                if manifest.get("format") != FORMAT or manifest.get("version") != FORMAT_VERSION:
                    raise ValueError(f"unsupported head format {manifest!r}")
                layers = range(manifest["n_layers"])
                return cls(
                    kind=manifest["kind"],
                    multilabel=bool(manifest["multilabel"]),
                    n_labels=int(manifest["n_labels"]),
                    weights=[npz[f"w{i}"] for i in layers],
                    biases=[npz[f"b{i}"] for i in layers],
                    classes=npz["classes"],
                    constant=npz["constant"],
                )
        except (OSError, KeyError, json.JSONDecodeError, EOFError) as exc:
            raise ValueError(f"not a serialised head model: {exc}") from exc


@dataclass(frozen=True)
class Standardization:
    """Per-dimension ``(x - mean) / std``. ``fold`` moves it into a head's first dense layer
    (``W' = W / std``, ``b' = b - (mean / std) @ W``), so the stored head takes raw embeddings."""

    mean: np.ndarray  # (d,) float64
    std: np.ndarray  # (d,) float64, >= STANDARDIZE_MIN_STD

    @classmethod
    def of(cls, X: np.ndarray, max_rows: int = STANDARDIZE_ROWS) -> Standardization:
        """Estimated on ``X`` (the project's pool: labeled rows are too few to estimate a
        thousand standard deviations at 20 labels), on every k-th row beyond ``max_rows``: the
        statistics of 20,000 rows are as good as a million's and cost milliseconds.

        Each dimension's variance is shrunk towards the mean variance (``std = sqrt(var +
        mean(var))``): dividing by the raw std also inflates the near-constant dimensions,
        which carry mostly noise (CIFAR-10, 8 random-label seeds: .594 at 100 labels with the
        raw std and .597 shrunk, each at its best C)."""
        if len(X) == 0:
            raise ValueError("no rows to estimate a standardization on")
        step = max(1, -(-len(X) // max_rows))
        sample = np.asarray(X[::step], dtype=np.float64)
        mean, var = sample.mean(axis=0), sample.var(axis=0)
        std = np.sqrt(var + var.mean())
        return cls(mean, np.where(std < STANDARDIZE_MIN_STD, 1.0, std))

    def apply(self, X: np.ndarray) -> np.ndarray:
        scaled: np.ndarray = (np.asarray(X, dtype=np.float64) - self.mean) / self.std
        return scaled.astype(np.float32)

    def fold(self, model: HeadModel) -> HeadModel:
        """``model`` fitted on ``apply(X)`` as a head that gives the same output on ``X``."""
        w, b = model.weights[0].astype(np.float64), model.biases[0].astype(np.float64)
        first_w = (w / self.std[:, None]).astype(np.float32)
        first_b = (b - (self.mean / self.std) @ w).astype(np.float32)
        return replace(
            model, weights=[first_w, *model.weights[1:]], biases=[first_b, *model.biases[1:]]
        )


def standardization_for(modality: str, pool: np.ndarray) -> Standardization | None:
    """What ``train_head`` should standardise by for a project of ``modality`` whose embedded
    pool is ``pool``: the pool's statistics for images, nothing for texts (see
    ``STANDARDIZED_MODALITIES``)."""
    return Standardization.of(pool) if modality in STANDARDIZED_MODALITIES else None


@dataclass
class HeadFit:
    """``train_head``'s result. ``cv_probs`` holds out-of-fold probabilities per labeled row
    (NaN rows where no fold could predict them, e.g. with a single class). ``audit_probs``:
    out-of-fold probabilities of the audit rows from models trained on every other row (NaN
    elsewhere; None without audit rows). ``queue_model``: the same kind of head fitted without
    the audit rows (None without them), for the queue to rank by: were the queue to rank by a
    model that knows the audit labels, it would stop asking near audit items (the model is
    sure there), and their held-out predictions would come out worse than the model's on any
    other item (measured: audited accuracy .69 against .87 on the test set at 200 labels)."""

    model: HeadModel
    metrics: dict[str, Any]
    cv_probs: np.ndarray
    label_count: int
    audit_probs: np.ndarray | None = None
    queue_model: HeadModel | None = None
    C: float = LOGREG_C  # the logistic regression's (STANDARDIZED_C on standardised rows)


# -- fitting ----------------------------------------------------------------------------------


def _balanced_weights(y: np.ndarray) -> np.ndarray:
    """scikit-learn's ``class_weight="balanced"``: n / (n_classes * count[class]) per row."""
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    return len(y) / (len(counts) * counts[inverse])


def _label_layout(Y: np.ndarray, multilabel: bool, n_labels: int) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, constant)`` for ``HeadModel``: labels seen (single-label) or the labels that
    were never / always positive (multi-label)."""
    if not multilabel:
        return np.unique(Y), np.zeros(0)
    positives = Y.sum(axis=0)
    constant = np.where(positives == 0, 0.0, np.where(positives == len(Y), 1.0, np.nan))
    return np.arange(n_labels), constant


def _fit_logreg(
    X: np.ndarray,
    Y: np.ndarray,
    multilabel: bool,
    n_labels: int,
    C: float = LOGREG_C,
    unlabeled: np.ndarray | None = None,
) -> HeadModel:
    """``unlabeled``: pool rows to self-train on (single-label only; see ``_self_train``)."""
    X = np.asarray(X, dtype=np.float64)
    d = X.shape[1]
    classes, constant = _label_layout(Y, multilabel, n_labels)
    fit_cols, targets, row_w = _targets(Y, multilabel, classes, constant)
    k = targets.shape[1]
    W, b = np.zeros((d, k)), np.zeros(k)
    if k and (multilabel or k > 1):
        W, b = _lbfgs_logistic(X, targets, row_w, multilabel, C)
        if unlabeled is not None and len(unlabeled) and not multilabel:
            W, b = _self_train(X, targets, row_w, C, unlabeled, (W, b))
    weights = np.zeros((d, n_labels if multilabel else len(classes)), dtype=np.float32)
    biases = np.zeros(weights.shape[1], dtype=np.float32)
    weights[:, fit_cols], biases[fit_cols] = W, b
    return HeadModel("logreg", multilabel, n_labels, [weights], [biases], classes, constant)


def _self_train(
    X: np.ndarray,
    T: np.ndarray,
    row_w: np.ndarray,
    C: float,
    unlabeled: np.ndarray,
    fitted: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """One round of self-training (Lee, "Pseudo-Label", ICML 2013 workshop): the ``unlabeled``
    rows take the ``fitted`` softmax's most likely class as a hard target, and the model is
    refitted, from ``fitted``, on the labeled rows plus them. The pseudo-labeled rows weigh
    ``SELF_TRAINING_WEIGHT`` times the labeled rows in all, shared equally between the classes
    they were given (as the labeled rows' balanced weights are), so a class the first model
    over-predicts does not swallow the others."""
    W, b = fitted
    U = np.asarray(unlabeled, dtype=np.float64)
    predicted = np.argmax(U @ W + b, axis=1)
    counts = np.bincount(predicted, minlength=T.shape[1])
    pseudo_w = SELF_TRAINING_WEIGHT * len(X) / (np.count_nonzero(counts) * counts[predicted])
    return _lbfgs_logistic(
        np.concatenate([X, U]),
        np.concatenate([T, np.eye(T.shape[1])[predicted]]),
        np.concatenate([row_w, pseudo_w[:, None]]),
        False,
        C,
        start=fitted,
    )


def _lbfgs_logistic(
    X: np.ndarray,
    T: np.ndarray,
    row_w: np.ndarray,
    multilabel: bool,
    C: float,
    start: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Minimise sum(weighted log-loss) + ||W||^2 / (2C); bias unpenalised. ``start``: initial
    ``(W, b)`` (default zeros)."""
    (n, d), k = X.shape, T.shape[1]

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        W, b = theta[: d * k].reshape(d, k), theta[d * k :]
        Z = X @ W + b
        if multilabel:
            # log(1 + e^z) - t z, stably
            loss = (row_w * (np.logaddexp(0, Z) - T * Z)).sum()
            G = row_w * (0.5 * (1 + np.tanh(0.5 * Z)) - T)
        else:
            Z = Z - Z.max(axis=1, keepdims=True)
            log_norm = np.log(np.exp(Z).sum(axis=1, keepdims=True))
            loss = -(row_w * T * (Z - log_norm)).sum()
            G = row_w * (np.exp(Z - log_norm) - T)
        loss += (W * W).sum() / (2 * C)
        grad = np.concatenate([(X.T @ G + W / C).ravel(), G.sum(axis=0)])
        return float(loss) / n, grad / n  # mean, so the tolerance does not depend on n

    theta0 = np.zeros(d * k + k) if start is None else np.concatenate([start[0].ravel(), start[1]])
    result = minimize(
        objective,
        theta0,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 500, "gtol": 1e-4},
    )
    return result.x[: d * k].reshape(d, k), result.x[d * k :]


def _targets(
    Y: np.ndarray, multilabel: bool, classes: np.ndarray, constant: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(fit_cols, targets (n, k), row weights)`` with balanced weights: per class for
    single-label, per label (positives and negatives half the weight each) for multi-label."""
    n = len(Y)
    if multilabel:
        fit_cols = np.flatnonzero(np.isnan(constant))
        targets = Y[:, fit_cols].astype(np.float64)
        positives = targets.sum(axis=0)
        pos_w, neg_w = n / (2 * np.maximum(positives, 1)), n / (2 * np.maximum(n - positives, 1))
        return fit_cols, targets, np.where(targets > 0, pos_w, neg_w)
    y = np.searchsorted(classes, Y)
    return np.arange(len(classes)), np.eye(len(classes))[y], _balanced_weights(y)[:, None]


def _fit_mlp(
    X: np.ndarray,
    Y: np.ndarray,
    multilabel: bool,
    n_labels: int,
    seed: int,
    hidden: int = MLP_HIDDEN,
) -> HeadModel:
    """One hidden ReLU layer trained with AdamW (Loshchilov & Hutter, ICLR 2019) on the same
    balanced loss as the logistic regression; plain numpy, a few tens of milliseconds."""
    classes, constant = _label_layout(Y, multilabel, n_labels)
    fit_cols, T, row_w = _targets(Y, multilabel, classes, constant)
    n, d = X.shape
    k = T.shape[1]
    if k == 0 or (k == 1 and not multilabel):
        return _fit_logreg(X, Y, multilabel, n_labels)  # nothing to learn: a constant model
    rng = np.random.default_rng(seed)
    X = np.asarray(X, dtype=np.float32)
    params = [
        rng.uniform(-1, 1, (d, hidden)).astype(np.float32) / np.sqrt(d),
        np.zeros(hidden, dtype=np.float32),
        rng.uniform(-1, 1, (hidden, k)).astype(np.float32) / np.sqrt(hidden),
        np.zeros(k, dtype=np.float32),
    ]
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    lr, beta1, beta2, decay = 1e-3, 0.9, 0.999, 1e-2
    batch = min(MLP_BATCH, n)
    order = rng.permutation(n)
    for step in range(1, MLP_STEPS + 1):
        start = ((step - 1) * batch) % n
        if start + batch > n:
            order, start = rng.permutation(n), 0
        rows = order[start : start + batch]
        x, t, w = X[rows], T[rows], row_w[rows]
        h = np.maximum(x @ params[0] + params[1], 0)
        z = h @ params[2] + params[3]
        if multilabel:
            g = w * (0.5 * (1 + np.tanh(0.5 * z)) - t) / (len(rows) * k)
        else:
            e = np.exp(z - z.max(axis=1, keepdims=True))
            g = w * (e / e.sum(axis=1, keepdims=True) - t) / w.sum()
        g = g.astype(np.float32)
        gh = (g @ params[2].T) * (h > 0)
        grads = [x.T @ gh, gh.sum(axis=0), h.T @ g, g.sum(axis=0)]
        for i, (p, grad) in enumerate(zip(params, grads, strict=True)):
            m, v = moments[i]
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad * grad
            step_size = lr * np.sqrt(1 - beta2**step) / (1 - beta1**step)
            if p.ndim == 2:
                p *= 1 - lr * decay
            p -= step_size * m / (np.sqrt(v) + 1e-8)
    out_w = np.zeros((hidden, n_labels if multilabel else len(classes)), dtype=np.float32)
    out_b = np.zeros(out_w.shape[1], dtype=np.float32)
    out_w[:, fit_cols], out_b[fit_cols] = params[2], params[3]
    return HeadModel(
        "mlp", multilabel, n_labels, [params[0], out_w], [params[1], out_b], classes, constant
    )


def fit_head(
    X: np.ndarray,
    Y: np.ndarray,
    multilabel: bool,
    n_labels: int,
    kind: Literal["logreg", "mlp"] = "logreg",
    seed: int = 0,
    C: float = LOGREG_C,
    unlabeled: np.ndarray | None = None,
) -> HeadModel:
    """Fit one head of ``kind`` on all rows (no cross-validation); ``C``: the logistic
    regression's inverse L2 strength; ``unlabeled``: pool rows the logistic regression
    self-trains on (``self_training_rows``; None: none)."""
    if kind == "mlp":
        return _fit_mlp(X, Y, multilabel, n_labels, seed)
    return _fit_logreg(X, Y, multilabel, n_labels, C, unlabeled)


# -- cross-validation -------------------------------------------------------------------------


def cv_splits(
    Y: np.ndarray, multilabel: bool, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled folds: stratified for single-label with k = min(5, smallest class count) over
    classes with >= 2 rows (singleton rows are still predicted out-of-fold, as errors, which is
    the honest outcome); plain k-fold for multi-label. Empty when no meaningful split exists."""
    n = len(Y)
    if multilabel:
        return (
            list(KFold(min(MAX_FOLDS, n), shuffle=True, random_state=seed).split(Y))
            if n >= 2
            else []
        )
    _, counts = np.unique(Y, return_counts=True)
    repeated = counts[counts >= 2]
    if len(counts) < 2 or len(repeated) == 0:
        return []
    k = int(min(MAX_FOLDS, repeated.min()))
    with warnings.catch_warnings():  # "least populated class has only 1 member": expected
        warnings.simplefilter("ignore", UserWarning)
        return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(Y, Y))


def cross_val_probs(
    X: np.ndarray,
    Y: np.ndarray,
    multilabel: bool,
    n_labels: int,
    kind: Literal["logreg", "mlp"],
    splits: list[tuple[np.ndarray, np.ndarray]],
    seed: int = 0,
    C: float = LOGREG_C,
    unlabeled: np.ndarray | None = None,
) -> np.ndarray:
    """Out-of-fold probabilities ``(n, n_labels)``; NaN rows that no fold predicted. Each fold
    self-trains on ``unlabeled`` from its own training rows' labels."""
    probs = np.full((len(X), n_labels), np.nan)
    for train, test in splits:
        model = fit_head(X[train], Y[train], multilabel, n_labels, kind, seed, C, unlabeled)
        probs[test] = model.predict_proba(X[test])
    return probs


def audit_probs(
    X: np.ndarray,
    Y: np.ndarray,
    multilabel: bool,
    n_labels: int,
    kind: Literal["logreg", "mlp"],
    audit: np.ndarray,
    seed: int = 0,
    C: float = LOGREG_C,
    unlabeled: np.ndarray | None = None,
) -> np.ndarray:
    """Out-of-fold probabilities of the ``audit`` rows (a boolean mask), NaN elsewhere.

    The audit rows are split into up to ``MAX_FOLDS`` folds; each fold is predicted by a head
    trained on all other rows, queue-chosen ones included. So an audit row is never predicted
    by a model that saw it, and each model has nearly all the labels the deployed one has:
    the estimate is of the deployed model, not of one trained on four fifths of the labels as
    plain cross-validation's is. Each fold self-trains on ``unlabeled`` as the deployed model
    does, from its own training rows' labels."""
    probs = np.full((len(X), n_labels), np.nan)
    rows = np.flatnonzero(audit)
    if len(rows) == 0 or len(rows) == len(X):
        return probs
    k = min(MAX_FOLDS, len(rows))
    folds = np.array_split(np.random.default_rng(seed).permutation(rows), k)
    for test in folds:
        train = np.setdiff1d(np.arange(len(X)), test)
        model = fit_head(X[train], Y[train], multilabel, n_labels, kind, seed, C, unlabeled)
        probs[test] = model.predict_proba(X[test])
    return probs


def mlp_due(label_count: int, last_tried: int | None, head_kind: str | None) -> bool:
    """Whether a training on ``label_count`` labels cross-validates the MLP candidate, given
    the label count it was last tried at (None: never) and the kind of the latest head."""
    if label_count < MLP_MIN_LABELS:
        return False
    return last_tried is None or head_kind == "mlp" or label_count >= MLP_RETRY_FACTOR * last_tried


# -- the multi-label decision threshold -------------------------------------------------------


def f1_threshold(probs: np.ndarray, Y: np.ndarray) -> float:
    """The cut ``t`` (a label applies when ``p >= t``) with the best micro-F1 over every
    (row, label) of the out-of-fold ``probs`` against ``Y``; 0.5 when fewer than
    ``MIN_THRESHOLD_ROWS`` rows were predicted or none holds a positive.

    Every cut between two distinct values is tried (one sort; the F1 of the top-k entries
    from a cumulative sum), within ``THRESHOLD_RANGE``; ties go to the cut nearest 0.5."""
    predicted = ~np.isnan(probs).any(axis=1)
    if predicted.sum() < MIN_THRESHOLD_ROWS or not Y[predicted].any():
        return 0.5
    order = np.argsort(-probs[predicted].ravel(), kind="stable")
    p, truth = probs[predicted].ravel()[order], Y[predicted].ravel()[order].astype(bool)
    true_positives = np.cumsum(truth)
    f1 = 2 * true_positives / (np.arange(1, len(p) + 1) + truth.sum())
    cuts = (p + np.append(p[1:], 0.0)) / 2  # cut after entry i: the top i + 1 entries apply
    low, high = THRESHOLD_RANGE
    valid = np.append(p[1:] < p[:-1], True) & (cuts > low) & (cuts < high)
    if not valid.any():
        return 0.5
    candidates = np.flatnonzero(valid)
    best = f1[candidates].max()
    winners = candidates[f1[candidates] >= best - 1e-12]
    return float(cuts[winners[np.argmin(np.abs(cuts[winners] - 0.5))]])


def _logit(t: float) -> float:
    return float(np.log(t / (1 - t)))


def shift_probs(probs: np.ndarray, threshold: float) -> np.ndarray:
    """``probs`` as a head whose decision cut moved from ``threshold`` to 0.5 would give them
    (the logit minus ``logit(threshold)``); 0, 1 (labels pinned in training) and NaN stay."""
    if threshold == 0.5:
        return probs
    inside = (probs > 0) & (probs < 1)
    shifted = probs.copy()
    p = probs[inside]
    shifted[inside] = 1 / (1 + np.exp(-(np.log(p / (1 - p)) - _logit(threshold))))
    return shifted


def with_threshold(model: HeadModel, threshold: float) -> HeadModel:
    """``model`` with its last bias moved so that ``p >= 0.5`` of the result decides as
    ``p >= threshold`` of ``model``: every consumer of a head (the queue's uncertainty,
    suggestions and their calibration, metrics, exports, archives) keeps the one rule."""
    if threshold == 0.5:
        return model
    last = (model.biases[-1] - np.float32(_logit(threshold))).astype(np.float32)
    return replace(model, biases=[*model.biases[:-1], last])


def _apply_threshold(
    fit: HeadFit,
    Y: np.ndarray,
    n_labels: int,
    splits: list[tuple[np.ndarray, np.ndarray]],
    audit: np.ndarray | None,
) -> None:
    """Choose the multi-label cut on out-of-fold predictions and move every head and every
    held-out probability of ``fit`` to it, so that each held-out figure stays held out:

    - the heads: the cut chosen on the rows that are not audit rows;
    - ``audit_probs``: the same cut, chosen without the audit rows' predictions;
    - ``cv_probs``: each fold's rows by the cut chosen on the other folds' rows, so that no row's
      own prediction and label choose its cut; ``metrics`` are scored again on them."""
    chosen_on = np.ones(len(Y), dtype=bool) if audit is None else ~audit
    threshold = f1_threshold(fit.cv_probs[chosen_on], Y[chosen_on])
    fit.model = with_threshold(fit.model, threshold)
    if fit.queue_model is not None:
        fit.queue_model = with_threshold(fit.queue_model, threshold)
    if fit.audit_probs is not None:
        fit.audit_probs = shift_probs(fit.audit_probs, threshold)
    shifted = fit.cv_probs.copy()
    for _, test in splits:
        others = chosen_on.copy()
        others[test] = False
        fold_cut = f1_threshold(fit.cv_probs[others], Y[others])
        shifted[test] = shift_probs(fit.cv_probs[test], fold_cut)
    fit.cv_probs = shifted
    fit.metrics |= _score(Y, shifted, True, n_labels) | {"threshold": round(threshold, 4)}


def _score(Y: np.ndarray, probs: np.ndarray, multilabel: bool, n_labels: int) -> dict[str, Any]:
    if multilabel:
        return multilabel_metrics(Y, probs)
    return single_label_metrics(Y, probs, n_labels)


def train_head(
    X: np.ndarray,
    Y: np.ndarray,
    multilabel: bool,
    n_labels: int,
    seed: int = 0,
    audit: np.ndarray | None = None,
    standardize: Standardization | None = None,
    try_mlp: bool = True,
    pool: np.ndarray | None = None,
) -> HeadFit:
    """Cross-validate, choose logistic regression or (with enough labels) an MLP, refit on all.

    ``Y``: int label indices ``(n,)`` for single-label, a {0,1} matrix ``(n, n_labels)`` for
    multi-label. ``metrics`` are out-of-fold (``cv_folds`` > 0) or, when no split is possible,
    only ``cv_folds: 0`` with the reason and label counts. ``audit``: a boolean mask of the rows
    drawn at random for auditing; their held-out probabilities come back as ``audit_probs``.
    ``standardize``: fit on standardised rows (the default: as given), every head returned
    taking raw rows all the same (``Standardization.fold``). ``try_mlp``: False keeps the
    logistic regression without cross-validating the MLP (see ``mlp_due``). ``pool``: the
    project's embedded pool (raw, as stored), for self-training while the labels are few
    (``self_training_rows``); None: no self-training.
    """
    # One BLAS thread: these are many small matrix products, where thread wake-ups cost more
    # than they save (measured 10x faster on 2 cores).
    with threadpool_limits(1, user_api="blas"):
        unlabeled = self_training_rows(pool, len(X), multilabel, seed)
        if standardize is not None:
            X = standardize.apply(X)
            unlabeled = None if unlabeled is None else standardize.apply(unlabeled)
        C = LOGREG_C if standardize is None else STANDARDIZED_C[multilabel]
        fit, splits = _train_head(X, Y, multilabel, n_labels, seed, C, try_mlp, unlabeled)
        if audit is not None and np.any(audit):
            X, Y = np.asarray(X, dtype=np.float32), np.asarray(Y, dtype=np.int64)
            audit = np.asarray(audit, dtype=bool)
            kind, C = fit.model.kind, fit.C
            fit.audit_probs = audit_probs(
                X, Y, multilabel, n_labels, kind, audit, seed, C, unlabeled
            )
            if not audit.all():
                fit.queue_model = fit_head(
                    X[~audit], Y[~audit], multilabel, n_labels, kind, seed, C, unlabeled
                )
        if standardize is not None:
            fit.model = standardize.fold(fit.model)
            if fit.queue_model is not None:
                fit.queue_model = standardize.fold(fit.queue_model)
        if multilabel and splits:
            has_audit = audit is not None and bool(np.any(audit))
            _apply_threshold(fit, np.asarray(Y), n_labels, splits, audit if has_audit else None)
        return fit


def self_training_rows(
    pool: np.ndarray | None, n_labeled: int, multilabel: bool, seed: int
) -> np.ndarray | None:
    """The pool rows a head on ``n_labeled`` labels self-trains on (float32, raw): a seeded
    random sample of ``SELF_TRAINING_ROWS``, or None (no pool, multi-label, or from
    ``SELF_TRAINING_MAX_LABELS`` labels on). The sample may hold labeled rows: as unlabeled
    rows they carry the model's prediction, never their label."""
    if pool is None or len(pool) == 0 or multilabel or n_labeled >= SELF_TRAINING_MAX_LABELS:
        return None
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(pool), min(SELF_TRAINING_ROWS, len(pool)), replace=False))
    return np.asarray(pool[rows], dtype=np.float32)


def _train_head(
    X: np.ndarray,
    Y: np.ndarray,
    multilabel: bool,
    n_labels: int,
    seed: int,
    C: float,
    try_mlp: bool = True,
    unlabeled: np.ndarray | None = None,
) -> tuple[HeadFit, list[tuple[np.ndarray, np.ndarray]]]:
    """The fit and the cross-validation's folds."""
    started = time.perf_counter()
    X = np.asarray(X, dtype=np.float32)
    Y = np.asarray(Y, dtype=np.int64)
    n = len(X)
    if len(Y) != n:
        raise ValueError(f"{n} embedding rows but {len(Y)} label rows")
    if multilabel and Y.shape != (n, n_labels):
        raise ValueError(f"multi-label Y must have shape ({n}, {n_labels}), got {Y.shape}")
    if not multilabel and n and (Y.min() < 0 or Y.max() >= n_labels):
        raise ValueError(f"label indices must lie in [0, {n_labels})")
    if n == 0:
        raise ValueError("no labeled rows to train on")
    splits = cv_splits(Y, multilabel, seed)
    kind: Literal["logreg", "mlp"] = "logreg"
    cv_probs = cross_val_probs(X, Y, multilabel, n_labels, "logreg", splits, seed, C, unlabeled)
    metrics: dict[str, Any] = {"kind": kind, "n_labeled": n, "cv_folds": len(splits), "C": C}
    metrics["self_training_rows"] = 0 if unlabeled is None else len(unlabeled)
    if splits:
        metrics |= _score(Y, cv_probs, multilabel, n_labels)
        # the MLP must win by MLP_MIN_GAIN: pointless to try when logistic regression is near 1
        if try_mlp and n >= MLP_MIN_LABELS and metrics["macro_f1"] + MLP_MIN_GAIN <= 1:
            mlp_probs = cross_val_probs(X, Y, multilabel, n_labels, "mlp", splits, seed)
            mlp_metrics = _score(Y, mlp_probs, multilabel, n_labels)
            metrics["candidates"] = {"logreg": metrics["macro_f1"], "mlp": mlp_metrics["macro_f1"]}
            if mlp_metrics["macro_f1"] >= metrics["macro_f1"] + MLP_MIN_GAIN:
                kind, cv_probs = "mlp", mlp_probs
                metrics |= mlp_metrics | {"kind": kind}
    else:
        counts = Y.sum(axis=0) if multilabel else np.bincount(Y, minlength=n_labels)
        metrics["label_counts"] = [int(c) for c in counts]
        metrics["note"] = (
            "too few labeled rows for cross-validation"
            if multilabel
            else "cross-validation needs two classes and a class with two examples"
        )
    model = fit_head(X, Y, multilabel, n_labels, kind, seed, C, unlabeled)
    metrics["train_seconds"] = round(time.perf_counter() - started, 3)
    return HeadFit(model=model, metrics=metrics, cv_probs=cv_probs, label_count=n, C=C), splits
