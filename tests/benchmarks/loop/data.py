"""The simulated projects' data: each shared dataset (``tests.datasets``) with a fixed pool /
test split, and its embeddings by the project's default backbone (or the one ``--backbone``
names for the modality), cached as ``.npy`` per dataset, backbone and inputs."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests import datasets

SPLIT_SEED = 1234  # fixed pool/test split, independent of the simulation seeds


@dataclass
class Dataset:
    name: str
    title: str
    modality: str  # "text" | "image"
    multilabel: bool
    label_names: list[str]
    inputs: list[str]  # texts, or absolute image paths
    Y: np.ndarray  # (n,) int class index, or (n, n_labels) {0,1}
    pool: np.ndarray  # row indices into inputs
    test: np.ndarray
    X: np.ndarray | None = None  # embeddings, filled by ``embed``
    backbone: str = ""

    @property
    def metrics(self) -> tuple[str, str]:
        return ("micro_f1", "macro_f1") if self.multilabel else ("accuracy", "macro_f1")


def _split(n: int, n_pool: int, n_test: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    return np.sort(order[:n_pool]), np.sort(order[n_pool : n_pool + n_test])


def load_uci() -> Dataset:
    ds = datasets.load_uci()
    pool, test = _split(len(ds.inputs), 2000, 1000)
    title = "UCI sentiment sentences (binary)"
    return Dataset("uci", title, "text", False, ds.label_names, ds.inputs, ds.Y, pool, test)


def load_agnews() -> Dataset:
    ds = datasets.load_agnews()
    # embed only the 6,000 rows used: the pool and test ids index into this subset
    keep = np.sort(np.random.default_rng(SPLIT_SEED).permutation(len(ds.inputs))[:6000])
    pool, test = _split(len(keep), 5000, 1000)
    inputs = [ds.inputs[i] for i in keep]
    title = "AG News dev (4 topics)"
    return Dataset("agnews", title, "text", False, ds.label_names, inputs, ds.Y[keep], pool, test)


def load_cifar() -> Dataset:
    ds = datasets.load_cifar10()
    pool, test = ds.rows("train"), ds.rows("test")
    title = "CIFAR-10 subset (10 classes)"
    return Dataset("cifar10", title, "image", False, ds.label_names, ds.inputs, ds.Y, pool, test)


def load_posters() -> Dataset:
    ds = datasets.load_posters()
    pool, test = _split(len(ds.inputs), 800, 200)
    title = "Movie posters dev (multi-label genres)"
    return Dataset("posters", title, "image", True, ds.label_names, ds.inputs, ds.Y, pool, test)


LOADERS: dict[str, Callable[[], Dataset]] = {
    "uci": load_uci,
    "agnews": load_agnews,
    "cifar10": load_cifar,
    "posters": load_posters,
}


def parse_backbones(text: str) -> dict[str, str]:
    """``"image=efficientnet_lite2,text=mpnet_base"`` -> ``{"image": ..., "text": ...}``;
    modalities left out keep the default backbone."""
    from filament.ml.backbones import get_spec

    chosen = {}
    for part in filter(None, text.split(",")):
        modality, sep, name = part.partition("=")
        if not sep or modality not in ("image", "text"):
            raise SystemExit(f"--backbone wants image=NAME and/or text=NAME, got {part!r}")
        if get_spec(name).modality != modality:
            raise SystemExit(f"--backbone: {name} is not an {modality} backbone")
        chosen[modality] = name
    return chosen


def embed(ds: Dataset, cache: Path, backbones: dict[str, str] | None = None) -> Dataset:
    """Fill ``ds.X`` with the embeddings of ``backbones[modality]`` (default: the project's
    default backbone), from the cache when it matches."""
    from filament.ml.backbones import DEFAULT_BACKBONE
    from filament.ml.embedder import load_embedder

    ds.backbone = (backbones or {}).get(ds.modality, DEFAULT_BACKBONE[ds.modality])
    digest = hashlib.sha256("\n".join(ds.inputs).encode()).hexdigest()[:16]
    path = cache / f"{ds.name}-{ds.backbone}-{digest}.npy"
    if path.exists():
        ds.X = np.load(path)
        return ds
    cache.mkdir(parents=True, exist_ok=True)
    embedder = load_embedder(ds.backbone, device="cpu")
    started = time.perf_counter()
    step = max(1, len(ds.inputs) // 20)

    def progress(done: int, total: int) -> None:
        if done % step < (32 if ds.modality == "image" else 64) or done == total:
            rate = done / (time.perf_counter() - started)
            print(f"  embed {ds.name}: {done}/{total} ({rate:.1f}/s)", flush=True)

    if ds.modality == "text":
        X = embedder.embed_texts(ds.inputs, on_progress=progress)
    else:
        X = embedder.embed_images([Path(p).read_bytes() for p in ds.inputs], on_progress=progress)
    np.save(path, X.astype(np.float32))
    print(
        f"  embedded {ds.name}: {len(X)} items in {time.perf_counter() - started:.0f} s", flush=True
    )
    ds.X = X
    return ds


def as_stored(X: np.ndarray) -> np.ndarray:
    """The service stores embeddings and pool probabilities as float16; mirror the rounding."""
    return np.asarray(X, dtype=np.float16).astype(np.float32)
