"""Archives by format (`format=onnx|torchscript|safetensors|all`, `quantize=int8`): each built
once by a real worker and kept; each one's model loads in its own runtime and predicts the
service's labels; int8 is kept only within the tolerance, else refused (409) with the figures."""

import io
import json
import zipfile

import numpy as np
import pytest

from tests.api.test_finetune import labeled_project
from tests.conftest import add_member, download_archive

MODEL_FILES = {
    "onnx": "model.onnx",
    "torchscript": "model.torchscript.pt",
    "safetensors": "model.safetensors",
}


def _feed(folder, texts: list[str]) -> dict[str, np.ndarray]:
    """input_ids / attention_mask as the archive's predict.py makes them."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("predict_under_test", folder / "predict.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    prep = json.loads((folder / "preprocessing.json").read_text())
    return module.text_batch(texts, prep)


def _unpack(content: bytes, folder) -> set[str]:
    with zipfile.ZipFile(io.BytesIO(content)) as bundle:
        bundle.extractall(folder)
        return set(bundle.namelist())


def _probabilities(fmt: str, folder, feed: dict[str, np.ndarray]) -> np.ndarray:
    """The archive's model run in its own runtime, without Filament."""
    import onnxruntime as ort
    import torch

    if fmt == "onnx":
        session = ort.InferenceSession(
            str(folder / "model.onnx"), providers=["CPUExecutionProvider"]
        )
        return session.run(["probabilities"], feed)[0]
    if fmt == "torchscript":
        model = torch.jit.load(str(folder / "model.torchscript.pt"), map_location="cpu")
        args = [torch.from_numpy(feed[name]) for name in ("input_ids", "attention_mask")]
        with torch.no_grad():
            return model(*args)[1].numpy()
    from safetensors.torch import load_file

    state = load_file(str(folder / "model.safetensors"))
    assert "head.0.weight" in state and any(k.startswith("backbone.encoder.") for k in state)
    # the archive's own predict.py rebuilds the network from manifest.json and the weights
    import importlib.util

    spec = importlib.util.spec_from_file_location("predict_weights", folder / "predict.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    network = module.build_network(json.loads((folder / "manifest.json").read_text()))
    with torch.no_grad():
        logits = network(*[torch.from_numpy(feed[n]) for n in ("input_ids", "attention_mask")])
    return torch.softmax(logits, dim=-1).numpy()


# exporting is storage and torch work, the same on every database: SQLite alone keeps CI shorter
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_each_format_is_built_once_and_predicts_the_services_labels(
    client, owner, run_jobs, tmp_path
):
    from filament import jobs
    from filament.db.models import Job
    from filament.db.session import session_scope
    from sqlmodel import select

    pid, listed = labeled_project(client, owner, run_jobs, n=24, labeled=14)
    version = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()["model_version"]
    url = f"/api/v1/projects/{pid}/models/{version}/download"
    texts = [item["text"] for item in listed[14:20]]  # items the model never saw labeled
    online = client.post(
        f"/api/v1/projects/{pid}/score", headers=owner, json={"type": "text", "texts": texts}
    ).json()
    expected = np.array(online["scores"])
    sizes = {}
    for fmt, member in MODEL_FILES.items():
        answer = download_archive(client, owner, f"{url}?format={fmt}", run_jobs)
        assert answer.status_code == 200, answer.text
        disposition = answer.headers["Content-Disposition"]
        assert f"filament-project-{pid}-v{version}-{fmt}.zip" in disposition
        folder = tmp_path / fmt
        names = _unpack(answer.content, folder)
        assert member in names and not (set(MODEL_FILES.values()) - {member}) & names
        assert {"predict.py", "README.md", "manifest.json", "labels.json"} <= names
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["format"] == fmt and manifest["quantize"] is None
        labels = json.loads((folder / "labels.json").read_text())["labels"]
        assert labels == online["labels"]
        got = _probabilities(fmt, folder, _feed(folder, texts))
        np.testing.assert_allclose(got, expected, atol=1e-3)
        assert (got.argmax(axis=1) == expected.argmax(axis=1)).all()
        sizes[fmt] = len(answer.content)
        # kept: the second request is the stored archive, byte for byte, and builds nothing
        assert client.get(f"{url}?format={fmt}", headers=owner).content == answer.content
    everything = download_archive(client, owner, url, run_jobs)  # no format: all three, as before
    names = _unpack(everything.content, tmp_path / "all")
    assert set(MODEL_FILES.values()) <= names and "manifest.json" not in names
    assert f"filament-project-{pid}-v{version}.zip" in everything.headers["Content-Disposition"]
    assert len(everything.content) > max(sizes.values())
    assert client.get(f"{url}?format=all", headers=owner).content == everything.content

    int8 = download_archive(client, owner, f"{url}?format=onnx&quantize=int8", run_jobs)
    assert int8.status_code == 200, int8.text
    folder = tmp_path / "int8"
    _unpack(int8.content, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    measured = manifest["quantization"]
    assert manifest["quantize"] == "int8" and measured["accepted"]
    assert measured["n"] == 14 and measured["labels_from"] == "labeled"
    assert measured["accuracy_float"] - measured["accuracy_int8"] <= 0.01
    assert measured["agreement"] >= 0.99
    assert len(int8.content) < sizes["onnx"] / 2
    got = _probabilities("onnx", folder, _feed(folder, texts))
    assert (got.argmax(axis=1) == expected.argmax(axis=1)).all()

    with session_scope() as session:
        builds = session.exec(select(Job).where(Job.type == jobs.BUILD_ARCHIVE)).all()
    assert sorted(b.params.get("format") for b in builds) == [
        "all",
        "onnx",
        "onnx",
        "safetensors",
        "torchscript",
    ]
    assert {b.params.get("quantize") for b in builds} == {None, "int8"}

    # a one-time link carries the variant
    link = client.post(
        url.replace("/download", "/download-link") + "?format=torchscript", headers=owner
    ).json()
    stored = client.get(link["url"])
    assert stored.status_code == 200 and "-torchscript.zip" in stored.headers["Content-Disposition"]
    assert "model.torchscript.pt" in _unpack(stored.content, tmp_path / "link")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_int8_is_refused_with_the_figures_and_bad_requests_are_422(client, owner, run_jobs):
    from filament.db.models import Job
    from filament.db.session import session_scope
    from sqlmodel import select

    pid, _ = labeled_project(client, owner, run_jobs, n=12, labeled=8)
    version = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()["model_version"]
    url = f"/api/v1/projects/{pid}/models/{version}/download"
    first = client.get(f"{url}?format=onnx&quantize=int8", headers=owner)
    assert first.status_code == 202
    run_jobs()
    refused = client.get(f"{url}?format=onnx&quantize=int8", headers=owner)
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    assert detail.startswith("int8 is not offered for this model: only 8 labeled items")
    job = client.get(f"/api/v1/jobs/{first.json()['job']['id']}", headers=owner).json()
    assert job["status"] == "failed" and job["message"] == detail
    # remembered for the version: later requests answer it without building again
    from filament.cache import clear_all

    clear_all()
    client.app.state.redis.flushall()
    assert client.get(f"{url}?format=onnx&quantize=int8", headers=owner).status_code == 409
    with session_scope() as session:
        assert len(session.exec(select(Job).where(Job.type == "build_archive")).all()) == 1

    for query in (
        "format=pdf",
        "format=torchscript&quantize=int8",
        "quantize=int4",
        "quantize=int8",
    ):
        bad = client.get(f"{url}?{query}", headers=owner)
        assert bad.status_code == 422, (query, bad.text)
        assert "Traceback" not in bad.text
    link = url.replace("/download", "/download-link")
    assert client.post(f"{link}?format=safetensors&quantize=int8", headers=owner).status_code == 422
    # roles: annotators and viewers may not download models in any format
    for role in ("annotator", "viewer"):
        member = add_member(client, owner, pid, f"{role}@example.com", role)
        assert client.get(f"{url}?format=onnx", headers=member).status_code == 403
    assert client.get(f"{url}?format=onnx").status_code == 401


def test_the_sdk_and_the_cli_ask_for_onnx_unless_told_otherwise(
    client, owner, tmp_path, monkeypatch
):
    """Against stored archives (what a worker leaves): the variant asked for is the one saved."""
    import filament.cli_remote
    from filament.cli import main
    from filament_client import Client, Conflict

    from tests.api.test_download_links import _model_with_archive

    pid, everything = _model_with_archive(client, owner)
    from filament.storage import get_storage

    storage = get_storage()
    for name in ("onnx", "torchscript", "onnx-int8"):
        storage.put_bytes(f"projects/{pid}/models/1/archive-{name}.zip", f"PK {name}".encode())
    token = owner["Authorization"].removeprefix("Bearer ")
    project = Client("http://testserver", token, http=client).project(pid)
    saved = project.download_model(tmp_path, 1)
    assert saved.name == f"filament-project-{pid}-v1-onnx.zip" and saved.read_bytes() == b"PK onnx"
    int8 = project.download_model(tmp_path, 1, format="onnx", quantize="int8")
    assert int8.name.endswith("-v1-onnx-int8.zip") and int8.read_bytes() == b"PK onnx-int8"
    assert project.download_model(tmp_path, 1, format="all").read_bytes() == everything
    storage.put_bytes(
        f"projects/{pid}/models/1/archive-onnx-int8.refused.json",
        json.dumps({"reason": "int8 is not offered for this model: it agrees on 90.0%"}).encode(),
    )
    storage.delete(f"projects/{pid}/models/1/archive-onnx-int8.zip")
    with pytest.raises(Conflict, match=r"agrees on 90\.0%"):
        project.download_model(tmp_path, 1, format="onnx", quantize="int8")

    monkeypatch.setattr(filament.cli_remote, "connect", lambda args: project.client)
    out = tmp_path / "cli.zip"
    assert (
        main(
            [
                "download",
                "-p",
                str(pid),
                "--version",
                "1",
                "--format",
                "torchscript",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert out.read_bytes() == b"PK torchscript"
    assert main(["download", "-p", str(pid), "--version", "1", "--out", str(out)]) == 0
    assert out.read_bytes() == b"PK onnx"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_int8_is_judged_on_the_audit_labels_when_there_are_enough(
    client, owner, run_jobs, monkeypatch
):
    from filament.db.models import Item, Project
    from filament.db.session import session_scope
    from filament.models import archive
    from filament.storage import get_storage
    from sqlmodel import col, select

    from tests.api.test_loop import label_of

    pid, listed = labeled_project(client, owner, run_jobs, n=12, labeled=10)
    audited = [item["id"] for item in listed[:6]]
    with session_scope() as session:
        for item in session.exec(select(Item).where(col(Item.id).in_(audited))):
            item.audit = True
            session.add(item)
        session.commit()
        project = session.get(Project, pid)
        labels = list(project.labels)
        monkeypatch.setattr(archive, "MIN_AUDIT_ITEMS", 6)
        held_out = archive.evaluation_set(session, get_storage(), project, labels)
        monkeypatch.setattr(archive, "MIN_AUDIT_ITEMS", 7)  # too few audit labels: all labels
        everything = archive.evaluation_set(session, get_storage(), project, labels)
    assert held_out.labels_from == "audit" and len(held_out.truth) == 6
    assert everything.labels_from == "labeled" and len(everything.truth) == 10
    texts = {item["text"]: item["name"] for item in listed}
    for text, row in zip(held_out.inputs, held_out.truth, strict=True):
        assert [labels[i] for i in row.nonzero()[0]] == [label_of(texts[text])]
