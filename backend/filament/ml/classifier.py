"""``ClassifierModel``: a backbone, L2-normalised pooled features and a dense head, as one module.

One architecture serves every model version: a fine-tuned one (``finetune.finetune``) and a
head-only one (``ClassifierModel.from_head``: the frozen backbone composed with a
``heads.HeadModel``), so both are scored, saved and exported the same way.

``forward(pixel_values)`` (images) or ``forward(input_ids, attention_mask)`` (texts) returns
logits; ``fixed_mask``/``fixed_logits`` pin the labels a head never saw (single-label: logit
-1e4, probability 0) or saw always / never positive (multi-label: probability 1 / 0), exactly as
``HeadModel.predict_proba`` does. Saved as safetensors with a JSON manifest in its metadata; the
architecture is rebuilt from the manifest, so loading reads no pretrained weights and no pickle.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from PIL import Image

from filament.ml.backbones import MeanPooler
from filament.ml.batching import (
    autocast,
    collate_ids,
    image_loader,
    in_batches,
    length_sorted_batches,
    prefetch_images,
    text_ids,
)
from filament.ml.images import ImageTransform

if TYPE_CHECKING:
    from filament.ml.embedder import Embedder
    from filament.ml.heads import HeadModel

FORMAT = "filament-classifier"
FORMAT_VERSION = 1
PINNED_LOGIT = 1e4  # exp(-1e4) and sigmoid(-1e4) are exactly 0 in float32
_CONFIG_SKIP = ("transformers_version", "model_type", "architectures", "_name_or_path", "dtype")


class ClassifierModel(torch.nn.Module):
    """Backbone (pooling included) -> L2 normalisation -> head (Linear, or Linear-ReLU-Linear).

    Attributes besides the modules: ``backbone_name``, ``modality`` (``"image"``/``"text"``),
    ``n_labels``, ``multilabel``, ``preprocessing`` (JSON: image size, interpolation, mean/std
    for images; ``max_length`` for texts) and ``encoder_config`` (texts: the transformers config
    needed to rebuild the encoder without weights).
    """

    fixed_mask: torch.Tensor  # buffers, registered in __init__
    fixed_logits: torch.Tensor

    def __init__(
        self,
        backbone: torch.nn.Module,
        head: torch.nn.Sequential,
        *,
        backbone_name: str,
        modality: str,
        n_labels: int,
        multilabel: bool,
        preprocessing: dict[str, Any],
        encoder_config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.register_buffer("fixed_mask", torch.zeros(n_labels, dtype=torch.bool))
        self.register_buffer("fixed_logits", torch.zeros(n_labels))
        self.backbone_name = backbone_name
        self.modality = modality
        self.n_labels = n_labels
        self.multilabel = multilabel
        self.preprocessing = dict(preprocessing)
        self.encoder_config = encoder_config

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def from_embedder(
        cls,
        embedder: Embedder,
        n_labels: int,
        multilabel: bool = False,
        *,
        image_size: int | None = None,
        max_length: int | None = None,
    ) -> ClassifierModel:
        """A deep copy of the embedder's backbone with a fresh linear head (``n_labels`` out).

        ``image_size`` / ``max_length`` default to the embedder's own (224 / 256)."""
        backbone = copy.deepcopy(embedder.module).cpu()
        if embedder.spec.modality == "image":
            transform = embedder.transform
            if transform is None:
                raise TypeError(f"{embedder.spec.name} has no image transform")
            size = image_size or transform.size
            preprocessing: dict[str, Any] = {
                **ImageTransform(size, transform.mean.ravel(), transform.std.ravel()).manifest(),
                "interpolation": transform.resample.name.lower(),
                "image_size": size,
                "color": "RGB",
            }
            encoder_config = None
        else:
            if not isinstance(backbone, MeanPooler):
                raise TypeError(f"{embedder.spec.name} has no text encoder")
            preprocessing = {"max_length": max_length or embedder.max_length}
            config = backbone.encoder.config.to_diff_dict()
            encoder_config = {k: v for k, v in config.items() if k not in _CONFIG_SKIP}
        dim = embedder.spec.dim
        return cls(
            backbone,
            torch.nn.Sequential(torch.nn.Linear(dim, n_labels)),
            backbone_name=embedder.spec.name,
            modality=embedder.spec.modality,
            n_labels=n_labels,
            multilabel=multilabel,
            preprocessing=preprocessing,
            encoder_config=encoder_config,
        )

    @classmethod
    def from_head(cls, embedder: Embedder, head_model: HeadModel) -> ClassifierModel:
        """The frozen backbone composed with a fitted ``HeadModel`` (logreg or MLP):
        probabilities equal ``head_model.predict_proba(embedder.embed_*(inputs))``."""
        model = cls.from_embedder(embedder, head_model.n_labels, head_model.multilabel)
        model.set_head(head_model)
        return model.eval()

    def set_head(self, head_model: HeadModel) -> None:
        """Replace the head by ``head_model``'s layers and label pinning (classes never seen,
        labels always / never positive)."""
        n = self.n_labels
        if head_model.n_labels != n or head_model.multilabel != self.multilabel:
            raise ValueError("head and model disagree on the labels")
        columns = np.arange(n) if head_model.multilabel else np.asarray(head_model.classes)
        layers: list[torch.nn.Module] = []
        for i, (w, b) in enumerate(zip(head_model.weights, head_model.biases, strict=True)):
            last = i == len(head_model.weights) - 1
            out_w = np.zeros((w.shape[0], n), np.float32) if last else w
            out_b = np.zeros(n, np.float32) if last else b
            if last:
                out_w[:, columns], out_b[columns] = w, b
            linear = torch.nn.Linear(*out_w.shape)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(out_w.T)))
                linear.bias.copy_(torch.from_numpy(np.asarray(out_b, np.float32)))
            layers.append(linear)
            if not last:
                layers.append(torch.nn.ReLU())
        self.head = torch.nn.Sequential(*layers).to(self.fixed_logits.device)
        mask = np.ones(n, bool)
        logits = np.full(n, -PINNED_LOGIT, np.float32)
        if head_model.multilabel:
            constant = np.asarray(head_model.constant, np.float64)
            mask = ~np.isnan(constant)
            logits = np.where(constant > 0.5, PINNED_LOGIT, -PINNED_LOGIT).astype(np.float32)
        else:
            mask[columns] = False
        self.fixed_mask.copy_(torch.from_numpy(mask))
        self.fixed_logits.copy_(torch.from_numpy(logits))

    # -- inference ----------------------------------------------------------------------------

    def features(self, x: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Pooled backbone features, L2-normalised (the embedding the head sees)."""
        pooled = self.backbone(x) if attention_mask is None else self.backbone(x, attention_mask)
        return torch.nn.functional.normalize(pooled.float(), dim=-1)

    def forward(self, x: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(batch, n_labels)`` for ``pixel_values`` or ``(input_ids, attention_mask)``."""
        logits = self.head(self.features(x, attention_mask))
        return torch.where(self.fixed_mask, self.fixed_logits, logits.float())

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Softmax rows (single-label) or independent sigmoids (multi-label)."""
        return torch.sigmoid(logits) if self.multilabel else torch.softmax(logits, dim=-1)

    def image_transform(self) -> ImageTransform:
        """The deterministic (evaluation / scoring) preprocessing of this model's images."""
        prep = self.preprocessing
        resample = Image.Resampling[prep["interpolation"].upper()]
        return ImageTransform(prep["image_size"], prep["mean"], prep["std"], resample)

    @property
    def head_sizes(self) -> list[int]:
        linears = [m for m in self.head if isinstance(m, torch.nn.Linear)]
        return [linears[0].in_features] + [m.out_features for m in linears]


# -- scoring ----------------------------------------------------------------------------------


def _model_device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def _run(
    model: ClassifierModel,
    embedder: Embedder,
    inputs: Sequence[bytes] | Sequence[str],
    batch_size: int,
    fn: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor],
    width: int,
    on_progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Apply ``fn`` (logits or features) to every input in batches; rows in input order."""
    device = _model_device(model)
    out = np.zeros((len(inputs), width), dtype=np.float32)
    was_training = model.training
    model.eval()
    done = 0
    try:
        with torch.inference_mode(), autocast(device):
            for rows, (x, mask) in iter_batches(model, embedder, inputs, batch_size):
                result = fn(x.to(device), None if mask is None else mask.to(device))
                out[rows] = result.float().cpu().numpy()
                done += len(rows)
                if on_progress is not None:
                    on_progress(done, len(inputs))
    finally:
        model.train(was_training)
    return out


def iter_batches(
    model: ClassifierModel,
    embedder: Embedder,
    inputs: Sequence[bytes] | Sequence[str],
    batch_size: int,
) -> Iterator[tuple[Sequence[int], tuple[torch.Tensor, torch.Tensor | None]]]:
    """Evaluation batches ``(rows, (x, attention_mask or None))`` with the model's own
    preprocessing (images) or the embedder's tokenizer at the model's ``max_length`` (texts)."""
    if model.modality == "image":  # then inputs are image bytes, else texts
        load = image_loader(cast("Sequence[bytes]", inputs), model.image_transform())
        for rows, batch in prefetch_images(in_batches(range(len(inputs)), batch_size), load):
            yield rows, (batch, None)
        return
    texts = cast("Sequence[str]", inputs)
    ids = text_ids(embedder.tokenizer, texts, model.preprocessing["max_length"])
    pad_id = embedder.tokenizer.pad_token_id or 0
    for rows in length_sorted_batches([len(r) for r in ids], batch_size):
        yield rows, collate_ids([ids[i] for i in rows], pad_id)


def predict_proba(
    model: ClassifierModel,
    embedder: Embedder,
    inputs: Sequence[bytes] | Sequence[str],
    batch_size: int = 32,
) -> np.ndarray:
    """Probabilities ``(len(inputs), n_labels)`` float64: softmax rows or independent sigmoids.

    Images are preprocessed with the model's own settings (``model.preprocessing``); texts are
    tokenised with ``embedder``'s tokenizer (the same backbone's) at the model's max length.
    Runs on the device the model is on (bf16 autocast on CUDA)."""
    logits = _run(model, embedder, inputs, batch_size, model, model.n_labels)
    return model.probabilities(torch.from_numpy(logits)).double().numpy()


def embed(
    model: ClassifierModel,
    embedder: Embedder,
    inputs: Sequence[bytes] | Sequence[str],
    batch_size: int = 32,
    on_progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """L2-normalised pooled features ``(n, dim)`` float32 of the (fine-tuned) backbone: the pool's
    new embeddings once this model is active. `on_progress(done, total)` after each batch."""
    dim = model.head_sizes[0]
    return _run(model, embedder, inputs, batch_size, model.features, dim, on_progress)


# -- serialisation ----------------------------------------------------------------------------


def manifest(model: ClassifierModel) -> dict[str, Any]:
    """The JSON description stored with the weights."""
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "backbone": model.backbone_name,
        "modality": model.modality,
        "n_labels": model.n_labels,
        "multilabel": model.multilabel,
        "head_sizes": model.head_sizes,
        "preprocessing": model.preprocessing,
        "encoder_config": model.encoder_config,
    }


def save_model(model: ClassifierModel) -> bytes:
    """Safetensors bytes of the ``state_dict``, the JSON manifest in its metadata
    (``metadata["filament"]``). No pickle."""
    from safetensors.torch import save

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return save(state, metadata={"filament": json.dumps(manifest(model))})


def read_manifest(data: bytes) -> dict[str, Any]:
    """The manifest of ``save_model`` bytes; ``ValueError`` if they are not such a model."""
    try:
        header_len = int.from_bytes(data[:8], "little")
        header = json.loads(data[8 : 8 + header_len])
        found: dict[str, Any] = json.loads(header["__metadata__"]["filament"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a saved Filament classifier: {exc}") from exc
    if found.get("format") != FORMAT or found.get("version") != FORMAT_VERSION:
        raise ValueError(f"unsupported classifier format {found.get('format')!r}")
    return found


def load_model(data: bytes) -> ClassifierModel:
    """Inverse of ``save_model``: rebuild the architecture from the manifest (``build_random``
    of the backbone name, with the stored image size or transformers config), then load the
    weights. Reads no pretrained files: the saved state_dict holds every weight. The model comes
    back in eval mode on CPU."""
    from safetensors.torch import load

    from filament.ml.embedder import build_random

    found = read_manifest(data)
    state = load(data)
    if found["modality"] == "image":
        shell = build_random(
            found["backbone"], device="cpu", image_size=found["preprocessing"]["image_size"]
        )
    else:
        shell = build_random(found["backbone"], device="cpu", **found["encoder_config"])
    sizes = found["head_sizes"]
    layers: list[torch.nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        layers += [torch.nn.Linear(fan_in, fan_out)] + (
            [torch.nn.ReLU()] if i < len(sizes) - 2 else []
        )
    model = ClassifierModel(
        shell.module,
        torch.nn.Sequential(*layers),
        backbone_name=found["backbone"],
        modality=found["modality"],
        n_labels=found["n_labels"],
        multilabel=found["multilabel"],
        preprocessing=found["preprocessing"],
        encoder_config=found["encoder_config"],
    )
    model.load_state_dict(state)
    return model.eval()
