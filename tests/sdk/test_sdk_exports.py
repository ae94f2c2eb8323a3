"""The dataset exports and imports through the SDK and `filament export` (in-process, the
real app): a Parquet file `datasets` loads, an image-folder zip, a saved HF dataset folder."""

import zipfile

import pyarrow.parquet as pq
import pytest
from filament import cli, cli_remote

from tests.api.test_uploads import make_zip, png
from tests.sdk.test_sdk_parts import sdk


def test_sdk_exports_parquet_and_imagefolder(client, owner, run_jobs, tmp_path):
    me = sdk(client, owner)
    project = me.create_project("Pets", "image_classification", ["cat", "dog"])
    archive = tmp_path / "pets.zip"
    archive.write_bytes(make_zip({"cat/a.png": png((255, 0, 0)), "b.png": png((0, 0, 255))}))
    project.upload(archive)
    run_jobs()
    parquet = project.export(tmp_path / "pets.parquet", format="parquet", content="items")
    assert pq.read_table(parquet).column("label").to_pylist() == [0]
    everything = project.export(
        tmp_path / "all.parquet", format="parquet", content="items", unlabeled=True
    )
    assert pq.read_table(everything).num_rows == 2
    folder = project.export(tmp_path / "pets-folders.zip", format="imagefolder", content="items")
    with zipfile.ZipFile(folder) as written:
        assert written.namelist() == ["cat/a.png"]


def test_sdk_uploads_a_saved_hf_dataset_folder(client, owner, run_jobs, tmp_path):
    datasets = pytest.importorskip("datasets")
    split = datasets.Dataset.from_dict(
        {"text": ["good", "bad"], "label": [1, 0]},
        features=datasets.Features(
            {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])}
        ),
    )
    split.save_to_disk(str(tmp_path / "reviews"))
    project = sdk(client, owner).create_project("R", "text_classification", ["neg", "pos"])
    (upload,) = project.upload(tmp_path / "reviews")
    assert [f.name for f in upload.files] == ["reviews.zip"]
    run_jobs()
    assert {i.name: i.labels for i in project.items()} == {"train/0": ["pos"], "train/1": ["neg"]}


def test_cli_export_formats(client, owner, run_jobs, tmp_path, monkeypatch):
    me = sdk(client, owner)
    project = me.create_project("T", "text_classification", ["neg", "pos"])
    rows = tmp_path / "r.csv"
    rows.write_text("id,text,label\na,good,pos\nb,bad,\n")
    project.upload(rows)
    run_jobs()
    monkeypatch.setattr(cli_remote, "connect", lambda args: me)
    monkeypatch.chdir(tmp_path)
    pid = str(project.id)
    assert cli.main(["export", "-p", pid, "--format", "parquet", "--unlabeled"]) == 0
    written = pq.read_table(tmp_path / f"project-{pid}-items.parquet")
    assert written.column("name").to_pylist() == ["a", "b"]
    assert written.column("label").to_pylist() == [1, None]
    # a text project has no image folders: the server's 422 is one line, exit status 1
    assert cli.main(["export", "-p", pid, "--format", "imagefolder"]) == 1
