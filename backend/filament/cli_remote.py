"""The `filament` commands that talk to a running server through the SDK (`filament_client`):
login, logout, projects, upload, status, export, score, download.

Which server and token: `--url`, else FILAMENT_URL, else what `filament login` saved; the token
from FILAMENT_TOKEN, else the saved file (0600). Progress bars and messages go to stderr, so
stdout carries only the data asked for (an export to `-`, `--json`)."""

from __future__ import annotations

import argparse
import getpass
import json
import socket
import sys
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from filament_client import AuthenticationError, Client, FilamentError, JobFailed, config, routes
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

console = Console(stderr=True, highlight=False)


def guarded(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """The server's refusals as one line on stderr and exit status 1, not a traceback."""

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except AuthenticationError as error:
            console.print(f"error: {error.detail} (run `filament login`, or set FILAMENT_TOKEN)")
        except FilamentError as error:
            console.print(f"error: {error}")
        except JobFailed as error:
            console.print(f"error: {error}")
        except httpx.HTTPError as error:
            console.print(f"error: cannot reach the server ({error})")
        except (OSError, ValueError) as error:
            console.print(f"error: {error}")
        return 1

    return run


def add_commands(commands: Any) -> None:
    """The remote commands that no offline command shares a name with."""
    login = commands.add_parser("login", help="sign in to a server and keep an API token")
    login.add_argument("--url", default=None, help=f"default: FILAMENT_URL or {config.DEFAULT_URL}")
    login.add_argument("--email", default=None)
    login.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    login.add_argument(
        "--token-stdin", action="store_true", help="store an existing API token read from stdin"
    )
    login.add_argument("--days", type=int, default=None, help="token lifetime (server default)")
    login.set_defaults(handler=cmd_login)
    logout = commands.add_parser("logout", help="revoke and forget the saved token")
    logout.set_defaults(handler=cmd_logout)
    projects = commands.add_parser("projects", help="list the projects you belong to")
    add_connection(projects)
    projects.set_defaults(handler=cmd_projects)
    upload = commands.add_parser("upload", help="upload files, folders (zipped for images)")
    add_connection(upload, project=True)
    upload.add_argument("paths", nargs="+", help="files or folders")
    upload.add_argument("--dataset", default="default")
    upload.add_argument(
        "--wait", action="store_true", help="wait until the items are ingested and embedded"
    )
    upload.set_defaults(handler=cmd_upload)
    status = commands.add_parser("status", help="a project's counts, training and model")
    add_connection(status, project=True)
    status.add_argument("--json", action="store_true", help="the raw status as JSON")
    status.set_defaults(handler=cmd_status)
    download = commands.add_parser("download", help="download a model archive (zip)")
    add_connection(download, project=True)
    download.add_argument("--version", type=int, default=None, help="default: the active one")
    download.add_argument("--out", default=None, help="a file or folder (default: here)")
    download.add_argument("--extract", default=None, help="also unpack it into this folder")
    download.add_argument(
        "--format",
        choices=["onnx", "torchscript", "safetensors", "all"],
        default="onnx",
        help="the model's format (default onnx, with predict.py; all: the three together)",
    )
    download.add_argument(
        "--quantize",
        choices=["int8"],
        default=None,
        help="int8 ONNX: about 4x smaller; refused when it costs accuracy on the labels",
    )
    download.set_defaults(handler=cmd_download)


def add_connection(parser: argparse.ArgumentParser, project: bool = False) -> None:
    parser.add_argument("--url", default=None, help="the server (default: FILAMENT_URL or login)")
    if project:
        parser.add_argument("--project", "-p", type=int, required=True, help="the project id")


def connect(args: argparse.Namespace) -> Client:
    return Client.from_env(url=getattr(args, "url", None))


# --- login ------------------------------------------------------------------------------------


@guarded
def cmd_login(args: argparse.Namespace) -> int:
    url = config.resolve(args.url).url
    client = Client(url)
    if args.token_stdin:
        client.token = sys.stdin.readline().strip()
        user = client.me()  # checks the token before keeping it
        path = config.save(config.Credentials(url=url, token=client.token, email=user.email))
    else:
        email = args.email or input("Email: ")
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass()
        client.sign_in(email, password)
        # a personal API token, not the session token: it outlives a working day and can be
        # revoked alone (`filament logout`)
        token = client.create_api_token(f"filament CLI on {socket.gethostname()}", args.days)
        path = config.save(
            config.Credentials(url=url, token=token.token, token_id=token.id, email=email)
        )
        user = client.me()
    console.print(f"Signed in to {url} as {user.email}; the token is kept in {path} (0600)")
    return 0


@guarded
def cmd_logout(args: argparse.Namespace) -> int:
    saved = config.load_saved()
    if saved is None:
        console.print("Not signed in (no saved token)")
        return 0
    if saved.token and saved.token_id is not None:
        try:
            Client(saved.url, saved.token).revoke_api_token(saved.token_id)
        except (FilamentError, httpx.HTTPError) as error:  # expired, revoked, server away
            console.print(f"the token could not be revoked on the server: {error}")
    config.forget()
    console.print(f"Signed out of {saved.url}")
    return 0


# --- projects and status ----------------------------------------------------------------------


@guarded
def cmd_projects(args: argparse.Namespace) -> int:
    for project in connect(args).projects():
        print(f"{project.id}\t{project.name}\t{project.task}\t{project.role}")
    return 0


@guarded
def cmd_status(args: argparse.Namespace) -> int:
    status = connect(args).project(args.project).status()
    if args.json:
        print(json.dumps(status.raw, indent=2))
        return 0
    print(f"items: {status.items_total} ({status.items_ready} ready), labeled: {status.labeled}")
    if status.model_version is None:
        print("model: none yet")
    else:
        accuracy = (status.metrics or {}).get("accuracy")
        shown = f", accuracy {accuracy:.3f}" if isinstance(accuracy, float) else ""
        print(f"model: v{status.model_version} on {status.labels_in_model} labels{shown}")
    if status.training_progress is not None:
        running = status.training_progress
        print(f"running: {running.type} {running.progress:.0%} {running.message}")
    elif status.training:
        print("training: yes")
    return 0


# --- upload, export, download -----------------------------------------------------------------


@contextmanager
def byte_progress(description: str) -> Iterator[Callable[[int, int | None], None]]:
    """A progress bar of bytes, fed by the SDK's `progress(done, total)` callbacks."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task: TaskID = bar.add_task(description, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


@guarded
def cmd_upload(args: argparse.Namespace) -> int:
    client = connect(args)
    project = client.project(args.project)
    with byte_progress(f"uploading to {project.name}") as progress:
        uploads = project.upload(*args.paths, dataset=args.dataset, progress=progress)
    for upload in uploads:
        console.print(f"upload accepted: job {upload.job_id}, dataset {upload.dataset!r}")
    if args.wait:
        with Progress(console=console) as bar:
            for upload in uploads:
                task = bar.add_task(f"ingesting (job {upload.job_id})", total=1.0)
                job = client.wait_for_job(
                    upload, on_progress=lambda job, t=task: bar.update(t, completed=job.progress)
                )
                bar.update(task, completed=1.0)
                for problem in job.errors:
                    console.print(f"  skipped {problem.get('name')}: {problem.get('error')}")
                console.print(f"job {job.id}: {job.message}")
            embedding = bar.add_task("embedding", total=None)
            status = project.wait_until_embedded(
                on_status=lambda s: bar.update(
                    embedding, completed=s.items_ready, total=s.items_total
                )
            )
        console.print(f"{status.items_ready} of {status.items_total} items ready to label")
    return 0


# the dataset formats and their files' suffixes
DATASET_FORMATS = {"parquet": "parquet", "imagefolder": "zip"}


@guarded
def cmd_export_remote(args: argparse.Namespace) -> int:
    project = connect(args).project(args.project)
    dataset = args.format in DATASET_FORMATS
    # a dataset format carries the items and their final labels
    content = "items" if dataset and args.content == "labels" else args.content
    unlabeled, annotators = getattr(args, "unlabeled", False), getattr(args, "annotators", False)
    if args.out == "-":
        params = {"format": args.format, "content": content}
        if unlabeled:
            params["unlabeled"] = "true"
        if annotators:
            params["annotators"] = "true"
        with project.client.stream(
            "GET", routes.EXPORT.format(project_id=project.id), params=params
        ) as answer:
            for chunk in answer.iter_bytes():
                sys.stdout.buffer.write(chunk)
        return 0
    suffix = DATASET_FORMATS.get(args.format, args.format)
    out = Path(args.out or f"project-{project.id}-{content}.{suffix}")
    with byte_progress(f"exporting {content}") as progress:
        project.export(
            out,
            format=args.format,
            content=content,
            progress=progress,
            unlabeled=unlabeled,
            annotators=annotators,
        )
    console.print(f"{content} of project {project.id} written to {out}")
    return 0


@guarded
def cmd_download(args: argparse.Namespace) -> int:
    project = connect(args).project(args.project)
    with byte_progress("model archive") as progress:
        path = project.download_model(
            args.out,
            args.version,
            format=args.format,
            quantize=args.quantize,
            progress=progress,
            on_building=lambda job: console.print(
                f"the server is building the archive: {job.progress:.0%} {job.message}"
            ),
        )
    console.print(f"model archive written to {path}")
    if args.extract:
        with zipfile.ZipFile(path) as bundle:
            bundle.extractall(args.extract)
        console.print(f"unpacked into {args.extract}/ — try: filament score --model {args.extract}")
    return 0


@guarded
def cmd_score_remote(args: argparse.Namespace) -> int:
    project = connect(args).project(args.project)
    if args.text and args.inputs:
        raise ValueError("score texts (--text) or image files, not both")
    if args.text:
        result, names = project.score_texts(args.text), list(args.text)
    elif args.inputs:
        result, names = project.score_images(args.inputs), list(args.inputs)
    else:
        raise ValueError("nothing to score: give --text TEXT or image files")
    if args.json:
        print(json.dumps(result.raw, indent=2))
        return 0
    for name, top, row in zip(names, result.top_labels(), result.scores, strict=True):
        probabilities = ", ".join(
            f"{label} {p:.3f}" for label, p in zip(result.labels, row, strict=True)
        )
        print(f"{top}\t{probabilities}\t{name}")
    console.print(f"scored by model v{result.model_version} ({result.model_kind})")
    return 0
