"""Fine-tuning through the API with a real worker: gating, activation, re-embedding, cancel."""

import pytest
from filament.core.settings import get_settings
from filament.ml.setfit import RECIPE

from tests.api.test_loop import label_of, synthetic_rows, text_project
from tests.conftest import add_member, download_archive, register


def labeled_project(client, owner, run_jobs, n=40, labeled=30):
    pid = text_project(client, owner, synthetic_rows(n))
    run_jobs()
    listed = client.get(f"/api/v1/projects/{pid}/items?limit=100", headers=owner).json()["data"]
    for item in listed[:labeled]:
        client.post(
            f"/api/v1/projects/{pid}/items/{item['id']}/annotations",
            headers=owner,
            json={"labels": [label_of(item["name"])]},
        )
    run_jobs()
    return pid, listed


def models(client, owner, pid):
    return client.get(f"/api/v1/projects/{pid}/models", headers=owner).json()["data"]


def test_finetune_is_kept_but_not_used_when_not_better(client, owner, run_jobs, monkeypatch):
    pid, _ = labeled_project(client, owner, run_jobs)
    head = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()
    assert head["metrics"]["accuracy"] == 1.0
    # nothing beats it by .01 (a tie at a lower held-out loss would win with no minimum gain)
    monkeypatch.setenv("FILAMENT_FINETUNE_MIN_GAIN", "0.01")
    get_settings.cache_clear()
    job = client.post(f"/api/v1/projects/{pid}/finetune", headers=owner)
    assert job.status_code == 202 and job.json()["device"] == "cpu"
    again = client.post(f"/api/v1/projects/{pid}/finetune", headers=owner)
    assert again.status_code == 409
    run_jobs()
    done = client.get(f"/api/v1/jobs/{job.json()['id']}", headers=owner).json()
    assert done["status"] == "done" and done["result"]["activated"] is False, done
    assert done["result"]["recipe"] == RECIPE
    finetuned = [m for m in models(client, owner, pid) if m["kind"] == "finetuned"]
    assert len(finetuned) == 1 and finetuned[0]["status"] == "rejected"
    assert finetuned[0]["metrics"]["recipe"] == RECIPE
    assert 0 < finetuned[0]["metrics"]["steps"] <= 6
    assert not finetuned[0]["active"]
    status = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()
    assert status["model_version"] == head["model_version"]


def test_finetune_activates_when_better_and_the_pool_moves_to_it(
    client, owner, run_jobs, monkeypatch
):
    pid, listed = labeled_project(client, owner, run_jobs)
    monkeypatch.setenv("FILAMENT_FINETUNE_MIN_GAIN", "-1")  # the gate opens whatever it scores
    get_settings.cache_clear()
    job = client.post(f"/api/v1/projects/{pid}/finetune", headers=owner).json()
    run_jobs()
    done = client.get(f"/api/v1/jobs/{job['id']}", headers=owner).json()
    assert done["status"] == "done" and done["result"]["activated"] is True, done
    status = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()
    version = done["result"]["version"]
    assert status["model_version"] >= version
    scored = client.post(
        f"/api/v1/projects/{pid}/score",
        headers=owner,
        json={"type": "text", "texts": [listed[35]["text"]]},
    ).json()
    assert scored["model_version"] == status["model_version"]
    # the fine-tuned version, or the head retrained right after it on its embeddings
    active = next(m for m in models(client, owner, pid) if m["active"])
    assert scored["model_kind"] == active["kind"]
    assert active["version"] == version or active["base_version"] == version
    assert abs(sum(scored["scores"][0]) - 1) < 1e-5
    # the queue and the next head work on the fine-tuned embeddings
    assert client.get(f"/api/v1/projects/{pid}/queue?limit=3", headers=owner).json()["data"]
    client.post(
        f"/api/v1/projects/{pid}/items/{listed[31]['id']}/annotations",
        headers=owner,
        json={"labels": [label_of(listed[31]["name"])]},
    )
    run_jobs()
    latest = models(client, owner, pid)[-1]
    assert latest["kind"] == "head" and latest["base_version"] == version and latest["active"]
    archive = download_archive(
        client, owner, f"/api/v1/projects/{pid}/models/{version}/download", run_jobs
    )
    assert archive.status_code == 200


def test_cancel_a_queued_finetune(client, owner, run_jobs):
    pid, _ = labeled_project(client, owner, run_jobs, n=12, labeled=8)
    job = client.post(f"/api/v1/projects/{pid}/finetune", headers=owner).json()
    viewer = add_member(client, owner, pid, "v@example.com", "viewer")
    assert client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=viewer).status_code == 403
    assert client.post(f"/api/v1/projects/{pid}/finetune", headers=viewer).status_code == 403
    cancelled = client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=owner).json()
    assert cancelled["status"] == "cancelled"
    from filament.jobs.rows import update_job

    update_job(job["id"], status="running", message="a worker that missed the cancel")
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=owner).json()["status"] == "cancelled"
    run_jobs()
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=owner).json()["status"] == "cancelled"
    assert not [m for m in models(client, owner, pid) if m["kind"] == "finetuned"]
    stranger = register(client, "s@example.com")
    assert client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=stranger).status_code == 404


@pytest.fixture(autouse=True)
def small_cpu_budget(monkeypatch):
    monkeypatch.setenv("FILAMENT_CPU_FINETUNE_EPOCHS", "1")
    monkeypatch.setenv("FILAMENT_CPU_FINETUNE_MAX_ITEMS", "32")
    # texts: the contrastive recipe, which shares the gate, storage and re-embedding
    monkeypatch.setenv("FILAMENT_TEXT_FINETUNE", "contrastive")
    monkeypatch.setenv("FILAMENT_CPU_SETFIT_MAX_STEPS", "6")


# exporting is storage and torch work, the same on every database: SQLite alone keeps CI shorter
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_model_archive_of_a_head_version_runs_without_filament(
    client, owner, run_jobs, tmp_path, capfd
):
    import io
    import json
    import subprocess
    import sys
    import zipfile

    pid, listed = labeled_project(client, owner, run_jobs, n=20, labeled=12)
    status = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()
    url = f"/api/v1/projects/{pid}/models/{status['model_version']}/download"
    archive = download_archive(client, owner, url, run_jobs)
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as bundle:
        names = set(bundle.namelist())
        assert {
            "model.safetensors",
            "model.onnx",
            "model.torchscript.pt",
            "labels.json",
            "preprocessing.json",
            "README.md",
            "predict.py",
        } <= names
        bundle.extractall(tmp_path)
    text = listed[15]["text"]
    run = subprocess.run(
        [sys.executable, str(tmp_path / "predict.py"), "--text", text],
        capture_output=True,
        text=True,
        check=True,
    )
    offline = json.loads(run.stdout)["results"][0]["probabilities"]
    online = client.post(
        f"/api/v1/projects/{pid}/score", headers=owner, json={"type": "text", "texts": [text]}
    ).json()
    for label, p in zip(online["labels"], online["scores"][0], strict=True):
        assert abs(offline[label] - p) < 1e-3
    # the second download is the stored archive, byte for byte
    assert client.get(url, headers=owner).content == archive.content
    # a short-lived link downloads it without the Authorization header (browsers save to disk)
    link = client.post(url.replace("/download", "/download-link"), headers=owner).json()
    assert client.get(link["url"]).content == archive.content
    assert client.get(link["url"][:-4] + "abcd").status_code == 404
    assert client.post(url.replace("/download", "/download-link")).status_code == 401
    # and the CLI writes the same model to a folder and scores with it offline
    from filament.cli import main

    capfd.readouterr()
    assert main(["export", str(pid), "--out", str(tmp_path / "cli")]) == 0
    assert (tmp_path / "cli" / "model.onnx").read_bytes() == (tmp_path / "model.onnx").read_bytes()
    capfd.readouterr()
    assert main(["score", "--model", str(tmp_path / "cli"), "--text", text]) == 0
    printed = json.loads(capfd.readouterr().out)
    assert printed["results"][0]["probabilities"] == offline


def test_labels_growth_starts_fine_tuning_when_a_gpu_worker_is_connected(
    client, owner, run_jobs, redis_url
):
    import redis
    from filament import jobs

    # a GPU worker announces itself with this key while it runs (see filament_worker.settings)
    redis.Redis.from_url(redis_url).set(f"{jobs.GPU_WORKER_PREFIX}test", "gpu-host", ex=60)
    pid, _ = labeled_project(client, owner, run_jobs, n=60, labeled=50)
    listed = client.get(f"/api/v1/projects/{pid}/jobs", headers=owner).json()["data"]
    finetunes = [job for job in listed if job["type"] == "finetune"]
    assert len(finetunes) == 1
    assert finetunes[0]["status"] == "queued" and finetunes[0]["device"] == "gpu"
    queued = redis.Redis.from_url(redis_url).zcard(jobs.GPU_QUEUE)
    assert queued == 1  # waiting on the gpu queue, which no CPU worker takes


def finetunes(client, owner, pid):
    listed = client.get(f"/api/v1/projects/{pid}/jobs", headers=owner).json()["data"]
    return [job for job in listed if job["type"] == "finetune"]


def test_labels_growth_fine_tunes_a_small_text_pool_on_the_cpu_worker(
    client, owner, run_jobs, monkeypatch
):
    monkeypatch.setenv("FILAMENT_CPU_AUTO_FINETUNE_ITEMS", "60")  # the pool below: 60 texts
    get_settings.cache_clear()
    pid, listed = labeled_project(client, owner, run_jobs, n=60, labeled=49)
    assert finetunes(client, owner, pid) == []  # 49 labels: below the first fine-tune's 50
    client.post(
        f"/api/v1/projects/{pid}/items/{listed[49]['id']}/annotations",
        headers=owner,
        json={"labels": [label_of(listed[49]["name"])]},
    )
    run_jobs()  # the head, then the fine-tune it started, on this (CPU) worker
    (job,) = finetunes(client, owner, pid)
    assert job["device"] == "cpu" and job["status"] == "done", job
    (version,) = [m for m in models(client, owner, pid) if m["kind"] == "finetuned"]
    assert version["label_count"] == 50 and version["version"] == job["result"]["version"]
    # the next one waits until labels grew by finetune_growth (50 % by default)
    for item in listed[50:55]:
        client.post(
            f"/api/v1/projects/{pid}/items/{item['id']}/annotations",
            headers=owner,
            json={"labels": [label_of(item["name"])]},
        )
    run_jobs()
    assert len(finetunes(client, owner, pid)) == 1


def test_a_text_pool_over_the_cpu_limit_or_images_are_not_fine_tuned_on_their_own(
    client, owner, run_jobs, monkeypatch
):
    from filament.db.models import Project, Task
    from filament.db.session import session_scope
    from filament.models.finetuning import finetunes_on_cpu

    monkeypatch.setenv("FILAMENT_CPU_AUTO_FINETUNE_ITEMS", "59")
    get_settings.cache_clear()
    pid, _ = labeled_project(client, owner, run_jobs, n=60, labeled=50)
    assert finetunes(client, owner, pid) == []
    with session_scope() as session:
        project = session.get(Project, pid)
        assert finetunes_on_cpu(session, project, 60) and not finetunes_on_cpu(session, project, 0)
        project.task = Task.image_classification
        assert not finetunes_on_cpu(session, project, 60)


def test_a_head_trained_while_a_finetune_re_embeds_takes_the_next_number(
    client, owner, run_jobs, monkeypatch
):
    """A fine-tune takes its number when its training ends and re-embeds the pool under it
    (minutes on a CPU) while the team goes on labeling and heads keep training. Before the
    number was reserved, such a head took the same one: both wrote files under it and the
    fine-tune's row then failed on the unique (project, version)."""
    from filament_worker import finetune as worker_finetune
    from filament_worker.train import run_train_head

    pid, _ = labeled_project(client, owner, run_jobs)
    monkeypatch.setenv("FILAMENT_FINETUNE_MIN_GAIN", "-1")  # the gate opens
    get_settings.cache_clear()
    re_embed, heads = worker_finetune.embed_items, []

    def a_head_trains_meanwhile(*args, **kwargs):  # type: ignore[no-untyped-def]
        heads.append(run_train_head(pid))
        return re_embed(*args, **kwargs)

    monkeypatch.setattr(worker_finetune, "embed_items", a_head_trains_meanwhile)
    job = client.post(f"/api/v1/projects/{pid}/finetune", headers=owner).json()
    run_jobs()
    done = client.get(f"/api/v1/jobs/{job['id']}", headers=owner).json()
    assert done["status"] == "done" and done["result"]["activated"] is True, done
    tuned = done["result"]["version"]
    assert heads == [tuned + 1]
    listed = models(client, owner, pid)
    numbers = [m["version"] for m in listed]
    assert len(numbers) == len(set(numbers))
    by_number = {m["version"]: m for m in listed}
    assert by_number[tuned]["kind"] == "finetuned"
    assert by_number[tuned + 1]["kind"] == "head" and by_number[tuned + 1]["base_version"] is None
    # the head the fine-tune asks for once active: on the tuned embeddings, and serving
    assert listed[-1]["base_version"] == tuned and listed[-1]["active"]


def test_version_numbers_taken_from_several_threads_are_distinct(client, owner, redis_url):
    """Heads recording rows and fine-tunes reserving numbers at once, on real Redis and the
    real database: every number is taken once."""
    import threading

    import redis
    from filament import jobs
    from filament.db.models import ModelKind, ModelVersion
    from filament.db.session import session_scope
    from filament.jobs.rows import new_job
    from filament.models.versions import new_version_number, reserve_version

    pid = text_project(client, owner, synthetic_rows(4))
    with session_scope() as session:
        job_ids = [new_job(session, pid, None, jobs.FINETUNE, "test").id for _ in range(6)]
    taken: list[int] = []
    failures: list[BaseException] = []

    def head(rounds: int) -> None:
        try:
            for _ in range(rounds):
                with (
                    session_scope() as session,
                    new_version_number(session, redis.Redis.from_url(redis_url), pid) as number,
                ):
                    session.add(
                        ModelVersion(
                            project_id=pid,
                            version=number,
                            storage_key=f"v{number}",
                            kind=ModelKind.head,
                            backbone="minilm_l6",
                            label_count=1,
                        )
                    )
                    session.commit()
                    taken.append(number)
        except BaseException as error:
            failures.append(error)

    def finetune(job_ids: list[int]) -> None:
        try:
            for job_id in job_ids:
                with session_scope() as session:
                    taken.append(reserve_version(session, redis.Redis.from_url(redis_url), job_id))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=head, args=(8,)) for _ in range(3)]
    threads += [threading.Thread(target=finetune, args=(job_ids[i::2],)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(taken) == list(range(1, 3 * 8 + 6 + 1))


def test_a_job_whose_worker_died_twice_is_failed_and_changes_nothing(client, owner, run_jobs):
    from filament.db.models import Job
    from filament.db.session import session_scope

    pid, _ = labeled_project(client, owner, run_jobs, n=12, labeled=8)
    before = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()["model_version"]
    job = client.post(f"/api/v1/projects/{pid}/finetune", headers=owner).json()
    with session_scope() as session:  # as if two workers had died in the middle of it
        row = session.get(Job, job["id"])
        row.status, row.params = "running", {"attempts": 2}
        session.add(row)
        session.commit()
    run_jobs()
    failed = client.get(f"/api/v1/jobs/{job['id']}", headers=owner).json()
    assert failed["status"] == "failed" and "unchanged" in failed["message"]
    after = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()["model_version"]
    assert after == before


def test_gate_compares_like_for_like():
    from filament.db.models import ModelVersion
    from filament_worker.finetune import gate_reference

    head = ModelVersion(
        project_id=1,
        version=3,
        kind="head",
        backbone="minilm_l6",
        label_count=9,
        metrics={"accuracy": 0.95},
        storage_key="k",
    )
    finetuned_metrics = {"accuracy": 0.9, "head_baseline": 0.8}
    # against a head on the pretrained backbone: that head's method on the same held-out items
    assert gate_reference(head, finetuned_metrics, False)[0] == 0.8
    # against a fine-tuned generation: the active version's own validated number
    head.base_version = 2
    assert gate_reference(head, finetuned_metrics, False) == (0.95, "the active v3")
    assert gate_reference(None, finetuned_metrics, False)[0] is None


def test_a_tie_on_held_out_accuracy_goes_to_the_lower_held_out_loss():
    from filament_worker.finetune import gate_opens

    assert gate_opens(0.6, 0.6, 0.0, (0.64, 0.67))  # 12 of 20 rows either way, better loss
    assert not gate_opens(0.6, 0.6, 0.0, (0.70, 0.67))
    assert not gate_opens(0.6, 0.6, 0.0)  # no loss on the same rows: against an active version
    assert gate_opens(0.65, 0.6, 0.0, (0.80, 0.67))  # accuracy first
    assert not gate_opens(0.55, 0.6, 0.0, (0.10, 0.67))
    assert not gate_opens(0.6, 0.6, 0.05, (0.64, 0.67))  # the minimum gain still holds
    assert gate_opens(0.65, 0.6, 0.05, (0.64, 0.67))
    assert not gate_opens(None, 0.6, 0.0, (0.64, 0.67))


def test_a_tied_finetune_with_a_lower_held_out_loss_is_activated(
    client, owner, run_jobs, monkeypatch
):
    from filament_worker import finetune

    pid, _ = labeled_project(client, owner, run_jobs)
    recipe = finetune.run_recipe

    def tied(*args, **kwargs):  # the real fine-tune, scored as a tie at a lower loss
        result = recipe(*args, **kwargs)
        result.metrics |= {"accuracy": result.metrics["head_baseline"], "best_epoch": 1}
        result.history = [{"epoch": 0, "val_loss": 0.7}, {"epoch": 1, "val_loss": 0.6}]
        return result

    monkeypatch.setattr(finetune, "run_recipe", tied)
    job = client.post(f"/api/v1/projects/{pid}/finetune", headers=owner).json()
    run_jobs()
    done = client.get(f"/api/v1/jobs/{job['id']}", headers=owner).json()
    assert done["status"] == "done" and done["result"]["activated"] is True, done
    assert done["result"]["metric"] == done["result"]["reference_metric"]
    assert (done["result"]["loss"], done["result"]["reference_loss"]) == (0.6, 0.7)
    assert "lower held-out loss" in done["message"]
