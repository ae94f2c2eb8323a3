"""Score inputs with the exported model: prints label probabilities as JSON.

    python predict.py photo1.jpg photo2.png           # image models
    python predict.py --text "great value" --text "broke after a day"   # text models
    python predict.py --text -  < texts.txt           # one text per line from stdin

Needs what requirements.txt lists: ``numpy``, ``pillow`` (images) or ``tokenizers`` (texts), and
the runtime of the archive's format: ``onnxruntime`` (``model.onnx``), ``torch``
(``model.torchscript.pt``) or ``torch`` + ``safetensors`` and the backbone's library
(``model.safetensors``: the network is rebuilt from ``manifest.json``, then its weights loaded).
The format is ``manifest.json``'s ``format``; an archive without one (every format) uses ONNX.
Reads ``labels.json``, ``preprocessing.json`` (and ``tokenizer/tokenizer.json``) from this
script's folder. Output:
``{"labels": [...], "multilabel": bool, "results": [{"input", "probabilities": {label: p},
"predicted": [label, ...]}]}``; ``predicted`` is the top label (single-label) or every label
with probability >= 0.5 (multi-label).

This file is Filament's ``filament/ml/predict_template.py``, copied into every model archive; it
imports nothing of Filament and reproduces its preprocessing exactly.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # Pillow is needed for image models only
    from PIL import Image

HERE = Path(__file__).resolve().parent


def load_image(data: bytes) -> Image.Image:
    """RGB image: first frame, EXIF orientation applied, transparency composited on white."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as file:
        file.seek(0)
        file.load()
        img = ImageOps.exif_transpose(file) or file
        if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
            rgba = img.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return Image.alpha_composite(background, rgba).convert("RGB")
        return img.convert("RGB")


def image_tensor(img: Image.Image, prep: dict[str, Any]) -> np.ndarray:
    """Resize the shorter side to ``image_size``, centre-crop a square, scale, normalise."""
    from PIL import Image

    size = prep["image_size"]
    resample = Image.Resampling[prep["interpolation"].upper()]
    width, height = img.size
    scale = size / min(width, height)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    img = img.resize((new_w, new_h), resample)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    img = img.crop((left, top, left + size, top + size))
    array = np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0
    mean = np.asarray(prep["mean"], dtype=np.float32).reshape(3, 1, 1)
    std = np.asarray(prep["std"], dtype=np.float32).reshape(3, 1, 1)
    normalised: np.ndarray = (array - mean) / std
    return normalised


@functools.lru_cache(maxsize=1)
def load_tokenizer(path: str, max_length: int) -> Any:
    """Read once: parsing tokenizer.json takes longer than running a small model on a text."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(path)
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length)
    return tokenizer


def text_batch(texts: list[str], prep: dict[str, Any]) -> dict[str, np.ndarray]:
    """``input_ids`` and ``attention_mask`` padded to the longest text (int64)."""
    tokenizer = load_tokenizer(str(HERE / prep["tokenizer"]), prep["max_length"])
    rows = [encoding.ids for encoding in tokenizer.encode_batch(texts)]
    width = max(len(row) for row in rows)
    input_ids = np.full((len(rows), width), prep["pad_token_id"], dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        input_ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return {"input_ids": input_ids, "attention_mask": mask}


def probabilities(logits: np.ndarray, multilabel: bool) -> np.ndarray:
    logits = logits.astype(np.float64)
    probs: np.ndarray
    if multilabel:
        probs = 1 / (1 + np.exp(-logits))
    else:
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs = exp / exp.sum(axis=1, keepdims=True)
    return probs


Runner = Callable[[dict[str, np.ndarray]], np.ndarray]  # feed -> logits


def archive_manifest() -> dict[str, Any]:
    path = HERE / "manifest.json"
    found: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    return found


def onnx_runner() -> Runner:
    import onnxruntime as ort

    providers = [
        p
        for p in ("CUDAExecutionProvider", "CPUExecutionProvider")
        if p in ort.get_available_providers()
    ]
    session = ort.InferenceSession(str(HERE / "model.onnx"), providers=providers)
    return lambda feed: session.run(["logits"], feed)[0]


def torch_runner(network: Any, inputs: list[str]) -> Runner:
    import torch

    def run(feed: dict[str, np.ndarray]) -> np.ndarray:
        with torch.no_grad():
            out = network(*[torch.from_numpy(feed[name]) for name in inputs])
        logits: torch.Tensor = out[0] if isinstance(out, tuple) else out
        return logits.float().numpy()

    return run


def build_network(meta: dict[str, Any]) -> Any:
    """The network of ``model.safetensors``: the architecture in ``meta["architecture"]``
    (a timm / torchvision image model or a transformers encoder, mean pooled), L2-normalised
    features, the head's linear layers, and the pinned logits of labels the head never saw."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = str(HERE / "model.safetensors")
    with safe_open(path, "pt") as handle:
        saved = json.loads(handle.metadata()["filament"])
    state = load_file(path)
    arch = meta["architecture"]
    if arch["library"] == "transformers":
        from transformers import AutoConfig, AutoModel

        config = AutoConfig.for_model(arch["model_type"], **arch["config"])
        backbone: torch.nn.Module = AutoModel.from_config(config)
    elif arch["library"] == "timm":
        import timm

        backbone = timm.create_model(arch["name"], pretrained=False, num_classes=0)
    else:
        import torchvision

        backbone = getattr(torchvision.models, arch["name"])(weights=None)
        backbone.fc = torch.nn.Identity()
    prefix = arch["prefix"]
    backbone.load_state_dict(
        {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    )
    sizes = saved["head_sizes"]
    layers: list[torch.nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    head = torch.nn.Sequential(*layers)
    head.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("head.")})
    fixed_mask, fixed_logits = state["fixed_mask"], state["fixed_logits"]
    text = arch["library"] == "transformers"

    class Network(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone, self.head = backbone, head

        def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
            if text:
                assert mask is not None
                hidden = self.backbone(input_ids=x, attention_mask=mask)[0]
                weights = mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            else:
                pooled = self.backbone(x)
            features = torch.nn.functional.normalize(pooled.float(), dim=-1)
            return torch.where(fixed_mask, fixed_logits, self.head(features).float())

    return Network().eval()


def load_runner(prep: dict[str, Any]) -> Runner:
    meta = archive_manifest()
    fmt = meta.get("format", "onnx")
    inputs = ["pixel_values"] if prep["modality"] == "image" else ["input_ids", "attention_mask"]
    if fmt == "onnx":
        return onnx_runner()
    if fmt == "torchscript":
        import torch

        scripted = torch.jit.load(str(HERE / "model.torchscript.pt"), map_location="cpu")
        return torch_runner(scripted.eval(), inputs)
    if fmt == "safetensors":
        return torch_runner(build_network(meta), inputs)
    sys.exit(f"unknown format {fmt!r} in manifest.json")


def predict(inputs: list[str], texts: bool, batch_size: int = 32) -> dict[str, object]:
    labels_file = json.loads((HERE / "labels.json").read_text())
    labels, multilabel = labels_file["labels"], labels_file["multilabel"]
    prep = json.loads((HERE / "preprocessing.json").read_text())
    if texts != (prep["modality"] == "text"):
        sys.exit(
            f"this is a {prep['modality']} model: "
            + ("pass image files" if prep["modality"] == "image" else 'pass --text "..."')
        )
    run = load_runner(prep)
    results = []
    for start in range(0, len(inputs), batch_size):
        chunk = inputs[start : start + batch_size]
        if texts:
            feed = text_batch(chunk, prep)
        else:
            pixels = [image_tensor(load_image(Path(p).read_bytes()), prep) for p in chunk]
            feed = {"pixel_values": np.stack(pixels)}
        logits = run(feed)
        for name, row in zip(chunk, probabilities(logits, multilabel), strict=True):
            if multilabel:
                predicted = [label for label, p in zip(labels, row, strict=True) if p >= 0.5]
            else:
                predicted = [labels[int(row.argmax())]]
            results.append(
                {
                    "input": name,
                    "probabilities": {
                        label: float(p) for label, p in zip(labels, row, strict=True)
                    },
                    "predicted": predicted,
                }
            )
    return {"labels": labels, "multilabel": multilabel, "results": results}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Score images or texts with the exported model.")
    parser.add_argument("images", nargs="*", help="image files (image models)")
    parser.add_argument(
        "--text",
        action="append",
        default=[],
        help='a text to score (repeatable); "-" reads one text per line from stdin',
    )
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)
    texts = [t for t in args.text if t != "-"]
    if "-" in args.text:
        texts += [line.rstrip("\n") for line in sys.stdin if line.strip()]
    if bool(texts) == bool(args.images) or not (texts or args.images):
        parser.error('pass image files, or --text "..." (not both)')
    out = predict(texts or args.images, texts=bool(texts), batch_size=args.batch_size)
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
