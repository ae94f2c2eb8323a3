"""The SDK's parts against the real app (in-process, through its `http` option): typed
errors, what uploads send for files, folders and DataFrames, progress, the direct S3 flow;
and the config file `filament login` writes."""

import json
import os
import stat
import zipfile

import pandas as pd
import pytest
from filament_client import (
    AuthenticationError,
    Client,
    Conflict,
    NotFound,
    ValidationFailed,
    config,
)
from filament_client.uploads import prepare

from tests.api.test_s3 import s3, s3_client  # noqa: F401 (fixtures)
from tests.api.test_uploads import png
from tests.conftest import register


def sdk(test_client, headers=None) -> Client:
    token = (headers or {}).get("Authorization", "").removeprefix("Bearer ") or None
    return Client("http://testserver", token, http=test_client)


def test_refusals_are_typed_errors_with_status_and_detail(client, owner):
    with pytest.raises(AuthenticationError) as bad_token:
        sdk(client, {"Authorization": "Bearer fil_not-a-token"}).me()
    assert bad_token.value.status == 401 and bad_token.value.detail
    me = sdk(client, owner)
    with pytest.raises(NotFound) as missing:
        me.project(424242)
    assert missing.value.status == 404 and "not found" in missing.value.detail.lower()
    with pytest.raises(ValidationFailed) as invalid:
        me.create_project("P", "painting_classification", ["a"])
    assert invalid.value.status == 422 and isinstance(invalid.value.detail, list)
    assert "task" in str(invalid.value)
    project = me.create_project("P", "text_classification", ["negative", "positive"])
    with pytest.raises(Conflict) as no_model:
        project.score_texts(["hello"])
    assert no_model.value.status == 409 and "no model" in no_model.value.detail


def test_sign_in_and_api_tokens(client):
    anonymous = sdk(client)
    user = anonymous.register("sdk@example.com", "correct horse 2", "Sdk")
    assert user.email == "sdk@example.com" and user.id
    anonymous.sign_in("sdk@example.com", "correct horse 2")
    token = anonymous.create_api_token("script", expires_in_days=3)
    assert token.token and token.token.startswith("fil_") and token.expires_at
    scripted = sdk(client, {"Authorization": f"Bearer {token.token}"})
    assert scripted.me().id == user.id
    scripted.revoke_api_token(token.id)
    with pytest.raises(AuthenticationError):
        scripted.me()
    with pytest.raises(AuthenticationError):
        sdk(client).sign_in("sdk@example.com", "wrong password")


def test_files_folders_and_dataframes_with_progress(client, owner, run_jobs, tmp_path):
    me = sdk(client, owner)
    project = me.create_project("Texts", "text_classification", ["negative", "positive"])
    folder = tmp_path / "texts"
    (folder / "more").mkdir(parents=True)
    (folder / "a.csv").write_text("id,text,label\na1,good food,positive\na2,bad food,negative\n")
    (folder / "more" / "b.jsonl").write_text(json.dumps({"id": "b1", "text": "so so"}) + "\n")
    (folder / "notes.md").write_text("not an upload")
    (folder / ".hidden.csv").write_text("id,text\nh1,hidden\n")
    frame = pd.DataFrame(
        {"id": ["f1", "f2"], "text": ["lovely", "awful"], "labels": [["positive"], ["negative"]]}
    )
    seen: list[tuple[int, int | None]] = []
    uploads = project.upload(
        folder, frame, dataset="mixed", progress=lambda d, t: seen.append((d, t))
    )
    (upload,) = uploads
    assert sorted(f.name for f in upload.files) == ["a.csv", "dataframe-1.csv", "more/b.jsonl"]
    total = sum(f.size for f in upload.files)
    assert seen[-1] == (total, total) and all(t == total for _, t in seen)
    run_jobs()
    job = me.wait_for_job(upload, timeout=5)
    assert job.status == "done"
    items = {item.name: item for item in project.items(dataset="mixed")}
    assert set(items) == {"a1", "a2", "b1", "f1", "f2"}
    assert items["f1"].labels == ["positive"] and items["a2"].labels == ["negative"]
    assert [i.name for i in project.items(status="unlabeled")] == ["b1"]
    with pytest.raises(ValueError, match="'text' column"):
        project.upload(pd.DataFrame({"review": ["x"]}))


def test_an_image_folder_goes_as_one_zip_keeping_its_paths(tmp_path):
    folder = tmp_path / "pets"
    (folder / "cat").mkdir(parents=True)
    (folder / "dog").mkdir()
    (folder / "cat" / "a.png").write_bytes(png((200, 10, 10)))
    (folder / "dog" / "b.PNG").write_bytes(png((10, 200, 10)))
    (folder / "readme.txt").write_text("skipped")
    (zipped,) = prepare([folder], image_project=True, workdir=tmp_path)
    assert zipped.name == "pets.zip"
    with zipfile.ZipFile(zipped.path) as bundle:
        assert sorted(bundle.namelist()) == ["cat/a.png", "dog/b.PNG"]
        assert {info.compress_type for info in bundle.infolist()} == {zipfile.ZIP_STORED}
    with pytest.raises(FileNotFoundError):
        prepare([tmp_path / "absent"], image_project=True, workdir=tmp_path)


def test_direct_uploads_need_s3(client, owner, tmp_path):
    project = sdk(client, owner).create_project("I", "image_classification", ["cat", "dog"])
    image = tmp_path / "x.png"
    image.write_bytes(png((1, 2, 3)))
    with pytest.raises(Conflict, match="S3"):
        project.upload(image, direct=True)
    assert project.upload(image, direct=None)[0].files[0].name == "x.png"  # falls back


def test_a_direct_upload_goes_to_the_bucket(s3_client, s3, run_jobs, tmp_path):  # noqa: F811
    headers = register(s3_client)
    me = sdk(s3_client, headers)
    project = me.create_project("I", "image_classification", ["cat", "dog"])
    (tmp_path / "pets" / "cat").mkdir(parents=True)
    (tmp_path / "pets" / "cat" / "a.png").write_bytes(png((200, 10, 10)))
    (tmp_path / "b.png").write_bytes(png((10, 10, 200)))
    seen: list[int] = []
    (upload,) = project.upload(
        tmp_path / "pets", tmp_path / "b.png", direct=True, progress=lambda d, t: seen.append(d)
    )
    assert [f.name for f in upload.files] == ["pets.zip", "b.png"]
    assert seen[-1] == sum(f.size for f in upload.files)
    run_jobs()
    assert me.wait_for_job(upload.job_id, timeout=5).status == "done"
    items = {item.name: item for item in project.items()}
    assert sorted(items) == ["b.png", "cat/a.png"]
    assert items["cat/a.png"].labels == ["cat"]  # a top folder named like a label


def test_the_config_file_is_private_and_env_wins(tmp_path, monkeypatch):
    path = tmp_path / "cfg" / "config.json"
    monkeypatch.setenv("FILAMENT_CONFIG", str(path))
    monkeypatch.delenv("FILAMENT_URL", raising=False)
    monkeypatch.delenv("FILAMENT_TOKEN", raising=False)
    path.parent.mkdir()
    path.write_text("{}")
    path.chmod(0o644)  # an older file, readable by others: saving makes it private again
    config.save(config.Credentials(url="http://a.example:8000", token="fil_saved", token_id=3))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert config.resolve().token == "fil_saved" and config.resolve().url == "http://a.example:8000"
    # the saved token goes only to the server that issued it
    assert config.resolve("http://b.example:8000").token is None
    monkeypatch.setenv("FILAMENT_TOKEN", "fil_env")
    monkeypatch.setenv("FILAMENT_URL", "http://c.example")
    assert (config.resolve().url, config.resolve().token) == ("http://c.example", "fil_env")
    assert config.forget() and not path.exists() and config.load_saved() is None


def test_score_results_name_their_top_labels():
    from filament_client import ScoreResult

    result = ScoreResult.from_json(
        {"labels": ["a", "b"], "scores": [[0.2, 0.8], [0.9, 0.1]], "model_version": 2, "x": 1}
    )
    assert result.top_labels() == ["b", "a"] and result.raw["x"] == 1
