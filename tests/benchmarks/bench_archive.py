"""Model archives by format: prints figures (not a pass/fail test).

For a text model (MiniLM-L6 head on UCI sentences) and an image model (EfficientNet-Lite0 head
on the CIFAR-10 subset), each trained on labels drawn from the training rows and judged on
held-out test rows, and for each archive variant (`onnx`, `onnx` + int8, `torchscript`,
`safetensors`, `all`):

- archive size (the zip as the service stores it) and build time (export, parity checks, the
  int8 measurement, zipping)
- predict latency per item, with the archive's own `predict.py` runner (model loaded once):
  batch 32 over the test rows, and batch 1 on a few of them; preprocessing included
- agreement with the service's model (PyTorch, `predict_proba`) and accuracy on the held-out
  labels, next to the service's accuracy

torch runs on one thread (``--torch-threads``), onnxruntime on its default pool.

Usage: ``python -u tests/benchmarks/bench_archive.py [--quick] [--json FILE]``.
"""

import argparse
import importlib.util
import io
import json
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from filament.ml.classifier import ClassifierModel, predict_proba
from filament.ml.embedder import Embedder, load_embedder
from filament.ml.export import Evaluation, QuantizationRefused, export_files
from filament.ml.heads import train_head
from filament.ml.splits import holdout_split

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests import datasets

VARIANTS: list[tuple[str, tuple[str, ...], bool]] = [
    ("onnx", ("onnx",), False),
    ("onnx-int8", ("onnx",), True),
    ("torchscript", ("torchscript",), False),
    ("safetensors", ("safetensors",), False),
    ("all", ("onnx", "torchscript", "safetensors"), False),
]


def text_task(train_n: int, test_n: int) -> tuple[Any, ...]:
    ds = datasets.load_uci()
    order = np.random.default_rng(0).permutation(len(ds.inputs))
    test, pool = order[:test_n], order[1000:]
    _, chosen = holdout_split(ds.Y[pool], False, train_n / len(pool), 0)
    rows = pool[chosen]
    return (
        "minilm_l6",
        [ds.inputs[i] for i in rows],
        ds.Y[rows],
        [ds.inputs[i] for i in test],
        ds.Y[test],
        ds.label_names,
    )


def image_task(train_n: int, test_n: int) -> tuple[Any, ...]:
    ds = datasets.load_cifar10()
    train, test = ds.rows("train"), ds.rows("test")
    _, chosen = holdout_split(ds.Y[train], False, train_n / len(train), 0)
    rows = train[chosen]
    test = test[datasets.sample_rows(len(test), test_n)]
    return (
        "efficientnet_lite0",
        ds.read(rows),
        ds.Y[rows],
        ds.read(test),
        ds.Y[test],
        ds.label_names,
    )


def service_model(
    embedder: Embedder, inputs: Sequence[Any], y: np.ndarray, n_labels: int
) -> ClassifierModel:
    X = (
        embedder.embed_images(inputs)
        if embedder.spec.modality == "image"
        else embedder.embed_texts(inputs)
    )
    return ClassifierModel.from_head(embedder, train_head(X, y, False, n_labels).model)


def load_predict(folder: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"predict_{folder.name}", folder / "predict.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def runner_for(
    files: dict[str, bytes], folder: Path, image: bool
) -> Callable[[Sequence[Any]], np.ndarray]:
    """Raw inputs -> probabilities with the archive's predict.py (its model loaded once)."""
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    module = load_predict(folder)
    prep = json.loads(files["preprocessing.json"])
    multilabel = json.loads(files["labels.json"])["multilabel"]
    run = module.load_runner(prep)

    def predict(batch: Sequence[Any]) -> np.ndarray:
        if image:
            pixels = [module.image_tensor(module.load_image(b), prep) for b in batch]
            feed = {"pixel_values": np.stack(pixels)}
        else:
            feed = module.text_batch(list(batch), prep)
        return np.asarray(module.probabilities(run(feed), multilabel))

    return predict


def measure(task: tuple[Any, ...], quick: bool, work: Path) -> list[dict[str, Any]]:
    name, train_x, train_y, test_x, test_y, labels = task
    embedder = load_embedder(name, device="cpu")
    t0 = time.perf_counter()
    model = service_model(embedder, train_x, train_y, len(labels))
    print(
        f"\n### {name}: head on {len(train_x)} labels, {time.perf_counter() - t0:.0f} s; "
        f"{len(test_x)} held-out items, {len(labels)} labels",
        flush=True,
    )
    t0 = time.perf_counter()
    service = predict_proba(model, embedder, test_x)
    service_seconds = (time.perf_counter() - t0) / len(test_x)
    service_top = service.argmax(axis=1)
    service_accuracy = float((service_top == test_y).mean())
    truth = np.zeros((len(test_y), len(labels)), dtype=bool)
    truth[np.arange(len(test_y)), test_y] = True
    rows: list[dict[str, Any]] = [
        {
            "model": name,
            "variant": "service (PyTorch)",
            "ms_per_item_batch32": round(service_seconds * 1000, 2),
            "accuracy": round(service_accuracy, 4),
            "agreement_with_service": 1.0,
        }
    ]
    image = embedder.spec.modality == "image"
    for variant, formats, int8 in VARIANTS:
        t0 = time.perf_counter()
        evaluation = Evaluation(test_x, truth, "audit") if int8 else None
        try:
            files = export_files(
                model, embedder, labels, False, test_x[:4], f"# {name}\n", formats, evaluation
            )
        except QuantizationRefused as refused:
            print(f"{variant:12s} refused: {refused}", flush=True)
            rows.append(
                {
                    "model": name,
                    "variant": variant,
                    "refused": str(refused),
                    "quantization": refused.report.as_json(),
                }
            )
            continue
        spool = io.BytesIO()
        with zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED) as archive:
            for member, data in sorted(files.items()):
                archive.writestr(member, data)
        build = time.perf_counter() - t0
        row: dict[str, Any] = {
            "model": name,
            "variant": variant,
            "archive_mib": round(len(spool.getvalue()) / 2**20, 1),
            "build_seconds": round(build, 1),
        }
        if int8:
            row["quantization"] = json.loads(files["manifest.json"])["quantization"]
        if variant != "all":  # its predict.py runs the ONNX model: the `onnx` row
            predict = runner_for(files, work / f"{name}-{variant}", image)
            # warm-up: first-call allocations, and TorchScript's profiling runs, which
            # specialise the graph on the first calls' shapes
            predict(test_x[:32])
            for item in test_x[-3:]:
                predict([item])
            t0 = time.perf_counter()
            probs = np.concatenate([predict(test_x[i : i + 32]) for i in range(0, len(test_x), 32)])
            row["ms_per_item_batch32"] = round((time.perf_counter() - t0) / len(test_x) * 1000, 2)
            singles = test_x[: 8 if quick else 24]
            t0 = time.perf_counter()
            for item in singles:
                predict([item])
            row["ms_batch1"] = round((time.perf_counter() - t0) / len(singles) * 1000, 2)
            top = probs.argmax(axis=1)
            row["agreement_with_service"] = round(float((top == service_top).mean()), 4)
            row["accuracy"] = round(float((top == test_y).mean()), 4)
            row["max_abs_prob_diff"] = float(f"{np.abs(probs - service).max():.2e}")
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| model | variant | archive MiB | build s | ms/item (batch 32) | ms (batch 1) | "
        "accuracy (held-out) | agreement with service |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "refused" in r:
            lines.append(f"| {r['model']} | {r['variant']} | refused: {r['refused']} |||||| ")
            continue
        cells = [
            r.get(k, "—")
            for k in (
                "archive_mib",
                "build_seconds",
                "ms_per_item_batch32",
                "ms_batch1",
                "accuracy",
                "agreement_with_service",
            )
        ]
        lines.append(f"| {r['model']} | {r['variant']} | " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer labels and test items")
    parser.add_argument("--json", default=None, help="also write the rows here")
    parser.add_argument("--only", choices=["text", "image"], default=None)
    parser.add_argument("--torch-threads", type=int, default=1)
    args = parser.parse_args()
    # one torch thread: on this shared 2-core machine two OpenMP threads made a batch-1
    # EfficientNet forward 7x slower (970 ms vs 139 ms: spin-waits under oversubscription);
    # onnxruntime keeps its default pool (one thread per core)
    torch.set_num_threads(args.torch_threads)
    train_n, test_n = (100, 64) if args.quick else (300, 256)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "text"):
            rows += measure(text_task(train_n, test_n), args.quick, Path(tmp))
        if args.only in (None, "image"):
            rows += measure(image_task(train_n, test_n), args.quick, Path(tmp))
    print("\n" + table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
