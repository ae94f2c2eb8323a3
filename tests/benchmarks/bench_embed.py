"""Embedding throughput on CPU: ``Embedder.embed_images`` / ``embed_texts`` (the pipeline the
embed job runs: decode + resize in a thread pool, or tokenise in length-sorted batches, then the
forward pass and L2 normalisation) against the bare backbone forward pass (``embedder.module``
under ``torch.inference_mode`` on tensors made beforehand, same batch size and, for texts, the
same length-sorted batches, so both do the same arithmetic).

Target: pipeline >= 80% of the bare forward pass. The two are timed in alternating chunks so
that load from other processes on the machine hits both alike. Also prints where the pipeline's
extra time goes: decode/resize per image, tokenisation per text (each measured serially).

``--image-backbones`` / ``--text-backbones`` (default: the defaults) take comma-separated names,
e.g. ``efficientnet_lite0,efficientnet_lite2`` and ``minilm_l6,mpnet_base`` to compare the larger
backbones with the defaults under the same load (docs/benchmarks/embedding_throughput_large.json).

Usage: ``python tests/benchmarks/bench_embed.py [--images 128] [--texts 1000] [--threads 2]
[--json docs/benchmarks/embedding_throughput.json] [--profile] [--image-backbones A,B]
[--text-backbones C,D]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "backend"), str(ROOT)]
from tests import datasets  # noqa: E402

TARGET = 0.80
IMAGE_BATCH = 32  # Embedder.embed_images default
TEXT_BATCH = 64  # Embedder.embed_texts default


def image_sets(n: int) -> dict[str, list[bytes]]:
    sets = {
        "CIFAR-10 JPEG 32x32": datasets.load_cifar10(),
        "movie posters": datasets.load_posters(),
    }
    return {name: ds.read(datasets.sample_rows(len(ds.inputs), n)) for name, ds in sets.items()}


def text_sets(n: int) -> dict[str, list[str]]:
    sets = {"UCI sentences": datasets.load_uci(), "AG News": datasets.load_agnews()}
    return {
        name: [ds.inputs[i] for i in datasets.sample_rows(len(ds.inputs), n)]
        for name, ds in sets.items()
    }


def chunks(n: int, size: int) -> list[slice]:
    return [slice(s, min(s + size, n)) for s in range(0, n, size)]


def alternate(
    n: int,
    chunk: int,
    pipeline: Callable[[slice], None],
    bare: Callable[[slice], None],
    repeats: int,
) -> tuple[float, float, float]:
    """Run ``pipeline`` and ``bare`` over every chunk, ``repeats`` times, alternating which goes
    first. Returns total seconds of each and the median per-chunk ratio bare / pipeline (robust
    to bursts of load from other processes)."""
    t_pipe = t_bare = 0.0
    ratios = []
    for rep in range(repeats):
        for i, part in enumerate(chunks(n, chunk)):
            times = {}
            order = [("pipe", pipeline), ("bare", bare)]
            for which, fn in order if (i + rep) % 2 == 0 else order[::-1]:
                started = time.perf_counter()
                fn(part)
                times[which] = time.perf_counter() - started
            t_pipe += times["pipe"]
            t_bare += times["bare"]
            ratios.append(times["bare"] / times["pipe"])
    return t_pipe, t_bare, float(np.median(ratios))


class ForwardTimer:
    """Times ``embedder._forward`` (forward pass + L2 normalisation) inside pipeline calls, so
    the pipeline's time splits into the forward itself and everything around it."""

    def __init__(self, embedder) -> None:
        self.embedder, self.seconds = embedder, 0.0
        self._forward = embedder._forward

    def __enter__(self) -> ForwardTimer:
        def timed(batch):
            started = time.perf_counter()
            try:
                return self._forward(batch)
            finally:
                self.seconds += time.perf_counter() - started

        self.embedder._forward = timed
        return self

    def __exit__(self, *exc) -> None:
        del self.embedder._forward  # back to the class's method


def _result(n: int, repeats: int, t_pipe: float, t_bare: float, median: float, fwd: float):
    total = n * repeats
    return {
        "items": n,
        "repeats": repeats,
        "pipeline_per_s": total / t_pipe,
        "bare_per_s": total / t_bare,
        "ratio": t_bare / t_pipe,
        "median_chunk_ratio": median,
        "pipeline_forward_ms_per_item": 1000 * fwd / total,
        "pipeline_other_ms_per_item": 1000 * (t_pipe - fwd) / total,
        "bare_forward_ms_per_item": 1000 * t_bare / total,
    }


def bench_images(embedder, images: list[bytes], chunk: int, repeats: int) -> dict:
    import torch
    from filament.ml.images import decode_image

    # pre-made input tensors for the bare forward pass (not timed)
    prep_started = time.perf_counter()
    decoded = [decode_image(b) for b in images]
    decode_s = time.perf_counter() - prep_started
    started = time.perf_counter()
    tensors = embedder.preprocess(decoded)
    transform_s = time.perf_counter() - started
    embedder.embed_images(images[:IMAGE_BATCH])  # warm-up (threads, allocator, oneDNN)

    out_pipe, out_bare = [], []

    def pipeline(part: slice) -> None:
        out_pipe.append(embedder.embed_images(images[part], batch_size=IMAGE_BATCH))

    def bare(part: slice) -> None:
        with torch.inference_mode():
            for b in chunks(part.stop - part.start, IMAGE_BATCH):
                batch = tensors[part][b]
                out_bare.append(embedder.module(batch).numpy())

    with ForwardTimer(embedder) as timer:
        t_pipe, t_bare, median = alternate(len(images), chunk, pipeline, bare, repeats)
    n = len(images)
    raw = np.concatenate(out_bare[: -(-n // IMAGE_BATCH)])  # the first pass, in order
    raw /= np.linalg.norm(raw, axis=1, keepdims=True)
    return _result(n, repeats, t_pipe, t_bare, median, timer.seconds) | {
        "serial_decode_ms_per_item": 1000 * decode_s / n,
        "serial_transform_ms_per_item": 1000 * transform_s / n,
        "max_abs_diff_vs_bare": float(np.abs(np.concatenate(out_pipe)[:n] - raw).max()),
    }


def bench_texts(embedder, texts: list[str], chunk: int, repeats: int) -> dict:
    import torch

    # the same batches embed_texts makes: sorted by token length, longest first, padded per batch
    started = time.perf_counter()
    lengths = [
        len(ids) for ids in embedder.tokenizer(texts, truncation=True, max_length=256)["input_ids"]
    ]
    order = np.argsort(-np.asarray(lengths), kind="stable")
    sorted_texts = [texts[i] for i in order]
    batches = [embedder.tokenize(sorted_texts[b]) for b in chunks(len(texts), TEXT_BATCH)]
    tokenize_s = time.perf_counter() - started
    embedder.embed_texts(texts[:TEXT_BATCH])  # warm-up
    # chunks are whole text batches, taken from the sorted order for both sides
    per_chunk = max(1, chunk // TEXT_BATCH)
    out_pipe, out_bare = [], []

    def pipeline(part: slice) -> None:
        rows = slice(part.start * TEXT_BATCH, min(part.stop * TEXT_BATCH, len(texts)))
        out_pipe.append(embedder.embed_texts(sorted_texts[rows], batch_size=TEXT_BATCH))

    def bare(part: slice) -> None:
        with torch.inference_mode():
            for batch in batches[part]:
                out_bare.append(embedder.module(**batch).numpy())

    with ForwardTimer(embedder) as timer:
        t_pipe, t_bare, median = alternate(len(batches), per_chunk, pipeline, bare, repeats)
    n = len(texts)
    raw = np.concatenate(out_bare[: len(batches)])
    raw /= np.linalg.norm(raw, axis=1, keepdims=True)
    tokens = sum(int(b["attention_mask"].numel()) for b in batches)
    return _result(n, repeats, t_pipe, t_bare, median, timer.seconds) | {
        "serial_tokenize_ms_per_item": 1000 * tokenize_s / n,
        "padded_tokens_per_item": tokens / n,
        "max_abs_diff_vs_bare": float(np.abs(np.concatenate(out_pipe)[:n] - raw).max()),
    }


def profile(fn: Callable[[], object], top: int = 15) -> None:
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=128, help="images per image set")
    parser.add_argument("--texts", type=int, default=1000, help="texts per text set")
    parser.add_argument("--chunk", type=int, default=64, help="items per alternating chunk")
    parser.add_argument("--repeats", type=int, default=2, help="passes over the data")
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--only", choices=("images", "texts"), default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--profile", action="store_true", help="cProfile one pipeline call each")
    parser.add_argument("--image-backbones", default="efficientnet_lite0")
    parser.add_argument("--text-backbones", default="minilm_l6")
    args = parser.parse_args()

    import torch
    from filament.ml.embedder import load_embedder

    torch.set_num_threads(args.threads)
    results: dict[str, dict] = {}
    if args.only != "texts":
        sets = image_sets(args.images)
        for backbone in filter(None, args.image_backbones.split(",")):
            embedder = load_embedder(backbone, device="cpu")
            for name, images in sets.items():
                print(f"{backbone} / {name}: {len(images)} images ...", flush=True)
                results[f"{backbone} / {name}"] = bench_images(
                    embedder, images, args.chunk, args.repeats
                )
                if args.profile:
                    profile(lambda images=images, e=embedder: e.embed_images(images[:64]))
    if args.only != "images":
        sets = text_sets(args.texts)
        for backbone in filter(None, args.text_backbones.split(",")):
            embedder = load_embedder(backbone, device="cpu")
            for name, texts in sets.items():
                print(f"{backbone} / {name}: {len(texts)} texts ...", flush=True)
                results[f"{backbone} / {name}"] = bench_texts(
                    embedder, texts, args.chunk * 4, args.repeats
                )
                if args.profile:
                    profile(lambda texts=texts, e=embedder: e.embed_texts(texts[:512]))

    load = os.getloadavg()
    print(
        f"\nCPU, torch {torch.__version__}, {args.threads} threads, {os.cpu_count()} cores, "
        f"load average {load[0]:.1f} / {load[1]:.1f}"
    )
    print(
        f"{'backbone / data':<38}{'pipeline/s':>11}{'bare/s':>9}{'ratio':>8}{'median':>8}"
        f"{'fwd in pipe':>12}{'other':>8}{'bare fwd':>9}  (ms/item)  target >= 80%"
    )
    for name, r in results.items():
        verdict = "ok" if r["ratio"] >= TARGET else "BELOW"
        print(
            f"{name:<38}{r['pipeline_per_s']:>11.1f}{r['bare_per_s']:>9.1f}"
            f"{r['ratio']:>8.0%}{r['median_chunk_ratio']:>8.0%}"
            f"{r['pipeline_forward_ms_per_item']:>12.1f}{r['pipeline_other_ms_per_item']:>8.1f}"
            f"{r['bare_forward_ms_per_item']:>9.1f}             {verdict}"
        )
    print()
    for name, r in results.items():
        extra = {k: round(v, 3) for k, v in r.items() if k.startswith(("serial", "padded", "max"))}
        print(f"{name}: {extra}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "machine": {
                        "cpu_cores": os.cpu_count(),
                        "torch_threads": args.threads,
                        "torch": torch.__version__,
                        "python": platform.python_version(),
                        "load_average_1_5_15": [round(x, 2) for x in load],
                    },
                    "target_ratio": TARGET,
                    "results": results,
                },
                indent=1,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
