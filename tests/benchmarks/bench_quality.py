"""Quality-tools benchmark: likely label errors found among planted ones, and "more like this" /
near-duplicate speed on a 100k-item pool.

**Label errors** (UCI sentences, AG News; the embeddings of ``bench_loop.py``'s cache, package
``loop``): per seed, a labeled set of ``--labeled`` pool items; 5 % of its labels are flipped
to a uniformly drawn other class; ``filament.ml.heads.train_head`` runs as the head-training job
does and ``filament.quality.label_issues`` checks its out-of-fold predictions (what the job
stores: flagged items ranked by self-confidence). Reported: precision and recall of the top k
flagged items (k = the number flipped), and of everything flagged; beside them the top k of
other orders: every labeled item by self-confidence (no confident-learning filter: what the
items list's "label error" sort shows), and the normalised margin, within the flagged set and
over every item. The datasets' own labels are not perfect, so a
"false positive" is sometimes a real error of the original; the figures are lower bounds.

**Speed** (synthetic: random unit vectors, float16 as stored, 100k x 384): ``nearest`` for one
query (k = 40, what the API asks for 20 results), p50 / p99 over ``--queries``; one embed
chunk's near-duplicate pairs (512 new rows against the pool); grouping the pairs.

**Through the API** (``--api``: ``bench_service.py``'s stack, SQLite, one API process over
HTTP): a 100k-row text project with random unit vectors as embeddings (``fake_embeddings``),
200 labels and a head trained by the worker's ``run_train_head``; p50 / p99 of one client's
``GET /items/{id}/similar?limit=20`` and of ``GET /items`` sorted by uncertainty and in the
near-duplicates view (the ordered path: every id of the project read and ordered).

Usage: ``nice -n 10 python tests/benchmarks/bench_quality.py [--datasets uci,agnews]
[--seeds 3] [--labeled 2000] [--skip-speed] [--api]``; writes ``docs/benchmarks/quality.json``.
Skips a dataset whose files (``../shared/datasets``) are absent.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "backend"), str(ROOT / "worker"), str(ROOT)]
from loop.data import LOADERS, embed  # noqa: E402
from loop.report import OUT_DIR  # noqa: E402

from tests import datasets  # noqa: E402

FILES = {"uci": datasets.UCI, "agnews": datasets.AGNEWS}
NOISE = 0.05


def flip(y: np.ndarray, n_classes: int, share: float, rng: np.random.Generator):
    """``share`` of the labels moved to a uniformly drawn other class; the flipped rows."""
    rows = rng.choice(len(y), round(share * len(y)), replace=False)
    noisy = y.copy()
    noisy[rows] = (y[rows] + rng.integers(1, n_classes, len(rows))) % n_classes
    return noisy, np.sort(rows)


def precision_recall(found: np.ndarray, planted: np.ndarray) -> tuple[float, float]:
    hits = len(np.intersect1d(found, planted))
    return (hits / len(found) if len(found) else 0.0), hits / len(planted)


def label_errors(name: str, seeds: int, labeled: int, cache: Path) -> dict:
    from filament.ml.heads import train_head
    from filament.quality.label_issues import version_file
    from threadpoolctl import threadpool_limits

    ds = embed(LOADERS[name](), cache)
    assert ds.X is not None
    n_classes = len(ds.label_names)
    project = SimpleNamespace(task=SimpleNamespace(multilabel=False), labels=ds.label_names)
    runs = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(ds.pool, min(labeled, len(ds.pool)), replace=False))
        X = np.asarray(ds.X[rows], dtype=np.float16).astype(np.float32)  # as stored
        noisy, planted = flip(ds.Y[rows], n_classes, NOISE, rng)
        started = time.perf_counter()
        with threadpool_limits(1, user_api="blas"):
            fit = train_head(X, noisy, False, n_classes, seed=seed)
        trained = time.perf_counter() - started
        started = time.perf_counter()
        data, summary = version_file(project, np.arange(len(rows)), noisy, fit.cv_probs)
        checked = time.perf_counter() - started
        with np.load(io.BytesIO(data)) as stored:
            ranked = stored["ranked"]
        k = len(planted)
        top_p, top_r = precision_recall(ranked[:k], planted)
        all_p, all_r = precision_recall(ranked, planted)
        # the alternatives: the normalised margin instead of self-confidence, without the
        # confident-learning filter (every labeled item, as the items list's sort orders them)
        own = fit.cv_probs[np.arange(len(rows)), noisy]
        others = fit.cv_probs.copy()
        others[np.arange(len(rows)), noisy] = -np.inf
        margin = others.max(axis=1) - own
        base_p, base_r = precision_recall(np.argsort(own, kind="stable")[:k], planted)
        by_margin = ranked[np.argsort(-margin[ranked], kind="stable")]
        flagged_margin_p, _ = precision_recall(by_margin[:k], planted)
        margin_p, _ = precision_recall(np.argsort(-margin, kind="stable")[:k], planted)
        runs.append(
            {
                "seed": seed,
                "labeled": len(rows),
                "flipped": k,
                "head": fit.model.kind,
                "top_k": {"precision": top_p, "recall": top_r},
                "flagged": {"count": summary["flagged"], "precision": all_p, "recall": all_r},
                "all_by_self_confidence_top_k": {"precision": base_p, "recall": base_r},
                "flagged_by_margin_top_k": {"precision": flagged_margin_p},
                "all_by_margin_top_k": {"precision": margin_p},
                "train_seconds": round(trained, 2),
                "check_seconds": round(checked, 4),
            }
        )
        print(
            f"  {name} seed {seed}: top-{k} precision {top_p:.3f} recall {top_r:.3f}; "
            f"flagged {summary['flagged']} (precision {all_p:.3f}, recall {all_r:.3f}); "
            f"all by self-confidence {base_p:.3f}, flagged by margin {flagged_margin_p:.3f}, "
            f"all by margin {margin_p:.3f}",
            flush=True,
        )

    def mean(path: tuple[str, str]) -> float:
        return float(np.mean([r[path[0]][path[1]] for r in runs]))

    return {
        "title": ds.title,
        "runs": runs,
        "mean": {
            "top_k_precision": mean(("top_k", "precision")),
            "top_k_recall": mean(("top_k", "recall")),
            "flagged": mean(("flagged", "count")),
            "flagged_precision": mean(("flagged", "precision")),
            "flagged_recall": mean(("flagged", "recall")),
            "all_by_self_confidence_top_k_precision": mean(
                ("all_by_self_confidence_top_k", "precision")
            ),
            "flagged_by_margin_top_k_precision": mean(("flagged_by_margin_top_k", "precision")),
            "all_by_margin_top_k_precision": mean(("all_by_margin_top_k", "precision")),
        },
    }


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


def speed(n: int, dim: int, queries: int) -> dict:
    import torch
    from filament.ml.similarity import groups, near_duplicate_pairs, nearest

    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((n, dim), dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    # a few planted near-duplicates, so the pair search has something to find
    twins = rng.choice(n, 200, replace=False)
    matrix[twins[100:]] = matrix[twins[:100]] + 0.003 * rng.standard_normal((100, dim))
    stored = matrix.astype(np.float16)
    del matrix
    result: dict = {"items": n, "dim": dim, "queries": queries}
    for threads in (1, 2):
        torch.set_num_threads(threads)  # the API's processes run one (FILAMENT_API_TORCH_THREADS)
        times = []
        for q in rng.integers(0, n, queries):
            started = time.perf_counter()
            nearest(stored, stored[q], 40, exclude=np.array([q]))
            times.append(time.perf_counter() - started)
        result[f"nearest_{threads}_thread"] = percentiles(times)
        chunk = np.arange(n - 512, n)
        started = time.perf_counter()
        near_duplicate_pairs(stored, chunk, 0.98)
        result[f"pairs_512_vs_pool_{threads}_thread_s"] = time.perf_counter() - started
    a, b, _ = near_duplicate_pairs(stored, twins[100:], 0.98)
    started = time.perf_counter()
    _, group = groups(a, b)
    result["groups_s"] = time.perf_counter() - started
    result["planted_twins_grouped"] = len(np.unique(group))  # of 100
    print(f"  speed: {json.dumps(result)}", flush=True)
    return result


def speed_api(rows: int, requests: int) -> dict:
    import os
    import tempfile

    import httpx
    from bench_service import configure, fake_embeddings, free_port, login, start_api
    from filament.core.redis import start_embedded_redis
    from filament.core.settings import get_settings

    result: dict = {"items": rows, "requests": requests, "database": "sqlite", "api_processes": 1}
    os.environ["FILAMENT_API_WORKERS"] = "1"
    with tempfile.TemporaryDirectory(prefix="filament-bench-quality-") as tmp:
        os.environ["FILAMENT_DATA_DIR"] = tmp
        get_settings.cache_clear()
        server, redis_url = start_embedded_redis(get_settings())
        configure(Path(tmp), None, redis_url)
        port = free_port()
        api = start_api(port)
        base = f"http://127.0.0.1:{port}/api/v1"
        try:
            auth = login(base)
            pid = _text_project(base, auth, rows)
            fake_embeddings(pid)
            _train(base, auth, pid, 200)
            http = httpx.Client(base_url=base, headers=auth, timeout=60)
            listed = http.get(f"/projects/{pid}/items?limit=1000").json()["data"]
            ids = [item["id"] for item in listed]
            rng = np.random.default_rng(0)
            items = f"/projects/{pid}/items"
            http.get(f"{items}/{ids[0]}/similar?limit=20")  # loads the arrays
            paths = {
                "similar_item": lambda: f"{items}/{int(rng.choice(ids))}/similar?limit=20",
                "items_sorted_by_uncertainty": lambda: (
                    f"{items}?sort=-uncertainty&limit=50&offset={int(rng.integers(0, 2000)) * 50}"
                ),
                "items_near_duplicate_view": lambda: f"{items}?quality=near_duplicate&limit=50",
                "items_keyset_page": lambda: f"{items}?limit=50&after={int(rng.integers(0, rows))}",
            }
            for name, path in paths.items():
                times = []
                for _ in range(requests):
                    url = path()
                    started = time.perf_counter()
                    answer = http.get(url)
                    times.append(time.perf_counter() - started)
                    assert answer.status_code == 200, answer.text
                result[name] = percentiles(times)
        finally:
            api.terminate()
            api.wait()
            server.shutdown()  # type: ignore[attr-defined]
    print(f"  api: {json.dumps(result)}", flush=True)
    return result


def _text_project(base: str, auth: dict[str, str], rows: int) -> int:
    from bench_service import bench_text_ingest

    pid, _ = bench_text_ingest(base, auth, rows)
    return pid


def _train(base: str, auth: dict[str, str], pid: int, labels: int) -> None:
    import httpx
    from filament_worker.train import run_train_head

    http = httpx.Client(base_url=base, headers=auth, timeout=60)
    page = http.get(f"/projects/{pid}/items?limit={labels}").json()["data"]
    for n, item in enumerate(page):
        http.post(
            f"/projects/{pid}/items/{item['id']}/annotations",
            json={"labels": ["positive" if n % 2 else "negative"]},
        )
    run_train_head(pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="uci,agnews")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--labeled", type=int, default=2000)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/filament-bench-cache"))
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--api", action="store_true", help="also measure through the API")
    parser.add_argument("--api-requests", type=int, default=200)
    parser.add_argument("--out", type=Path, default=OUT_DIR / "quality.json")
    args = parser.parse_args()
    out = json.loads(args.out.read_text()) if args.out.exists() else {}
    out.setdefault("label_errors", {})
    for name in [d for d in args.datasets.split(",") if d]:
        if not FILES[name].exists():
            print(f"{name}: {FILES[name]} is absent, skipped")
            continue
        print(f"{name}: label errors, {args.seeds} seeds", flush=True)
        out["label_errors"][name] = label_errors(name, args.seeds, args.labeled, args.cache)
        out["label_errors"][name]["noise"] = NOISE
    if not args.skip_speed:
        out["speed"] = speed(100_000, 384, args.queries)
    if args.api:
        out["api"] = speed_api(100_000, args.api_requests)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: v.get("mean") for k, v in out["label_errors"].items()}, indent=1))


if __name__ == "__main__":
    main()
