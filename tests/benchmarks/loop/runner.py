"""Simulations in worker processes (one BLAS thread each), datasets loaded once per process."""

from __future__ import annotations

import time
from pathlib import Path

from loop.data import LOADERS, Dataset, embed
from loop.simulation import BUDGETS, Run, service_pick, simulate
from loop.variants import VARIANTS

_WORKER_DATA: dict[str, Dataset] = {}


def _init_worker(cache: Path, backbones: dict[str, str]) -> None:
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)
    _WORKER_DATA["cache"] = cache  # type: ignore[assignment]
    _WORKER_DATA["backbones"] = backbones  # type: ignore[assignment]


def _task(name: str, strategy: str, seed: int, refit_late: int, max_labels: int) -> Run:
    """``strategy`` may be ``"<strategy>@<variant name>"`` (see ``VARIANTS``)."""
    if name not in _WORKER_DATA:
        cache, backbones = _WORKER_DATA["cache"], _WORKER_DATA["backbones"]
        _WORKER_DATA[name] = embed(LOADERS[name](), cache, backbones)  # type: ignore[arg-type]
    strategy, _, variant = strategy.partition("@")
    picker = VARIANTS[variant](_WORKER_DATA[name]) if variant else service_pick
    budgets = tuple(b for b in BUDGETS if b <= max_labels)
    run = simulate(
        _WORKER_DATA[name], strategy, seed, picker=picker, budgets=budgets, refit_late=refit_late
    )
    run.strategy = f"{strategy}@{variant}" if variant else strategy
    return run


def run_tasks(
    tasks: list[tuple[str, str, int]],
    cache: Path,
    jobs: int,
    refit_late: int,
    max_labels: int,
    backbones: dict[str, str] | None = None,
) -> dict[tuple[str, str, int], Run]:
    """Run simulations in ``jobs`` processes (one BLAS thread each), slowest kinds first;
    ``backbones`` maps a modality to a non-default backbone (``data.embed``)."""
    from concurrent.futures import ProcessPoolExecutor, as_completed

    cost = {"cifar10": 0, "posters": 1, "agnews": 2, "uci": 3}
    ordered = sorted(tasks, key=lambda t: (cost.get(t[0], 9), t[1] == "random"))
    done = {}
    started = time.perf_counter()
    with ProcessPoolExecutor(
        jobs, initializer=_init_worker, initargs=(cache, backbones or {})
    ) as pool:
        futures = {pool.submit(_task, *t, refit_late, max_labels): t for t in ordered}
        for future in as_completed(futures):
            task = futures[future]
            done[task] = future.result()
            print(
                f"  [{len(done)}/{len(tasks)} at {time.perf_counter() - started:.0f} s] "
                f"{' '.join(map(str, task))}: {done[task].seconds:.0f} s",
                flush=True,
            )
    return done
