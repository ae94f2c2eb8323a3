"""Other selections, reimplemented here (the library is not modified), run with
``--variants``: ``"<strategy>@<name>"`` picks with ``VARIANTS[name](dataset)``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from loop.data import Dataset
from loop.simulation import Picker, has_model, service_pick


def make_probe(ds: Dataset, candidates: int = 16, validation: int = 1000) -> Picker:
    """Not a strategy: a bound on what choosing batches can do with this head and these
    embeddings. It peeks at the answers: each round it tries the service's batch and
    ``candidates - 1`` random ones, fits the head (no cross-validation) on the labels plus
    each, scores it on ``validation`` random unlabeled pool rows with their true labels
    (primary metric) and keeps the best batch. Greedy, so not the optimum, but far more than
    a selection without the answers can know."""
    from filament.ml.heads import fit_head
    from filament.ml.metrics import multilabel_metrics, single_label_metrics

    pool_Y, n_labels, primary = ds.Y[ds.pool], len(ds.label_names), ds.metrics[0]

    def quality(rows: np.ndarray, check: np.ndarray, embeddings) -> float:
        head = fit_head(embeddings.vectors[rows], pool_Y[rows], ds.multilabel, n_labels)
        probs = head.predict_proba(embeddings.vectors[check])
        if ds.multilabel:
            return float(multilabel_metrics(pool_Y[check], probs)[primary])
        return float(single_label_metrics(pool_Y[check], probs, n_labels)[primary])

    def picker(embeddings, scores, project, blocked, n, strategy, rng) -> list[int]:
        service = service_pick(embeddings, scores, project, blocked, n, strategy, rng)
        labeled = embeddings.rows_of(blocked)  # item id = pool row in ``simulate``
        free = np.setdiff1d(np.arange(len(embeddings.item_ids)), labeled)
        check = rng.choice(free, min(validation, len(free)), replace=False)
        options = [embeddings.rows_of(np.asarray(service, dtype=np.int64))]
        options += [rng.choice(free, n, replace=False) for _ in range(candidates - 1)]
        if not has_model(pool_Y[np.concatenate([labeled, options[0]])], ds.multilabel):
            return service
        best = max(
            options, key=lambda rows: quality(np.concatenate([labeled, rows]), check, embeddings)
        )
        return embeddings.item_ids[best].tolist()

    return picker


VARIANTS: dict[str, Callable[[Dataset], Picker]] = {  # name -> picker for a dataset
    "probe": make_probe,
}
