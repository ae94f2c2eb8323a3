"""Fine-tuning benchmark: prints figures (not a pass/fail test).

- fine-tune throughput (images/s, tokens/s) of the default backbones on CPU (and CUDA if present)
- head-only vs fine-tuned accuracy at 100 and 300 labels: CIFAR-10 subset (labels.csv
  train/test split: labels drawn from train, scored on the 1,000 test images) and UCI sentiment
  (a fixed 1,000-sentence held-out split, labels drawn from the other 2,000)
- export time, archive size and peak memory per default backbone
- /score-style latency p50/p99 at batch 1 and 32 (raw inputs -> probabilities) for the exported
  ONNX model (onnxruntime CPU) vs PyTorch
- wall-clock budgets the unit tests used to assert: ``train_head`` on 1,000 labels (3 s) and
  the slow test's brief fine-tune of both real default backbones (120 s)

The fine-tune budget is CPU-sized (printed with the figures): a GPU worker runs the same code
at 224 px with the defaults. Usage: ``python -u tests/benchmarks/bench_finetune.py [--quick]``.
"""

import argparse
import contextlib
import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import torch
from filament.ml import classifier
from filament.ml.classifier import ClassifierModel, predict_proba
from filament.ml.embedder import load_embedder
from filament.ml.export import export_files
from filament.ml.finetune import FinetuneConfig, finetune
from filament.ml.heads import train_head
from filament.ml.splits import holdout_split

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests import datasets


def percentiles(samples: list[float]) -> str:
    ms = np.array(samples) * 1000
    return f"p50 {np.percentile(ms, 50):7.1f} ms  p99 {np.percentile(ms, 99):7.1f} ms (n={len(ms)})"


@contextlib.contextmanager
def peak_rss() -> Iterator[dict[str, float]]:
    """Peak resident memory growth (MiB) of this process inside the block, sampled every 20 ms."""
    process = psutil.Process()
    start = process.memory_info().rss
    out = {"peak_mib": 0.0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            out["peak_mib"] = max(out["peak_mib"], (process.memory_info().rss - start) / 2**20)
            stop.wait(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield out
    finally:
        stop.set()
        thread.join()


def load_cifar() -> tuple[list[bytes], np.ndarray, list[bytes], np.ndarray, list[str]]:
    """The CIFAR-10 subset's own split: train images and labels, test images and labels, names."""
    ds = datasets.load_cifar10()
    train, test = ds.rows("train"), ds.rows("test")
    return ds.read(train), ds.Y[train], ds.read(test), ds.Y[test], ds.label_names


def load_uci() -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    """UCI sentences: a fixed 1,000-sentence test split, the other 2,000 as the pool."""
    ds = datasets.load_uci()
    order = np.random.default_rng(0).permutation(len(ds.inputs))
    test, pool = order[:1000], order[1000:]
    return [ds.inputs[i] for i in pool], ds.Y[pool], [ds.inputs[i] for i in test], ds.Y[test]


def sample_labels(y: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """A stratified draw of ``n`` rows (the labels an annotator would have given)."""
    _, chosen = holdout_split(y, False, n / len(y), seed)
    return chosen


def throughput(devices: list[str], image_size: int) -> None:
    print("\n## Fine-tune throughput (training steps incl. decoding/augmentation)")
    cifar_x, cifar_y, *_ = load_cifar()
    pool_texts, pool_y, *_ = load_uci()
    rows = sample_labels(cifar_y, 80)
    trows = sample_labels(pool_y, 160)
    for device in devices:
        for size in sorted({image_size, 224}):
            embedder = load_embedder("efficientnet_lite0", device=device)
            n = len(rows) if device == "cuda" or size <= 160 else 40
            config = FinetuneConfig(
                epochs=1,
                image_size=size,
                device=device,
                val_fraction=0.0,
                linear_probe_init=False,
                max_items=n,
            )
            result = finetune(
                embedder, [cifar_x[i] for i in rows], cifar_y[rows], False, 10, config
            )
            print(
                f"efficientnet_lite0 {device:4} {size}px batch 32: "
                f"{result.metrics['items_per_second']:7.1f} images/s ({n} images)"
            )
        embedder = load_embedder("minilm_l6", device=device)
        config = FinetuneConfig(epochs=1, device=device, val_fraction=0.0, linear_probe_init=False)
        result = finetune(embedder, [pool_texts[i] for i in trows], pool_y[trows], False, 2, config)
        print(
            f"minilm_l6          {device:4} batch 16: {result.metrics['items_per_second']:7.1f} "
            f"texts/s, {result.metrics['tokens_per_second']:8.0f} tokens/s (160 sentences)"
        )


def budgets() -> None:
    """Times that tests/ml used to assert; a unit test checks behaviour, the time is printed."""
    print("\n## Wall-clock budgets (CPU; the figures tests/ml once asserted)")
    X, y = datasets.blobs(1000, 4, dim=384, spread=3.0)  # test_ml_heads' thousand labels
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    train_head(X[:300], y[:300], multilabel=False, n_labels=4)  # warm-up
    t0 = time.perf_counter()
    fit = train_head(X, y, multilabel=False, n_labels=4)
    seconds = time.perf_counter() - t0
    print(
        f"train_head, 1,000 labels x 384-d, 4 classes, {fit.metrics['cv_folds']}-fold CV: "
        f"{seconds:.2f} s (budget 3 s{', OVER' if seconds > 3 else ''})"
    )
    # test_finetune's slow test: 40 CIFAR-10 images at 96 px and 40 UCI sentences, 1 epoch
    images, labels, _ = datasets.cifar10_slice(10)
    texts, text_labels = datasets.uci_slice(40)
    image_embedder = load_embedder("efficientnet_lite0", device="cpu")
    text_embedder = load_embedder("minilm_l6", device="cpu")
    t0 = time.perf_counter()
    finetune(image_embedder, images, labels, False, 4, FinetuneConfig(epochs=1, image_size=96))
    image_seconds = time.perf_counter() - t0
    finetune(text_embedder, texts, text_labels, False, 2, FinetuneConfig(epochs=1))
    seconds = time.perf_counter() - t0
    print(
        f"brief fine-tune of both default backbones (40 images at 96 px, 40 sentences, 1 "
        f"epoch): {seconds:.1f} s ({image_seconds:.1f} s images) "
        f"(budget 120 s{', OVER' if seconds > 120 else ''})"
    )


def accuracy(
    sizes: list[int], config: FinetuneConfig, test_limit: int | None = None
) -> dict[str, ClassifierModel]:
    print(
        "\n## Head-only vs fine-tuned accuracy "
        f"(fine-tune: {config.epochs} epochs, images at {config.image_size}px, texts max "
        f"{config.max_length} tokens, 80/20 hold-out for epoch selection, CPU; head: the "
        "product's train_head on frozen 224px / 256-token embeddings, all labels)"
    )
    models: dict[str, ClassifierModel] = {}
    cifar_x, cifar_y, test_x, test_y, _ = load_cifar()
    uci_x, uci_y, uci_test_x, uci_test_y = load_uci()
    for name, pool_x, pool_y, tx, ty, n_labels in (
        ("efficientnet_lite0", cifar_x, cifar_y, test_x, test_y, 10),
        ("minilm_l6", uci_x, uci_y, uci_test_x, uci_test_y, 2),
    ):
        tx, ty = tx[:test_limit], ty[:test_limit]
        embedder = load_embedder(name, device="cpu")
        embed_fn = (
            embedder.embed_images if embedder.spec.modality == "image" else embedder.embed_texts
        )
        t0 = time.perf_counter()
        test_emb = embed_fn(tx)
        print(f"{name}: embedded {len(tx)} test items in {time.perf_counter() - t0:.0f} s")
        for n in sizes:
            rows = sample_labels(pool_y, n)
            inputs = [pool_x[i] for i in rows]
            fit = train_head(embed_fn(inputs), pool_y[rows], False, n_labels)
            head_acc = float((fit.model.predict_proba(test_emb).argmax(1) == ty).mean())
            t0 = time.perf_counter()
            result = finetune(embedder, inputs, pool_y[rows], False, n_labels, config)
            ft_seconds = time.perf_counter() - t0
            probs = predict_proba(result.model, embedder, tx)
            ft_acc = float((probs.argmax(1) == ty).mean())
            m = result.metrics
            print(
                f"  {name:18} {n:4} labels: head-only {head_acc:.3f}   fine-tuned {ft_acc:.3f}   "
                f"(hold-out: linear probe {m['head_baseline']:.3f} -> best epoch "
                f"{m['best_epoch']} {m['primary_metric']:.3f}; fine-tune {ft_seconds:.0f} s, "
                f"{m['items_per_second']:.1f} items/s)"
            )
            models[name] = ClassifierModel.from_head(embedder, fit.model)
    return models


def latency(models: dict[str, ClassifierModel], repeats: int) -> None:
    import onnxruntime as ort

    print("\n## Export and /score-style latency (raw inputs -> probabilities, CPU, 2 threads)")
    _, _, test_x, _, labels = load_cifar()
    _, _, uci_test_x, _ = load_uci()
    for name, model in models.items():
        embedder = load_embedder(name, device="cpu")
        inputs = test_x if model.modality == "image" else uci_test_x
        names = labels if model.modality == "image" else ["negative", "positive"]
        with peak_rss() as memory:
            t0 = time.perf_counter()
            files = export_files(model, embedder, names, False, inputs[:8], f"# {name}\n")
            seconds = time.perf_counter() - t0
        size = sum(len(v) for v in files.values()) / 2**20
        parity = json.loads(files["parity.json"])
        onnx_mib = len(files["model.onnx"]) / 2**20
        print(
            f"{name}: export {seconds:.1f} s, archive {size:.0f} MiB (onnx {onnx_mib:.0f} MiB), "
            f"peak RSS +{memory['peak_mib']:.0f} MiB, max |dp| onnx "
            f"{parity['onnx_max_abs_diff']:.1e} torchscript "
            f"{parity['torchscript_max_abs_diff']:.1e}"
        )
        session = ort.InferenceSession(files["model.onnx"], providers=["CPUExecutionProvider"])

        def run_onnx(batch: list, embedder=embedder, model=model, session=session) -> np.ndarray:
            out = []
            for _, (x, mask) in classifier.iter_batches(model, embedder, batch, 32):
                feed = (
                    {"pixel_values": x.numpy()}
                    if mask is None
                    else {"input_ids": x.numpy(), "attention_mask": mask.numpy()}
                )
                out.append(session.run(["probabilities"], feed)[0])
            return np.concatenate(out)

        for batch_size in (1, 32):
            n = repeats if batch_size == 1 else max(5, repeats // 4)
            threads = torch.get_num_threads()
            for label, fn, torch_threads in (
                (
                    f"pytorch {threads} thr",
                    lambda b, m=model, e=embedder: predict_proba(m, e, b),
                    threads,
                ),
                ("pytorch 1 thr", lambda b, m=model, e=embedder: predict_proba(m, e, b), 1),
                ("onnxruntime  ", run_onnx, threads),
            ):
                torch.set_num_threads(torch_threads)
                fn(inputs[:batch_size])  # warm-up
                samples = []
                for i in range(n):
                    start = (i * batch_size) % (len(inputs) - batch_size)
                    t0 = time.perf_counter()
                    fn(inputs[start : start + batch_size])
                    samples.append(time.perf_counter() - t0)
                torch.set_num_threads(threads)
                print(f"  {name:18} {label} batch {batch_size:2}: {percentiles(samples)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--sections", default="throughput,budgets,accuracy,latency")
    args = parser.parse_args()
    if not datasets.DATASETS_DIR.is_dir():
        raise SystemExit(f"datasets absent: {datasets.DATASETS_DIR}")
    started = time.perf_counter()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(
        f"# bench_finetune: torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"devices {devices}"
    )
    sizes = [40] if args.quick else [100, 300]
    config = FinetuneConfig(epochs=1 if args.quick else args.epochs, image_size=args.image_size)
    sections = set(args.sections.split(","))
    if "throughput" in sections:
        throughput(devices, args.image_size)
    if "budgets" in sections:
        budgets()
    models = {}
    if "accuracy" in sections:
        models = accuracy(sizes, config, 100 if args.quick else None)
    else:  # latency does not depend on the head's weights
        for name in ("efficientnet_lite0", "minilm_l6"):
            n_labels = 10 if name == "efficientnet_lite0" else 2
            models[name] = ClassifierModel.from_embedder(load_embedder(name), n_labels).eval()
    if "latency" not in sections:
        return
    latency(models, repeats=10 if args.quick else 40)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
