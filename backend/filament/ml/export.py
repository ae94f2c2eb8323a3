"""Model archives for download: weights, TorchScript, ONNX, labels, preprocessing, a script.

``export_files(model, embedder, labels, multilabel, sample_inputs, card, formats)`` returns the
archive's members as ``{path: bytes}``; the caller zips / stores them. ``formats`` is every
format (``ARCHIVE_FORMATS``: the archive as it was before formats could be chosen) or one of
them; ``int8`` (ONNX only) quantizes the model and keeps it only if ``quantize.Int8Report``
accepts it on the labeled inputs given, else raises ``QuantizationRefused``. Before returning it
checks that TorchScript and ONNX (onnxruntime, CPU) give the same probabilities as PyTorch on
``sample_inputs`` (as one batch and as a batch of one) and raises ``ExportError`` otherwise.

ONNX uses torch's TorchScript-based exporter (``dynamo=False``, opset 17): it needs no
``onnxscript`` and runs offline. Inputs: ``pixel_values`` ``(batch, 3, size, size)`` float32, or
``input_ids`` / ``attention_mask`` ``(batch, sequence)`` int64; outputs ``logits`` and
``probabilities`` ``(batch, n_labels)``; batch and sequence axes are dynamic.
"""

from __future__ import annotations

import copy
import io
import json
import tempfile
import time
import warnings
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch

from filament.ml.batching import collate_ids, image_loader, text_ids
from filament.ml.classifier import ClassifierModel, manifest, save_model
from filament.ml.quantize import Int8Report, compare, quantize_int8

if TYPE_CHECKING:
    from filament.ml.embedder import Embedder

__all__ = [
    "ARCHIVE_FORMATS",
    "PARITY_ATOL",
    "Evaluation",
    "ExportError",
    "QuantizationRefused",
    "export_files",
]

PARITY_ATOL = 1e-4
ONNX_OPSET = 17
MAX_PARITY_SAMPLES = 8
ARCHIVE_FORMATS = ("onnx", "torchscript", "safetensors")
EVALUATION_BATCH = 32
# what the safetensors archive's predict.py rebuilds before it loads the weights
_ARCHITECTURES = {
    "efficientnet_lite0": {"library": "timm", "name": "tf_efficientnet_lite0"},
    "resnet18": {"library": "torchvision", "name": "resnet18"},
    "resnet50": {"library": "torchvision", "name": "resnet50"},
}
_MEMBER = {
    "onnx": "model.onnx",
    "torchscript": "model.torchscript.pt",
    "safetensors": "model.safetensors",
}


class ExportError(Exception):
    """An exported format disagrees with PyTorch (message has the max difference), or the
    model cannot be exported (e.g. a text backbone without a fast tokenizer)."""


class QuantizationRefused(ExportError):
    """The int8 model is not within the tolerance on the labeled items (``report`` says what
    was measured), or there are too few of them to tell."""

    def __init__(self, report: Int8Report) -> None:
        super().__init__(f"int8 is not offered for this model: {report.reason()}")
        self.report = report


@dataclass(frozen=True)
class Evaluation:
    """Labeled inputs to judge an int8 model on: ``truth`` is boolean ``(n, n_labels)``;
    ``labels_from`` says which (``audit``: held-out, drawn at random; ``labeled``)."""

    inputs: Sequence[bytes] | Sequence[str]
    truth: np.ndarray
    labels_from: str


class _Exported(torch.nn.Module):
    """What the files hold: ``(logits, probabilities)`` from the classifier."""

    def __init__(self, model: ClassifierModel) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, x: torch.Tensor, attention_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.model(x, attention_mask)
        return logits, self.model.probabilities(logits)


def export_files(
    model: ClassifierModel,
    embedder: Embedder,
    labels: list[str],
    multilabel: bool,
    sample_inputs: Sequence[bytes] | Sequence[str],
    card: str,
    formats: Collection[str] = ARCHIVE_FORMATS,
    int8: Evaluation | None = None,
) -> dict[str, bytes]:
    """Archive members for a model version.

    With every format (the default) the members are the ones below. With one format, the
    archive holds that format's model file only, a ``predict.py`` that runs it (the same script:
    it reads the format from ``manifest.json``), its ``requirements.txt`` and README, and
    ``manifest.json`` (format, files, parity; with ``int8``, the quantization measurements).

    - ``model.safetensors``: ``save_model`` bytes (state_dict + manifest; ``load_model`` reads it)
    - ``model.torchscript.pt``: traced, ``(logits, probabilities) = m(pixel_values)`` or
      ``m(input_ids, attention_mask)``
    - ``model.onnx``: same inputs/outputs, dynamic batch (and sequence) axes
    - ``labels.json``: ``{"labels": [...], "multilabel": bool}`` (output column order)
    - ``preprocessing.json``: image size, interpolation, mean/std, RGB, NCHW; or max_length,
      pad id and ``tokenizer/`` (the tokenizer files, included)
    - ``predict.py`` + ``requirements.txt``: standalone onnxruntime scoring, JSON output
    - ``README.md``: ``card`` followed by a usage section
    - ``parity.json``: max |probability| differences of TorchScript and ONNX vs PyTorch

    ``sample_inputs``: a few real inputs (bytes or texts; at most 8 are used) for tracing and
    the parity check. ``embedder``: the model's backbone (its tokenizer is bundled for texts).
    Works on a CPU copy of ``model``; the caller's model is not changed.
    """
    started = time.perf_counter()
    chosen = set(formats)
    everything = chosen == set(ARCHIVE_FORMATS)
    if not chosen or not chosen <= set(ARCHIVE_FORMATS) or not (everything or len(chosen) == 1):
        raise ExportError(f"formats: all of {ARCHIVE_FORMATS} or one of them, not {formats}")
    if int8 is not None and chosen != {"onnx"}:
        raise ExportError("int8 quantization is for ONNX archives only")
    if len(labels) != model.n_labels or multilabel != model.multilabel:
        raise ExportError(f"{len(labels)} labels given for a model with {model.n_labels}")
    if not sample_inputs:
        raise ExportError("export needs at least one sample input for tracing and parity")
    module = _Exported(copy.deepcopy(model).cpu().float().eval()).eval()
    samples = list(sample_inputs[:MAX_PARITY_SAMPLES])
    files: dict[str, bytes] = {}
    prep = dict(model.preprocessing, modality=model.modality)
    example: tuple[torch.Tensor, ...]
    checks: list[tuple[torch.Tensor, ...]]
    if model.modality == "image":  # then the samples are image bytes, else texts
        load = image_loader(cast("Sequence[bytes]", samples), model.image_transform())
        pixels = torch.stack([load(i) for i in range(len(samples))])
        example = (pixels,)
        checks = [(pixels,), (pixels[:1],)]
        names, axes = ["pixel_values"], {"pixel_values": {0: "batch"}}
        prep |= {"input": "pixel_values", "layout": "NCHW", "dtype": "float32"}
    else:
        files |= _tokenizer_files(embedder)
        max_length = model.preprocessing["max_length"]
        ids = text_ids(embedder.tokenizer, cast("Sequence[str]", samples), max_length)
        pad_id = embedder.tokenizer.pad_token_id or 0
        # Trace with padding present: a mask of all ones may be optimised away while tracing.
        example = collate_ids([*ids, ids[0][:1] + ids[0][-1:]], pad_id)
        checks = [collate_ids(ids, pad_id), collate_ids(ids[:1], pad_id), example]
        names = ["input_ids", "attention_mask"]
        axes = {name: {0: "batch", 1: "sequence"} for name in names}
        prep |= {
            "inputs": names,
            "pad_token_id": pad_id,
            "tokenizer": "tokenizer/tokenizer.json",
            "truncation": True,
            "padding": "longest",
        }
    with torch.no_grad():
        expected = [module(*args)[1].numpy() for args in checks]
    timings: dict[str, float] = {}
    diffs: dict[str, float] = {}
    if "torchscript" in chosen:
        t0 = time.perf_counter()
        files["model.torchscript.pt"], diffs["torchscript"] = _torchscript(
            module, example, checks, expected
        )
        timings["torchscript_seconds"] = round(time.perf_counter() - t0, 3)
    if "onnx" in chosen:
        t0 = time.perf_counter()
        files["model.onnx"], diffs["onnx"] = _onnx(module, example, checks, expected, names, axes)
        timings["onnx_seconds"] = round(time.perf_counter() - t0, 3)
    for fmt, diff in diffs.items():
        if not diff <= PARITY_ATOL:  # also catches NaN
            label = "TorchScript" if fmt == "torchscript" else "ONNX"
            raise ExportError(
                f"{label} probabilities differ from PyTorch by {diff:.3g} (> {PARITY_ATOL})"
            )
    quantization: Int8Report | None = None
    if int8 is not None:
        t0 = time.perf_counter()
        quantized = quantize_int8(files["model.onnx"])
        quantization = compare(
            files["model.onnx"],
            quantized,
            model_feeds(model, embedder, int8.inputs),
            int8.truth,
            multilabel,
            int8.labels_from,
        )
        if not quantization.accepted:
            raise QuantizationRefused(quantization)
        files["model.onnx"] = quantized
        timings["int8_seconds"] = round(time.perf_counter() - t0, 3)
    if "safetensors" in chosen:
        files["model.safetensors"] = save_model(model)
    files["labels.json"] = _json({"labels": list(labels), "multilabel": multilabel})
    files["preprocessing.json"] = _json(prep)
    files["predict.py"] = (
        resources.files("filament.ml").joinpath("predict_template.py").read_bytes()
    )
    fmt = "onnx" if everything else next(iter(chosen))
    files["requirements.txt"] = ("\n".join(_requirements(model, fmt)) + "\n").encode()
    usage = _usage(model, labels) if everything else _format_usage(model, labels, fmt, quantization)
    files["README.md"] = (card.rstrip() + "\n\n" + usage).encode()
    parity: dict[str, Any] = {"atol": PARITY_ATOL}
    parity |= {f"{name}_max_abs_diff": diff for name, diff in diffs.items()}
    parity |= {
        "samples": len(samples),
        "checked_batches": [int(args[0].shape[0]) for args in checks],
        "onnx_opset": ONNX_OPSET,
        "torch": torch.__version__,
        **timings,
        "export_seconds": round(time.perf_counter() - started, 3),
    }
    files["parity.json"] = _json(parity)
    if not everything:
        meta = manifest(model)
        files["manifest.json"] = _json(
            {
                "format": fmt,
                "quantize": "int8" if quantization else None,
                "model_file": _MEMBER[fmt],
                "backbone": meta["backbone"],
                "modality": model.modality,
                "n_labels": model.n_labels,
                "multilabel": multilabel,
                "inputs": names,
                "architecture": _architecture(model) if fmt == "safetensors" else None,
                "parity": parity,
                "quantization": quantization.as_json() if quantization else None,
                "files": sorted([*files, "manifest.json"]),
            }
        )
    return files


def model_feeds(
    model: ClassifierModel,
    embedder: Embedder,
    inputs: Sequence[bytes] | Sequence[str],
    batch_size: int = EVALUATION_BATCH,
) -> Iterator[dict[str, np.ndarray]]:
    """ONNX feeds for ``inputs`` in order, ``batch_size`` at a time: what ``predict.py`` feeds
    (the model's own preprocessing), so an evaluation measures the archive as it will run."""
    for start in range(0, len(inputs), batch_size):
        chunk = inputs[start : start + batch_size]
        if model.modality == "image":
            load = image_loader(cast("Sequence[bytes]", chunk), model.image_transform())
            yield {"pixel_values": torch.stack([load(i) for i in range(len(chunk))]).numpy()}
        else:
            ids = text_ids(
                embedder.tokenizer, cast("Sequence[str]", chunk), model.preprocessing["max_length"]
            )
            input_ids, mask = collate_ids(ids, embedder.tokenizer.pad_token_id or 0)
            yield {"input_ids": input_ids.numpy(), "attention_mask": mask.numpy()}


def _architecture(model: ClassifierModel) -> dict[str, Any]:
    """How to rebuild the network without Filament before loading ``model.safetensors``."""
    if model.modality == "text":
        config = dict(model.encoder_config or {})
        model_type = getattr(getattr(model.backbone, "encoder", None), "config", None)
        return {
            "library": "transformers",
            "model_type": getattr(model_type, "model_type", "bert"),
            "config": config,
            "prefix": "backbone.encoder.",
        }
    found = _ARCHITECTURES.get(model.backbone_name)
    if found is None:
        raise ExportError(f"no standalone architecture for backbone {model.backbone_name!r}")
    return {**found, "prefix": "backbone."}


def _requirements(model: ClassifierModel, fmt: str) -> list[str]:
    reader = ["pillow"] if model.modality == "image" else ["tokenizers"]
    if fmt == "onnx":
        return ["onnxruntime", "numpy", *reader]
    if fmt == "torchscript":
        return ["torch", "numpy", *reader]
    library = _architecture(model)["library"]
    return ["torch", "safetensors", library, "numpy", *reader]


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=1) + "\n").encode()


def _tokenizer_files(embedder: Embedder) -> dict[str, bytes]:
    tokenizer = embedder.tokenizer
    if tokenizer is None or not getattr(tokenizer, "is_fast", False):
        raise ExportError("text export needs a fast (tokenizer.json) tokenizer")
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer.save_pretrained(tmp)
        found = {
            f"tokenizer/{path.name}": path.read_bytes()
            for path in sorted(Path(tmp).iterdir())
            if path.is_file()
        }
    if "tokenizer/tokenizer.json" not in found:
        raise ExportError("the tokenizer did not write tokenizer.json")
    return found


def _max_diff(got: Sequence[np.ndarray], expected: Sequence[np.ndarray]) -> float:
    return float(max(np.abs(g - e).max() for g, e in zip(got, expected, strict=True)))


def _torchscript(
    module: torch.nn.Module,
    example: tuple[torch.Tensor, ...],
    checks: list[tuple[torch.Tensor, ...]],
    expected: list[np.ndarray],
) -> tuple[bytes, float]:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer / deprecation warnings: parity is checked below
        traced = torch.jit.trace(module, example, check_trace=False)
        torch.jit.save(traced, buffer)
        loaded = torch.jit.load(io.BytesIO(buffer.getvalue()), map_location="cpu")
        got = [loaded(*args)[1].numpy() for args in checks]
    return buffer.getvalue(), _max_diff(got, expected)


def _onnx(
    module: torch.nn.Module,
    example: tuple[torch.Tensor, ...],
    checks: list[tuple[torch.Tensor, ...]],
    expected: list[np.ndarray],
    names: list[str],
    axes: dict[str, dict[int, str]],
) -> tuple[bytes, float]:
    import onnxruntime as ort

    buffer = io.BytesIO()
    outputs = ["logits", "probabilities"]
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            example,
            buffer,  # type: ignore[arg-type]  # a file object works; torch annotates paths only
            dynamo=False,
            input_names=names,
            output_names=outputs,
            dynamic_axes={**axes, **{name: {0: "batch"} for name in outputs}},
            opset_version=ONNX_OPSET,
            do_constant_folding=True,
        )
    data = buffer.getvalue()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    got = [
        session.run(["probabilities"], {n: a.numpy() for n, a in zip(names, args, strict=True)})[0]
        for args in checks
    ]
    return data, _max_diff(got, expected)


def _usage(model: ClassifierModel, labels: list[str]) -> str:
    meta = manifest(model)
    if model.modality == "image":
        size = model.preprocessing["image_size"]
        run = "python predict.py photo1.jpg photo2.png"
        inputs = (
            f"`pixel_values` float32 `(batch, 3, {size}, {size})`: RGB, shorter side resized to "
            f"{size} ({model.preprocessing['interpolation']}), centre crop, "
            f"`(x / 255 - mean) / std` with mean {model.preprocessing['mean']} and std "
            f"{model.preprocessing['std']}"
        )
        feed = '{"pixel_values": batch}'
        extra = "pillow"
    else:
        run = 'python predict.py --text "first text" --text "second text"'
        inputs = (
            "`input_ids` and `attention_mask` int64 `(batch, sequence)` from the tokenizer in "
            f"`tokenizer/`, truncated to {model.preprocessing['max_length']} tokens, padded to "
            "the longest text"
        )
        feed = '{"input_ids": ids, "attention_mask": mask}'
        extra = "tokenizers"
    activation = (
        "independent sigmoids (multi-label: every label with p >= 0.5 applies)"
        if model.multilabel
        else "a softmax over the labels (single-label)"
    )
    return f"""## Usage

Backbone `{meta["backbone"]}`, {len(labels)} labels (column order in `labels.json`).
Probabilities are {activation}.

### Command line

```
pip install onnxruntime numpy {extra}
{run}
```

prints `{{"labels": [...], "results": [{{"input", "probabilities": {{label: p}}, "predicted"}}]}}`.

### Files

| file | what |
|---|---|
| `model.onnx` | ONNX (opset {ONNX_OPSET}); outputs `logits`, `probabilities` |
| `model.torchscript.pt` | TorchScript: `logits, probabilities = torch.jit.load(path)(...)` |
| `model.safetensors` | PyTorch weights; manifest in the safetensors metadata (`filament`) |
| `labels.json`, `preprocessing.json` | label order; exact input preprocessing |
| `predict.py` | the command above: onnxruntime + numpy only |
| `parity.json` | max probability difference of ONNX / TorchScript vs PyTorch at export |

Inputs: {inputs}.

### Python

```python
import onnxruntime as ort
session = ort.InferenceSession("model.onnx")
logits, probabilities = session.run(None, {feed})
```
"""


def _format_usage(
    model: ClassifierModel, labels: list[str], fmt: str, quantization: Int8Report | None
) -> str:
    """The usage section of a one-format archive."""
    meta = manifest(model)
    image = model.modality == "image"
    run = (
        "python predict.py photo1.jpg photo2.png"
        if image
        else 'python predict.py --text "first text" --text "second text"'
    )
    names = "pixel_values" if image else "input_ids, attention_mask"
    python = {
        "onnx": f"""import onnxruntime as ort
session = ort.InferenceSession("model.onnx")
logits, probabilities = session.run(None, {{...}})  # {names}: numpy arrays""",
        "torchscript": f"""import torch
model = torch.jit.load("model.torchscript.pt", map_location="cpu").eval()
logits, probabilities = model({names})  # torch tensors""",
        "safetensors": """# the whole network's state_dict; predict.py's `build_network` rebuilds
# the architecture described in manifest.json ("architecture") and loads it
from safetensors.torch import load_file
state = load_file("model.safetensors")""",
    }[fmt]
    what = {
        "onnx": f"ONNX (opset {ONNX_OPSET}); outputs `logits`, `probabilities`",
        "torchscript": "TorchScript: `logits, probabilities = torch.jit.load(path)(...)`",
        "safetensors": "PyTorch weights; Filament's manifest in the safetensors metadata",
    }[fmt]
    if quantization is not None:
        what = (
            f"int8 ONNX (onnxruntime dynamic quantization, opset {ONNX_OPSET}); "
            "outputs `logits`, `probabilities`"
        )
    lines = [
        "## Usage",
        "",
        f"Format **{fmt}{' (int8)' if quantization else ''}**. Backbone `{meta['backbone']}`, "
        f"{len(labels)} labels (column order in `labels.json`); probabilities are "
        + (
            "independent sigmoids (multi-label)."
            if model.multilabel
            else "a softmax (single-label)."
        ),
        "",
        "### Command line",
        "",
        "```",
        "pip install -r requirements.txt",
        run,
        "```",
        "",
        'prints `{"labels": [...], "results": [{"input", "probabilities": {label: p}, '
        '"predicted"}]}`.',
        "",
        "### Files",
        "",
        "| file | what |",
        "|---|---|",
        f"| `{_MEMBER[fmt]}` | {what} |",
        "| `labels.json`, `preprocessing.json` | label order; exact input preprocessing |",
        "| `predict.py` | the command above (`requirements.txt`) |",
        "| `manifest.json` | format, files, parity with PyTorch at export"
        + (", the int8 measurements" if quantization else "")
        + " |",
        "",
        "### Python",
        "",
        "```python",
        python,
        "```",
    ]
    if quantization is not None:
        q = quantization
        lines += [
            "",
            "### int8",
            "",
            f"Measured at export on {q.n} {q.labels_from} items with human labels: accuracy "
            f"{q.accuracy_float:.2%} (float) vs {q.accuracy_int8:.2%} (int8); the two agree on "
            f"{q.agreement:.2%} of the items (largest probability difference "
            f"{q.max_abs_probability_diff:.3g}). Offered because the drop stays within "
            "the tolerance in `manifest.json`.",
        ]
    return "\n".join(lines) + "\n"
