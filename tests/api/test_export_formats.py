"""The dataset exports: a Hugging Face `datasets` Parquet file (loaded back with `datasets`,
the label a ClassLabel) and an ImageNet-style folder zip."""

import io
import json
import zipfile

import pyarrow.parquet as pq
import pytest

from tests.api.test_uploads import make_zip, png, project, upload
from tests.conftest import add_member


def export(client, headers, pid, **params):
    return client.get(f"/api/v1/projects/{pid}/export", headers=headers, params=params)


def label(client, headers, pid, item_id, labels):
    answer = client.post(
        f"/api/v1/projects/{pid}/items/{item_id}/annotations",
        headers=headers,
        json={"labels": labels},
    )
    assert answer.status_code == 201, answer.text


def item_ids(client, headers, pid):
    listed = client.get(f"/api/v1/projects/{pid}/items?limit=100", headers=headers).json()
    return {item["name"]: item["id"] for item in listed["data"]}


def load_parquet(tmp_path, body: bytes):
    import datasets

    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "export.parquet"
    path.write_bytes(body)
    return datasets.load_dataset(
        "parquet", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf-cache")
    )


def test_parquet_of_a_text_project_loads_with_class_labels(client, owner, run_jobs, tmp_path):
    import datasets

    pid = project(client, owner, task="text_classification", labels=("neg", "pos"))
    rows = "id,text,label\na,good,pos\nb,bad,neg\nc,meh,\n"
    assert upload(client, owner, pid, ("r.csv", rows.encode())).status_code == 202
    run_jobs()
    answer = export(client, owner, pid, format="parquet", content="items")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"].endswith('.parquet"')
    loaded = load_parquet(tmp_path, answer.content)
    assert isinstance(loaded.features["label"], datasets.ClassLabel)
    assert loaded.features["label"].names == ["neg", "pos"]
    by_name = {row["name"]: row for row in loaded}
    assert set(by_name) == {"a", "b"}  # the unlabeled item is left out
    assert by_name["a"]["text"] == "good" and by_name["a"]["label"] == 1
    assert loaded.features["label"].int2str(by_name["b"]["label"]) == "neg"
    assert "annotations" not in loaded.features

    everything = export(client, owner, pid, format="parquet", unlabeled="true", annotators="true")
    loaded = load_parquet(tmp_path / "all", everything.content)
    by_name = {row["name"]: row for row in loaded}
    assert by_name["c"]["label"] is None and by_name["c"]["annotations"] == []
    assert by_name["a"]["annotations"] == [
        {"annotator": "ann@example.com", "labels": ["pos"], "source": "import"}
    ]


def test_parquet_of_a_multilabel_image_project(client, owner, run_jobs, tmp_path):
    import datasets

    pid = project(client, owner, task="image_multilabel", labels=("cat", "dog", "sky"))
    images = make_zip({"x.png": png((255, 0, 0)), "y.png": png((0, 255, 0))})
    assert upload(client, owner, pid, ("pets.zip", images)).status_code == 202
    run_jobs()
    ids = item_ids(client, owner, pid)
    label(client, owner, pid, ids["x.png"], ["dog", "cat"])
    label(client, owner, pid, ids["y.png"], [])
    answer = export(client, owner, pid, format="parquet")
    # the schema carries the features the way `datasets` writes them
    metadata = pq.read_schema(io.BytesIO(answer.content)).metadata[b"huggingface"]
    assert json.loads(metadata)["info"]["features"]["labels"]["_type"] == "List"
    loaded = load_parquet(tmp_path, answer.content)
    feature = loaded.features["labels"]
    assert isinstance(feature.feature, datasets.ClassLabel)
    assert feature.feature.names == ["cat", "dog", "sky"]
    assert isinstance(loaded.features["image"], datasets.Image)
    by_name = {row["name"]: row for row in loaded}
    assert by_name["x.png"]["labels"] == [0, 1] and by_name["y.png"]["labels"] == []
    assert by_name["x.png"]["image"].size == (16, 16)
    assert by_name["x.png"]["image"].getpixel((0, 0)) == (255, 0, 0)


def test_parquet_streams_row_groups(client, owner, run_jobs, monkeypatch):
    from filament.exports import parquet

    monkeypatch.setattr(parquet, "ROWS_PER_GROUP", 2)
    pid = project(client, owner, task="text_classification", labels=("neg", "pos"))
    rows = "".join(f"t{i},text {i},{'pos' if i % 2 else 'neg'}\n" for i in range(7))
    upload(client, owner, pid, ("r.csv", f"id,text,label\n{rows}".encode()))
    run_jobs()
    answer = export(client, owner, pid, format="parquet", content="items")
    written = pq.ParquetFile(io.BytesIO(answer.content))
    assert written.metadata.num_rows == 7 and written.metadata.num_row_groups == 4


def test_imagefolder_zip(client, owner, run_jobs):
    pid = project(client, owner, labels=("cat", "dog/puppy"))
    members = {
        "a/one.png": png((255, 0, 0)),
        "b/one.png": png((0, 255, 0)),  # the same file name: made unique
        "../../etc/passwd.png": png((1, 1, 1)),  # refused by the upload, never exported
        "weird name?.png": png((0, 0, 255)),
        "unlabeled.png": png((9, 9, 9)),
    }
    members.pop("../../etc/passwd.png")
    assert upload(client, owner, pid, ("pets.zip", make_zip(members))).status_code == 202
    run_jobs()
    ids = item_ids(client, owner, pid)
    label(client, owner, pid, ids["a/one.png"], ["cat"])
    label(client, owner, pid, ids["b/one.png"], ["cat"])
    label(client, owner, pid, ids["weird name?.png"], ["dog/puppy"])
    answer = export(client, owner, pid, format="imagefolder", content="items")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        names = sorted(archive.namelist())
        assert names == [
            f"cat/one-{ids['b/one.png']}.png",
            "cat/one.png",
            "dog_puppy/weird name_.png",
        ]
        assert archive.read("cat/one.png") == members["a/one.png"]
    with_unlabeled = export(client, owner, pid, format="imagefolder", unlabeled="true")
    with zipfile.ZipFile(io.BytesIO(with_unlabeled.content)) as archive:
        assert "_unlabeled/unlabeled.png" in archive.namelist()
        assert len(archive.namelist()) == 4


def test_refusals_and_roles(client, owner, run_jobs):
    text = project(client, owner, task="text_classification", labels=("neg", "pos"))
    refused = export(client, owner, text, format="imagefolder")
    assert refused.status_code == 422 and "image projects" in refused.json()["detail"]
    refused = export(client, owner, text, format="parquet", content="predictions")
    assert refused.status_code == 422 and "content=items" in refused.json()["detail"]
    # any member may export, as with csv and jsonl; others get 404
    viewer = add_member(client, owner, text, "vic@example.com", role="viewer")
    assert export(client, viewer, text, format="parquet").status_code == 200
    from tests.conftest import register

    stranger = register(client, "eve@example.com")
    assert export(client, stranger, text, format="parquet").status_code == 404


def test_names_are_safe_and_unique():
    from filament.exports.imagefolder import member_name, safe_part
    from filament.exports.rows import ExportItem

    def item(item_id: int, name: str, content_type: str = "image/png") -> ExportItem:
        return ExportItem(
            item_id, name, "d", None, "k", content_type, ["x"], "single", 1.0, 1, None, None
        )

    used: set[str] = set()
    assert member_name(item(1, "..\\..\\evil.png"), "x", used) == "x/evil.png"
    assert member_name(item(2, "EVIL.PNG"), "x", used) == "x/EVIL-2.PNG"
    assert member_name(item(3, "photo.jpeg", "image/jpeg"), "x", used) == "x/photo.jpeg"
    assert member_name(item(4, "scan.png", "image/jpeg"), "x", used) == "x/scan.png.jpg"
    assert member_name(item(5, "...", "image/png"), "x", used) == "x/item-5.png"
    assert member_name(item(6, "a\x00b\n.png"), "x", used) == "x/a_b_.png"
    assert safe_part("../..", "label") == "_" and safe_part(".hidden", "x") == "hidden"


@pytest.mark.parametrize("multilabel", [False, True])
def test_features_match_datasets(multilabel):
    import datasets
    from filament.db.models import Project, Task
    from filament.exports.parquet import features

    task = Task.image_multilabel if multilabel else Task.text_classification
    made = Project(id=1, name="p", task=task, labels=["a", "b"], backbone="b", created_by=1)
    ours = datasets.Features.from_dict(features(made, annotations=True))
    assert ours.to_dict() == features(made, annotations=True)


def test_zip_stream_reads_back_with_zip64(monkeypatch):
    from filament.exports import zipstream

    def written(count: int) -> zipfile.ZipFile:
        archive = zipstream.ZipStream()
        body = b"".join(archive.add(f"d/{n}-é.bin", bytes([n % 256]) * n) for n in range(count))
        return zipfile.ZipFile(io.BytesIO(body + b"".join(archive.finish())))

    with written(5) as plain:
        assert plain.testzip() is None and plain.read("d/3-é.bin") == b"\x03" * 3
    # offsets and counts past the ZIP64 limits (lowered here): zipfile reads the ZIP64 records
    monkeypatch.setattr(zipstream, "ZIP64_LIMIT", 40)
    monkeypatch.setattr(zipstream, "ZIP64_COUNT", 3)
    with written(6) as big:
        assert big.testzip() is None and len(big.namelist()) == 6
        assert big.read("d/5-é.bin") == b"\x05" * 5


def test_an_image_gone_from_storage_is_left_out():
    from filament.db.models import Project, Task
    from filament.exports.imagefolder import imagefolder_export
    from filament.exports.parquet import parquet_export
    from filament.exports.rows import ExportItem

    class Store:
        def get_bytes(self, key: str) -> bytes:
            if key == "gone":
                raise FileNotFoundError(key)
            return png((1, 2, 3))

    def batches():
        yield [
            ExportItem(
                1, "a.png", "d", None, "here", "image/png", ["x"], "single", 1.0, 1, None, None
            ),
            ExportItem(
                2, "b.png", "d", None, "gone", "image/png", ["x"], "single", 1.0, 1, None, None
            ),
        ]

    body = b"".join(imagefolder_export(batches(), Store(), unlabeled=False))
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.namelist() == ["x/a.png"]
    made = Project(
        id=1, name="p", task=Task.image_classification, labels=["x"], backbone="b", created_by=1
    )
    table = pq.read_table(io.BytesIO(b"".join(parquet_export(batches(), made, Store(), False))))
    assert [row is None for row in table.column("image").to_pylist()] == [False, True]
