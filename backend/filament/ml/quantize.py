"""int8 ONNX: onnxruntime's dynamic quantization, offered only when it keeps the model's labels.

``quantize_int8(onnx_bytes)`` quantizes the weights of MatMul / Gemm / Conv / Gather nodes to int8
(activations are quantized per batch at run time: no calibration set is needed). Transformer
text models keep their labels this way; CNNs such as EfficientNet-Lite0 (depthwise convolutions)
do not, and are refused by the measurement below (docs/benchmarks.md has the figures). Whether the
result is good enough is measured, not assumed: ``compare`` scores the same inputs with the
float and the int8 model and reports accuracy of both against human labels and how often the
two predict the same labels. ``Int8Report.accepted`` applies the stated tolerance:

- accuracy drop (float - int8) at most ``MAX_ACCURACY_DROP`` (1 point), and
- agreement with the float model at least ``MIN_AGREEMENT`` (99 % of the items), and
- at least ``MIN_ITEMS`` labeled items measured (fewer cannot show a 1-point drop at all).

Accuracy: the top label equals the human label (single-label), or the mean over labels of
``(p >= 0.5) == human`` (multi-label). Agreement: the predicted label (set) is identical.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "MAX_ACCURACY_DROP",
    "MIN_AGREEMENT",
    "MIN_ITEMS",
    "Int8Report",
    "compare",
    "quantize_int8",
]

MAX_ACCURACY_DROP = 0.01
MIN_AGREEMENT = 0.99
MIN_ITEMS = 10


@dataclass(frozen=True)
class Int8Report:
    """What was measured: on ``n`` items of ``labels_from`` (``audit`` or ``labeled``)."""

    n: int
    labels_from: str
    accuracy_float: float
    accuracy_int8: float
    agreement: float
    max_abs_probability_diff: float

    @property
    def accuracy_drop(self) -> float:
        return self.accuracy_float - self.accuracy_int8

    @property
    def accepted(self) -> bool:
        return (
            self.n >= MIN_ITEMS
            and self.accuracy_drop <= MAX_ACCURACY_DROP + 1e-12
            and self.agreement >= MIN_AGREEMENT
        )

    def reason(self) -> str:
        """Why int8 is refused ('' when it is accepted)."""
        if self.n < MIN_ITEMS:
            return f"only {self.n} labeled items to measure it on (at least {MIN_ITEMS} are needed)"
        problems = []
        if self.accuracy_drop > MAX_ACCURACY_DROP + 1e-12:
            problems.append(
                f"accuracy drops from {self.accuracy_float:.1%} to {self.accuracy_int8:.1%} "
                f"(more than {MAX_ACCURACY_DROP * 100:g} point)"
            )
        if self.agreement < MIN_AGREEMENT:
            problems.append(
                f"it agrees with the float model on {self.agreement:.1%} of the items "
                f"(less than {MIN_AGREEMENT:.0%})"
            )
        return "; ".join(problems)

    def as_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "accuracy_drop": round(self.accuracy_drop, 6),
            "accepted": self.accepted,
            "tolerance": {
                "max_accuracy_drop": MAX_ACCURACY_DROP,
                "min_agreement": MIN_AGREEMENT,
                "min_items": MIN_ITEMS,
            },
        }


def quantize_int8(onnx_model: bytes) -> bytes:
    """The dynamically quantized (int8 weights) model; onnxruntime's API works on files."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    # it logs a warning per tensor whose shape it cannot infer (dozens for a CNN) on the root
    # logger: nothing a user can act on, and the result is measured by `compare` anyway
    root.setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
        source.write_bytes(onnx_model)
        try:
            # per-channel scales and 7-bit weights (reduce_range: no saturation in x86's u8*s8
            # dot products without VNNI). Measured on a MiniLM head, 256 held-out UCI
            # sentences: agreement with the float model 94.1% with the plain QInt8 defaults,
            # 99.2% with these, accuracy unchanged (docs/benchmarks.md)
            quantize_dynamic(
                source, target, weight_type=QuantType.QInt8, per_channel=True, reduce_range=True
            )
        finally:
            root.setLevel(level)
        return target.read_bytes()


def _session(model: bytes) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def _probabilities(logits: np.ndarray, multilabel: bool) -> np.ndarray:
    logits = logits.astype(np.float64)
    if multilabel:
        return np.asarray(1 / (1 + np.exp(-logits)))
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return np.asarray(exp / exp.sum(axis=1, keepdims=True))


def predicted(probabilities: np.ndarray, multilabel: bool) -> np.ndarray:
    """Boolean ``(n, labels)``: the labels each row predicts."""
    if multilabel:
        return np.asarray(probabilities >= 0.5)
    chosen = np.zeros(probabilities.shape, dtype=bool)
    chosen[np.arange(len(probabilities)), probabilities.argmax(axis=1)] = True
    return chosen


def accuracy(chosen: np.ndarray, truth: np.ndarray, multilabel: bool) -> float:
    if not len(truth):
        return 0.0
    if multilabel:
        return float((chosen == truth).mean())
    return float((chosen & truth).any(axis=1).mean())


def compare(
    float_model: bytes,
    int8_model: bytes,
    feeds: Iterable[dict[str, np.ndarray]],
    truth: np.ndarray,
    multilabel: bool,
    labels_from: str,
) -> Int8Report:
    """Score ``feeds`` (batches, in the order of ``truth``'s rows) with both models."""
    sessions = _session(float_model), _session(int8_model)
    rows: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
    for feed in feeds:
        for session, out in zip(sessions, rows, strict=True):
            out.append(_probabilities(session.run(["logits"], feed)[0], multilabel))
    width = truth.shape[1]
    full, int8 = (np.concatenate(r) if r else np.zeros((0, width)) for r in rows)
    chosen_float, chosen_int8 = predicted(full, multilabel), predicted(int8, multilabel)
    n = len(truth)
    return Int8Report(
        n=n,
        labels_from=labels_from,
        accuracy_float=round(accuracy(chosen_float, truth, multilabel), 6),
        accuracy_int8=round(accuracy(chosen_int8, truth, multilabel), 6),
        agreement=round(float((chosen_float == chosen_int8).all(axis=1).mean()) if n else 0.0, 6),
        max_abs_probability_diff=round(float(np.abs(full - int8).max()) if n else 0.0, 6),
    )
