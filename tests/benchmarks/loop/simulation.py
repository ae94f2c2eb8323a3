"""The simulated annotator: what the service does per batch (``filament.labeling.queue.pick``, then
``train_head`` on every label so far), scored on the held-out test set at each budget."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from loop.data import Dataset, as_stored

# 120 is 60 % of 200: the acceptance bar reads off a measured point, not an interpolation
BUDGETS = (20, 50, 100, 120, 150, 200, 500)
BATCH = 10

# A picker: (embeddings, scores | None, project, blocked ids, n, strategy, rng) -> item ids.
Picker = Callable[..., list[int]]


def service_pick(embeddings, scores, project, blocked, n, strategy, rng) -> list[int]:
    from filament.labeling.queue import pick, plan_cold_start

    # before the first model the service chooses from the embed job's stored clustering
    cold = plan_cold_start(embeddings, np.random.default_rng(0)) if scores is None else None
    return pick(embeddings, scores, project, blocked, n, strategy, rng, cold)


@dataclass
class Run:
    strategy: str
    seed: int
    scores: dict[str, dict[int, float]] = field(default_factory=dict)  # metric -> budget -> v
    seconds: float = 0.0
    cold_batches: int = 0


def has_model(Y: np.ndarray, multilabel: bool) -> bool:
    return len(Y) >= 2 if multilabel else len(np.unique(Y)) >= 2


def simulate(
    ds: Dataset,
    strategy: str,
    seed: int,
    picker: Picker = service_pick,
    budgets: tuple[int, ...] = BUDGETS,
    refit_late: int = BATCH,
) -> Run:
    from filament.ml.heads import mlp_due, standardization_for, train_head
    from filament.ml.metrics import multilabel_metrics, single_label_metrics
    from filament.models.artifacts import Embeddings, Scores

    assert ds.X is not None
    started = time.perf_counter()
    pool_X, test_X = as_stored(ds.X[ds.pool]), as_stored(ds.X[ds.test])
    pool_Y, test_Y = ds.Y[ds.pool], ds.Y[ds.test]
    n_labels = len(ds.label_names)
    ids = np.arange(len(ds.pool), dtype=np.int64)  # item id = pool row
    embeddings = Embeddings(ids, pool_X)
    standardize = standardization_for(ds.modality, pool_X)  # as the head-training job does
    project = SimpleNamespace(strategy=strategy, task=SimpleNamespace(multilabel=ds.multilabel))
    rng = np.random.default_rng(seed)
    run = Run(strategy, seed, {m: {} for m in ds.metrics})
    labeled: list[int] = []
    mlp_last_tried, head_kind = None, None  # as the head-training job keeps them per project
    scores = None
    version = 0
    while len(labeled) < max(budgets):
        n = min(BATCH, max(budgets) - len(labeled))
        if scores is None and strategy != "random":
            run.cold_batches += 1
        batch = picker(embeddings, scores, project, np.asarray(labeled, np.int64), n, strategy, rng)
        assert len(batch) == n and not set(batch) & set(labeled), "picker returned bad ids"
        labeled.extend(int(i) for i in batch)  # the oracle answers pool_Y[batch]
        at_budget = len(labeled) in budgets
        X, Y = pool_X[labeled], pool_Y[labeled]
        # the service refits after every batch; ``refit_late`` > BATCH thins that out above
        # 200 labels (a refit there may cross-validate an MLP candidate: heads.mlp_due)
        refit = strategy != "random" and (len(labeled) <= 200 or len(labeled) % refit_late == 0)
        if not (at_budget or refit) or not has_model(Y, ds.multilabel):
            continue
        try_mlp = mlp_due(len(labeled), mlp_last_tried, head_kind)
        head = train_head(
            X,
            Y,
            ds.multilabel,
            n_labels,
            seed=seed,
            standardize=standardize,
            try_mlp=try_mlp,
            pool=pool_X,  # as the head-training job passes embeddings.vectors
        ).model
        mlp_last_tried, head_kind = len(labeled) if try_mlp else mlp_last_tried, head.kind
        if at_budget:
            probs = head.predict_proba(test_X)
            if ds.multilabel:
                result = multilabel_metrics(test_Y, probs)
            else:
                result = single_label_metrics(test_Y, probs, n_labels)
            for metric in ds.metrics:
                run.scores[metric][len(labeled)] = float(result[metric])
        if refit:
            version += 1
            scores = Scores(version, ids, as_stored(head.predict_proba(pool_X)))
    run.seconds = time.perf_counter() - started
    return run
