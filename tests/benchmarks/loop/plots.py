"""The label-efficiency charts: metric vs labels, one line per strategy, min-max band."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from loop.simulation import BATCH, BUDGETS

COLORS = {
    "margin": "tab:blue",
    "entropy": "tab:orange",
    "least_confidence": "tab:green",
    "random": "tab:gray",
    # the selection before TypiClust (k-center greedy): stored results only, no longer runnable
    "margin@previous": "tab:purple",
    "margin@probe": "tab:red",  # peeks at the answers: a bound, not a strategy
}
LEGEND = {"margin@probe": "probe (sees the answers: a bound)"}
METRIC_TITLES = {"accuracy": "accuracy", "macro_f1": "macro-F1", "micro_f1": "micro-F1"}


def plot(result: dict, path: Path, default: str, budgets=BUDGETS) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = {s: e for s, e in result["strategies"].items() if s in COLORS}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, metric in zip(axes, result["metrics"], strict=True):
        for strategy in sorted(entries, key=list(COLORS).index):
            seeds = entries[strategy]["per_seed"]
            values = np.array(
                [
                    [
                        np.nan if s[metric].get(str(b)) is None else s[metric][str(b)]
                        for b in budgets
                    ]
                    for s in seeds
                ]
            )
            color = COLORS[strategy]
            ax.plot(
                budgets,
                values.mean(axis=0),
                "--" if strategy == "random" else ":" if "@" in strategy else "-",
                marker="o",
                ms=3,
                lw=2.2 if strategy == default else 1.4,
                color=color,
                label=f"{LEGEND.get(strategy, strategy)}{' (default)' * (strategy == default)}"
                f", {len(seeds)} seeds",
            )
            ax.fill_between(
                budgets, values.min(axis=0), values.max(axis=0), color=color, alpha=0.15, lw=0
            )
        if "random" in entries and 200 in budgets:
            # the acceptance bar: random's 200-label score, to be reached by 120 labels
            ax.axhline(entries["random"]["mean"][metric]["200"], color="tab:gray", lw=0.8, ls=":")
            ax.axvline(120, color="tab:gray", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_xticks(budgets, ["" if b == 120 else str(b) for b in budgets])
        ax.minorticks_off()
        ax.set_xlabel("labels (log scale); dotted: random@200 and 120 labels (60 %)")
        ax.set_ylabel(f"test {METRIC_TITLES[metric]}")
        ax.grid(alpha=0.3)
    axes[0].legend(loc="lower right", fontsize=8)
    fig.suptitle(
        f"{result['title']}: pool {result['pool']}, test {result['test']}, {result['backbone']}"
        f" + train_head, batches of {BATCH}; mean over seeds, band = min-max",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
