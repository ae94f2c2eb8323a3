"""The `filament` command: run the whole service, or one part of it; and, through the SDK, use
a running server (login, upload, status, export, score, download: see `filament/cli_remote.py`)."""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

from filament.core.settings import get_settings


def migrate() -> None:
    from filament.db.migrate import upgrade

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)


def cmd_run(args: argparse.Namespace) -> int:
    """API + worker (+ embedded Redis unless FILAMENT_REDIS_URL is set), stopped by Ctrl-C."""
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, FILAMENT_DATA_DIR=str(settings.data_dir.resolve()))
    redis_server = None
    if not settings.redis_url:
        from filament.core.redis import start_embedded_redis

        redis_server, url = start_embedded_redis(settings)
        env["FILAMENT_REDIS_URL"] = url
        print(f"embedded Redis on {url}", flush=True)
    if settings.metrics == "on" and "PROMETHEUS_MULTIPROC_DIR" not in env:
        # the API processes count requests into files here, read together on each scrape
        # (prometheus_client's multiprocess mode); a fresh folder per start
        import shutil

        shared = settings.data_dir.resolve() / "prometheus"
        shutil.rmtree(shared, ignore_errors=True)
        shared.mkdir(parents=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(shared)
    migrate()
    settings.resolved_secret_key()
    port = str(args.port or os.environ.get("PORT", "8000"))
    python = sys.executable
    commands = {
        "worker": [python, "-m", "filament.cli", "worker"],
        "API": [
            python,
            "-m",
            "uvicorn",
            "filament.api.app:create_app",
            "--factory",
            "--host",
            args.host,
            "--port",
            port,
            "--log-level",
            "warning",
            # a process mapping a million-item project's scores can hold the GIL past
            # uvicorn's 5 s health check, which then kills it mid-request
            "--timeout-worker-healthcheck",
            "60",
            "--workers",
            str(settings.api_workers),
        ],
    }
    children = {name: Supervised(name, command, env) for name, command in commands.items()}
    print(
        f"Filament is running on http://{args.host}:{port}  (API docs: /docs; Ctrl-C stops)",
        flush=True,
    )
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for child in children.values():
            if not child.check():
                code, stopping = child.code or 1, True
        time.sleep(0.3)
    for child in children.values():
        child.stop()
    if redis_server is not None:
        redis_server.shutdown()  # type: ignore[attr-defined]
    print("Filament stopped.")
    return code


class Supervised:
    """One process of `filament run`, restarted when it dies (a crash, kill -9, the OOM killer)
    with a back-off of 1, 2, 4 ... 30 s, so the rest of the service keeps answering. A process
    that dies within QUICK_EXIT seconds of its start GIVE_UP times in a row has a problem a
    restart cannot mend (a port in use, a broken setting): then the whole service stops."""

    QUICK_EXIT = 10.0
    GIVE_UP = 5

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name, self.command, self.env = name, command, env
        self.delay, self.quick_exits, self.code = 1.0, 0, 0
        self.restart_at: float | None = None
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        self.started = time.monotonic()
        return subprocess.Popen(self.command, env=self.env)

    def check(self) -> bool:
        """Restart the process if it died and its back-off has passed; False: give up."""
        now = time.monotonic()
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.restart_at, self.process = None, self._start()
            return True
        if self.process.poll() is None:
            if now - self.started > 60:
                self.delay, self.quick_exits = 1.0, 0
            return True
        self.code = self.process.returncode
        self.quick_exits = self.quick_exits + 1 if now - self.started < self.QUICK_EXIT else 0
        if self.quick_exits >= self.GIVE_UP:
            print(f"the Filament {self.name} keeps exiting (code {self.code}); stopping")
            return False
        print(
            f"the Filament {self.name} exited (code {self.code}); restarting it in "
            f"{self.delay:.0f} s",
            flush=True,
        )
        self.restart_at = now + self.delay
        self.delay = min(self.delay * 2, 30.0)
        return True

    def stop(self) -> None:
        if self.restart_at is None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def cmd_worker(args: argparse.Namespace) -> int:
    from filament_worker.settings import run_worker

    migrate() if args.migrate else None
    run_worker(gpu=args.gpu, burst=args.burst)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """`--project ID`: a running server's export of labels or predictions (a file); a
    positional PROJECT_ID (on the server's machine): the model archive into a folder."""
    if args.project is not None:
        if args.project_id is not None:
            raise SystemExit("give the project once: --project ID (remote) or PROJECT_ID (local)")
        if args.version is not None:
            raise SystemExit("a server's model archive: filament download --project ID --version N")
        return _remote().cmd_export_remote(args)
    if args.project_id is None or args.out is None:
        raise SystemExit(
            "filament export --project ID [--format csv|jsonl|parquet|imagefolder] exports "
            "labels or a dataset from a server; "
            "filament export PROJECT_ID --out FOLDER writes a model archive from this machine's "
            "database"
        )
    return cmd_export_local(args)


def cmd_export_local(args: argparse.Namespace) -> int:
    """Write a project's model archive (active version, or --version) unpacked into a folder."""
    import io
    import zipfile

    from filament.db.models import Project
    from filament.db.session import session_scope
    from filament.models.archive import ensure_archive
    from filament.models.pool_scores import active_model
    from filament.models.versions import get_version
    from filament.storage import get_storage

    migrate()
    with session_scope() as session:
        project = session.get(Project, args.project_id)
        if project is None:
            raise SystemExit(f"no project {args.project_id}")
        model = (
            get_version(session, args.project_id, args.version)
            if args.version
            else active_model(session, args.project_id)
        )
        if model is None:
            raise SystemExit("this project has no model yet (or no such version)")
        storage = get_storage()
        key = ensure_archive(session, storage, project, model, get_settings().weights_dir)
        archive = storage.get_bytes(key)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
        bundle.extractall(out)
    print(
        f"model v{model.version} ({model.kind}) written to {out}/ — try: "
        f"filament score --model {out} ..."
    )
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    """`--model FOLDER`: offline, with an exported model; `--project ID`: a server's active
    model."""
    if (args.model is None) == (args.project is None):
        raise SystemExit(
            "score with --model FOLDER (an exported model, offline) or --project ID (a server)"
        )
    if args.project is not None:
        return _remote().cmd_score_remote(args)
    script = Path(args.model) / "predict.py"
    if not script.is_file():
        raise SystemExit(f"{args.model} is not an exported model folder (no predict.py)")
    extra = [part for text in args.text for part in ("--text", text)]
    return subprocess.call([sys.executable, str(script), *args.inputs, *extra])


def cmd_users(args: argparse.Namespace) -> int:
    """Create an account (whatever FILAMENT_REGISTRATION says; the instance's first account is
    its admin), or disable / enable one."""
    import getpass

    from filament.accounts.users import create_account, find_user, set_disabled
    from filament.core.errors import Conflict
    from filament.db.session import session_scope

    migrate()
    email = args.email.lower()
    with session_scope() as session:
        user = find_user(session, email)
        if args.action == "create":
            if user is not None:
                raise SystemExit(f"{email} already has an account")
            password = os.environ.get("FILAMENT_NEW_PASSWORD") or getpass.getpass("Password: ")
            if len(password) < 8:
                raise SystemExit("the password needs at least 8 characters")
            try:
                user = create_account(session, email, password, args.name)
            except Conflict as error:
                raise SystemExit(str(error)) from error
            if user.is_admin:
                print(f"{email} is the instance admin (the first account)")
        elif user is None:
            raise SystemExit(f"no account {email}")
        else:
            # disabling ends every session at once (the token version moves too)
            set_disabled(session, user, args.action == "disable")
    print(f"{email}: {args.action}d")
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    from filament.api.app import create_app

    schema = create_app().openapi()
    Path(args.out).write_text(json.dumps(schema, indent=2) + "\n")
    return 0


def _remote() -> ModuleType:
    """The remote commands' module: it needs the SDK (`pip install ./sdk`), its own package."""
    try:
        from filament import cli_remote
    except ImportError as error:
        raise SystemExit(
            f"the remote commands need the Filament SDK: pip install ./sdk ({error})"
        ) from error
    return cli_remote


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="filament", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="start API, worker and (embedded) Redis")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=None)
    run.set_defaults(handler=cmd_run)
    worker = commands.add_parser("worker", help="start a job worker")
    worker.add_argument("--gpu", action="store_true", help="take fine-tuning jobs (gpu queue)")
    worker.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    worker.add_argument("--migrate", action="store_true", help="apply migrations first")
    worker.set_defaults(handler=cmd_worker)
    migrate_cmd = commands.add_parser("migrate", help="apply database migrations")
    migrate_cmd.set_defaults(handler=lambda _: migrate() or 0)
    export = commands.add_parser(
        "export",
        help="labels/predictions from a server (--project), or a model archive to a folder "
        "from this machine's database (PROJECT_ID --out FOLDER)",
    )
    export.add_argument("project_id", type=int, nargs="?", help="local: the project's id")
    export.add_argument("--out", default=None, help="local: a folder; remote: a file, or -")
    export.add_argument("--version", type=int, default=None, help="local: default the active one")
    export.add_argument("--project", "-p", type=int, default=None, help="remote: the project id")
    export.add_argument("--url", default=None, help="remote: the server")
    export.add_argument(
        "--format",
        choices=["csv", "jsonl", "parquet", "imagefolder"],
        default="csv",
        help="remote; parquet: a Hugging Face datasets file, imagefolder: a zip of "
        "label/filename images (both: the items and their final labels)",
    )
    export.add_argument(
        "--content", choices=["labels", "predictions", "items", "activity"], default="labels"
    )
    export.add_argument(
        "--unlabeled", action="store_true", help="parquet, imagefolder: unlabeled items too"
    )
    export.add_argument(
        "--annotators", action="store_true", help="items, parquet: every annotator's labels"
    )
    export.set_defaults(handler=cmd_export)
    score = commands.add_parser(
        "score", help="score inputs with an exported model (--model) or a server's (--project)"
    )
    score.add_argument("--model", default=None, help="a folder written by `filament export`")
    score.add_argument("--project", "-p", type=int, default=None, help="remote: the project id")
    score.add_argument("--url", default=None, help="remote: the server")
    score.add_argument("--json", action="store_true", help="remote: the answer as JSON")
    score.add_argument("--text", action="append", default=[], help="a text to score (repeat)")
    score.add_argument("inputs", nargs="*", help="image files to score")
    score.set_defaults(handler=cmd_score)
    users = commands.add_parser("users", help="create, disable or enable an account")
    users.add_argument("action", choices=["create", "disable", "enable"])
    users.add_argument("email")
    users.add_argument("--name", default="")
    users.set_defaults(handler=cmd_users)
    openapi = commands.add_parser("openapi", help="write the OpenAPI schema")
    openapi.add_argument("--out", default="frontend/openapi.json")
    openapi.set_defaults(handler=cmd_openapi)
    try:
        from filament import cli_remote

        cli_remote.add_commands(commands)
    except ImportError:  # without the SDK (`pip install ./sdk`) the server's commands remain
        pass
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
