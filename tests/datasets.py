"""The datasets the tests and the benchmarks share: one loader per shared dataset, read as its
files hold it (``shared/datasets`` beside the repository, see its README), and the synthetic
sets they generate.

Importable as ``tests.datasets`` from the tests (pytest puts the repository root on the path)
and from the scripts in ``tests/benchmarks`` (they put it there themselves). Each consumer
takes its own view (splits, samples) of what a loader returns, so the same rows are the same
items everywhere.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATASETS_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets"
if not DATASETS_DIR.exists():
    DATASETS_DIR = Path("/work/shared/datasets")
UCI = DATASETS_DIR / "sentiment_uci_labelled_sentences" / "uci_sentiment_all.csv"
AGNEWS = DATASETS_DIR / "topic_agnews" / "agnews_dev.csv"
CIFAR10 = DATASETS_DIR / "images_cifar10_subset"
POSTERS = DATASETS_DIR / "multilabel_movie_posters_dev"


@dataclass(frozen=True)
class LabeledSet:
    """A shared dataset, rows in file order.

    ``inputs``: texts, or absolute image paths. ``Y``: ``(n,)`` indices into ``label_names``
    (single-label) or an ``(n, len(label_names))`` {0, 1} matrix (multi-label). ``split``: the
    files' own ``"train"`` / ``"test"`` per row, where they have one.
    """

    inputs: list[str]
    label_names: list[str]
    Y: np.ndarray
    split: list[str] | None = None

    def rows(self, split: str) -> np.ndarray:
        """Row indices of ``split``, in file order."""
        if self.split is None:
            raise ValueError("this dataset has no split of its own")
        return np.array([i for i, s in enumerate(self.split) if s == split])

    def read(self, rows: Sequence[int] | np.ndarray) -> list[bytes]:
        """The image files of ``rows``, as bytes."""
        return [Path(self.inputs[i]).read_bytes() for i in rows]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _single_label(
    inputs: list[str], labels: list[str], split: list[str] | None = None
) -> LabeledSet:
    names = sorted(set(labels))
    Y = np.array([names.index(label) for label in labels], dtype=np.int64)
    return LabeledSet(inputs, names, Y, split)


def load_uci() -> LabeledSet:
    """UCI sentiment sentences (3,000; binary): ``negative`` 0, ``positive`` 1."""
    rows = read_csv(UCI)
    labels = ["positive" if r["label"] == "1" else "negative" for r in rows]
    return _single_label([r["text"] for r in rows], labels)


def load_agnews() -> LabeledSet:
    """AG News dev (10,001 news texts; 4 topics)."""
    rows = read_csv(AGNEWS)
    return _single_label([r["text"] for r in rows], [r["label"] for r in rows])


def load_cifar10() -> LabeledSet:
    """CIFAR-10 subset (4,000 JPEG 32x32; 10 classes), with its train / test split."""
    rows = read_csv(CIFAR10 / "labels.csv")
    paths = [str(CIFAR10 / r["path"]) for r in rows]
    return _single_label(paths, [r["label"] for r in rows], [r["split"] for r in rows])


def load_posters() -> LabeledSet:
    """Movie posters dev (1,000; multi-label genres). Genres that never occur in this set
    ("N/A", "Reality-TV") are left out."""
    rows = read_csv(POSTERS / "labels.csv")
    genres = [c for c in rows[0] if c not in ("path", "imdb_id", "labels")]
    Y = np.array([[int(r[g]) for g in genres] for r in rows], dtype=np.int64)
    present = Y.sum(axis=0) > 0
    return LabeledSet(
        [str(POSTERS / r["path"]) for r in rows],
        [g for g, p in zip(genres, present, strict=True) if p],
        Y[:, present],
    )


# -- views --------------------------------------------------------------------------------------


def sample_rows(total: int, n: int, seed: int = 0) -> np.ndarray:
    """``min(n, total)`` distinct row indices drawn with ``seed``, in file order."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(total, min(n, total), replace=False))


def cifar10_slice(per_class: int, classes: int = 4) -> tuple[list[bytes], np.ndarray, list[str]]:
    """The first ``per_class`` training images of each of the first ``classes`` classes (in
    name order): image bytes, label indices, label names."""
    ds = load_cifar10()
    train = ds.rows("train")
    chosen = [r for k in range(classes) for r in train[ds.Y[train] == k][:per_class]]
    return ds.read(chosen), ds.Y[chosen], ds.label_names[:classes]


def uci_slice(n: int) -> tuple[list[str], np.ndarray]:
    """``n`` UCI sentences evenly spaced through the file, and their labels."""
    ds = load_uci()
    rows = np.arange(len(ds.inputs))[:: len(ds.inputs) // n][:n]
    return [ds.inputs[i] for i in rows], ds.Y[rows]


# -- synthetic ------------------------------------------------------------------------------------


def blobs(
    n: int, k: int, dim: int = 16, seed: int = 0, spread: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` float32 points around ``k`` Gaussian centres in ``dim`` dimensions, and the index
    of each point's centre (its class)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((k, dim)) * 3
    y = rng.integers(0, k, n)
    return (centres[y] + spread * rng.standard_normal((n, dim))).astype(np.float32), y
