"""Imports of other tools' exports through the upload path: Label Studio JSON (and its zip
with images), and zipped Hugging Face `save_to_disk` directories; bad input is a 400."""

import base64
import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.api.test_uploads import make_zip, png, project, upload


def choices(*labels, cancelled=False):
    result = [{"type": "choices", "from_name": "c", "to_name": "t", "value": {"choices": labels}}]
    return {"id": 1, "result": result, "was_cancelled": cancelled}


def final_labels(client, headers, pid):
    listed = client.get(f"/api/v1/projects/{pid}/items?limit=100", headers=headers).json()
    return {item["name"]: item["labels"] for item in listed["data"]}


def job(client, headers, job_id):
    return client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()


def test_label_studio_json_of_texts(client, owner, run_jobs):
    pid = project(client, owner, task="text_classification", labels=("neg", "pos", "pets/cats"))
    tasks = [
        {"id": 1, "data": {"text": "great"}, "annotations": [choices("neg"), choices("pos")]},
        {"id": 2, "data": {"text": "awful"}, "annotations": [choices("neg")]},
        {"id": 3, "data": {"text": "skipped"}, "annotations": [choices("pos", cancelled=True)]},
        {"id": 4, "data": {"text": "fresh"}},
        {
            "id": 5,
            "data": {"text": "a cat", "id": "cat-5"},
            "annotations": [
                {
                    "result": [
                        {"type": "taxonomy", "value": {"taxonomy": [["pets", "cats"]]}},
                        {"type": "labels", "value": {"labels": ["ignored"]}},
                    ]
                }
            ],
        },
    ]
    accepted = upload(client, owner, pid, ("project-1.json", json.dumps(tasks).encode()))
    assert accepted.status_code == 202, accepted.text
    run_jobs()
    found = final_labels(client, owner, pid)
    assert found == {
        "project-1.json:task 1": ["pos"],  # the last annotation counts
        "project-1.json:task 2": ["neg"],
        "project-1.json:task 3": None,
        "project-1.json:task 4": None,
        "cat-5": ["pets/cats"],  # a taxonomy path that is the project's label
    }
    assert job(client, owner, accepted.json()["job_id"])["result"]["labeled"] == 3


def test_label_studio_zip_with_images(client, owner, run_jobs):
    pid = project(client, owner, labels=("cat", "dog"))
    inline = "data:image/png;base64," + base64.b64encode(png((0, 0, 255))).decode()
    tasks = [
        {"data": {"image": "/data/upload/1/8f2a1c-cat.png"}, "annotations": [choices("cat")]},
        {"data": {"image": "/data/local-files/?d=pets/dog.png"}, "annotations": [choices("dog")]},
        {"data": {"image": inline}, "annotations": [{"result": []}]},
        {"data": {"image": "/data/upload/1/gone.png"}, "annotations": [choices("dog")]},
    ]
    archive = make_zip(
        {
            "result.json": json.dumps(tasks).encode(),
            "images/8f2a1c-cat.png": png((255, 0, 0)),
            "pets/dog.png": png((0, 255, 0)),
        }
    )
    accepted = upload(client, owner, pid, ("ls-export.zip", archive))
    assert accepted.status_code == 202, accepted.text
    run_jobs()
    found = final_labels(client, owner, pid)
    assert found == {"images/8f2a1c-cat.png": ["cat"], "pets/dog.png": ["dog"], "task 3": None}
    errors = job(client, owner, accepted.json()["job_id"])["errors"]
    assert len(errors) == 1 and "gone.png is not in the zip" in errors[0]["error"]


def test_label_studio_refusals(client, owner):
    text = project(client, owner, task="text_classification", labels=("neg", "pos"))
    images = project(client, owner, labels=("cat", "dog"))

    def refused(pid, name, body):
        answer = upload(client, owner, pid, (name, body))
        assert answer.status_code == 400, answer.text
        return answer.json()["detail"]

    assert "not valid JSON" in refused(text, "x.json", b'[{"data": {"text": "a"}')
    assert "not a Label Studio JSON export" in refused(text, "x.json", b"[1, 2]")
    unknown = [{"data": {"text": "a"}, "annotations": [choices("meh", "pos")]}]
    detail = refused(text, "x.json", json.dumps(unknown).encode())
    assert "unknown label(s) meh" in detail and "neg, pos" in detail
    assert "no `data.text`" in refused(text, "x.json", b'[{"data": {"image": "/a.png"}}]')
    linked = [{"data": {"image": "https://example.com/a.png"}}]
    assert "not fetched from links" in refused(images, "x.json", json.dumps(linked).encode())
    tricks = make_zip({"../result.json": b"[]", "a.png": png((1, 2, 3))})
    assert "leave the archive" in refused(images, "x.zip", tricks)
    nowhere = make_zip({"result.json": json.dumps(linked).encode(), "b.png": png((1, 2, 3))})
    assert "none of the tasks' images" in refused(images, "x.zip", nowhere)


def zipped(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"saved/{path.relative_to(folder)}")
    return buffer.getvalue()


def test_hugging_face_image_dataset(client, owner, run_jobs, tmp_path):
    datasets = pytest.importorskip("datasets")
    features = datasets.Features(
        {"image": datasets.Image(), "label": datasets.ClassLabel(names=["dog", "cat"])}
    )
    images = [png((255, 0, 0)), png((0, 255, 0)), png((0, 0, 255))]
    made = datasets.Dataset.from_dict(
        {
            "image": [{"bytes": b, "path": f"p{i}.png"} for i, b in enumerate(images)],
            "label": [0, 1, -1],
        },
        features=features,
    )
    made.save_to_disk(str(tmp_path / "pets"))
    pid = project(client, owner, labels=("cat", "dog"))
    accepted = upload(client, owner, pid, ("pets.zip", zipped(tmp_path / "pets")))
    assert accepted.status_code == 202, accepted.text
    run_jobs()
    # class names map to the project's labels by name, whatever their order
    assert final_labels(client, owner, pid) == {
        "train/p0.png": ["dog"],
        "train/p1.png": ["cat"],
        "train/p2.png": None,
    }


def test_hugging_face_text_splits_and_multilabel(client, owner, run_jobs, tmp_path):
    datasets = pytest.importorskip("datasets")
    split = datasets.Dataset.from_dict(
        {"text": ["good", "bad"], "label": [1, 0]},
        features=datasets.Features(
            {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])}
        ),
    )
    datasets.DatasetDict({"train": split, "test": split.select([1])}).save_to_disk(
        str(tmp_path / "reviews")
    )
    pid = project(client, owner, task="text_classification", labels=("neg", "pos"))
    accepted = upload(client, owner, pid, ("reviews.zip", zipped(tmp_path / "reviews")))
    assert accepted.status_code == 202, accepted.text
    run_jobs()
    # splits in name order: `train/1` is `test/0` again, a duplicate, skipped
    assert final_labels(client, owner, pid) == {"test/0": ["neg"], "train/0": ["pos"]}

    many = datasets.Dataset.from_dict(
        {"image": [{"bytes": png((5, 5, 5)), "path": None}], "tags": [[0, 2]]},
        features=datasets.Features(
            {
                "image": datasets.Image(),
                "tags": datasets.Sequence(datasets.ClassLabel(names=["cat", "dog", "sky"])),
            }
        ),
    )
    many.save_to_disk(str(tmp_path / "tags"))
    multi = project(client, owner, task="image_multilabel", labels=("cat", "dog", "sky"))
    assert upload(client, owner, multi, ("t.zip", zipped(tmp_path / "tags"))).status_code == 202
    run_jobs()
    assert final_labels(client, owner, multi) == {"train/0": ["cat", "sky"]}


def test_hugging_face_refusals(client, owner, tmp_path):
    datasets = pytest.importorskip("datasets")
    split = datasets.Dataset.from_dict(
        {"text": ["good"], "label": [0]},
        features=datasets.Features(
            {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["meh", "pos"])}
        ),
    )
    split.save_to_disk(str(tmp_path / "d"))
    body = zipped(tmp_path / "d")
    text = project(client, owner, task="text_classification", labels=("neg", "pos"))
    answer = upload(client, owner, text, ("d.zip", body))
    assert answer.status_code == 400 and "ClassLabel names meh" in answer.json()["detail"]
    images = project(client, owner, labels=("meh", "pos"))
    answer = upload(client, owner, images, ("d.zip", body))
    assert answer.status_code == 400 and "no Image column" in answer.json()["detail"]
    broken = make_zip({"saved/state.json": b"{not json", "saved/dataset_info.json": b"{}"})
    answer = upload(client, owner, text, ("b.zip", broken))
    assert answer.status_code == 400 and "not valid JSON" in answer.json()["detail"]


def test_odd_label_studio_shapes_never_crash():
    """Whatever shapes the tasks take, the check refuses or passes them: never another error."""
    import random

    from filament.uploads import labelstudio
    from filament.uploads.ingest import UploadRefused

    rng = random.Random(7)
    atoms = [None, 1, "x", "cat", [], {}, ["cat"], [["pets", "cat"]], {"choices": "cat"}, True]

    def shape(depth: int = 0):
        if depth > 3 or rng.random() < 0.4:
            return rng.choice(atoms)
        keys = ["data", "annotations", "result", "type", "value", "choices", "taxonomy", "text"]
        if rng.random() < 0.5:
            return [shape(depth + 1) for _ in range(rng.randint(0, 3))]
        return {rng.choice(keys): shape(depth + 1) for _ in range(rng.randint(0, 4))}

    for _ in range(3000):
        found = shape()
        task = found if isinstance(found, dict) else {"annotations": found}
        if not isinstance(task.get("data"), dict):
            task["data"] = {"text": "t", "image": "data:image/png;base64,AAAA"}
        for modality in ("text", "image"):
            try:
                labelstudio.check_tasks([task], "x.json", modality, ["cat", "dog"])
                list(
                    labelstudio.iter_labelstudio(
                        [task], "x.json", modality, ["cat"], None, 10**6, 10**6, 10**5
                    )
                )
            except UploadRefused:
                pass


@pytest.mark.parametrize(
    "state",
    [b'{"_data_files": 1}', b'{"_data_files": [{"filename": "../x.arrow"}]}', b"[1]", b'"x"'],
)
def test_odd_saved_dataset_metadata_is_a_400(client, owner, state):
    pid = project(client, owner, task="text_classification", labels=("neg", "pos"))
    body = make_zip({"d/state.json": state, "d/dataset_info.json": b'{"features": {}}'})
    answer = upload(client, owner, pid, ("d.zip", body))
    assert answer.status_code == 400, answer.text
