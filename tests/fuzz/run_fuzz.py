"""Schema-driven fuzzing of the live API: start the real stack (API + worker + embedded Redis +
SQLite) on a free port with a throwaway data dir, give it a user with a small embedded text
project, and run schemathesis on every operation (examples, coverage, fuzzing and stateful
phases, all checks) for a bounded, seeded time. Failures not listed in baseline.json fail the
run; so do baseline entries without a reason. Used by `make test-fuzz` (part of `make test`).

FUZZ_SECONDS (default 120) and FUZZ_SEED (default 1, so CI explores the same cases each run;
FUZZ_SEED=random draws one) say how long and what; the seed is printed."""

import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from run_e2e import ROOT, free_port, wait_until_up

HERE = Path(__file__).resolve().parent
# FUZZ_BASELINE=new.json records a run's failures into a new file (schemathesis creates it)
BASELINE = Path(os.environ.get("FUZZ_BASELINE") or HERE / "baseline.json")
EMAIL, PASSWORD = "fuzz@example.com", "fuzzing password 1"
TEXTS = [
    "great product, works well",
    "terrible, broke after a day",
    "I love it",
    "waste of money",
    "does what it says",
    "would not buy again",
]


def call(url: str, method: str = "GET", token: str | None = None, **body: object) -> object:
    """One JSON request (a form with `form=`, a file with `multipart=`); the JSON answer."""
    headers: dict[str, str] = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if "form" in body:
        data = urllib.parse.urlencode(body["form"]).encode()  # type: ignore[arg-type]
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif "multipart" in body:
        name, content = body["multipart"]  # type: ignore[misc]
        boundary = "fuzz-boundary"
        data = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            f"Content-Type: text/csv\r\n\r\n{content}\r\n--{boundary}--\r\n"
        ).encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    elif body:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def seed_project(api: str) -> str:
    """A user with a text project: six items uploaded and embedded, one of them labeled."""
    call(f"{api}/auth/register", "POST", email=EMAIL, password=PASSWORD, name="fuzz")
    token = call(f"{api}/auth/token", "POST", form={"username": EMAIL, "password": PASSWORD})
    access = token["access_token"]  # type: ignore[index]
    project = call(
        f"{api}/projects",
        "POST",
        access,
        name="fuzz",
        task="text_classification",
        labels=["negative", "positive"],
    )
    project_id = project["id"]  # type: ignore[index]
    csv = "text\n" + "\n".join(TEXTS) + "\n"
    call(f"{api}/projects/{project_id}/items", "POST", access, multipart=("texts.csv", csv))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = call(f"{api}/projects/{project_id}/status", token=access)
        if status["items_ready"] >= len(TEXTS):  # type: ignore[index]
            break
        time.sleep(0.5)
    else:
        raise SystemExit("the fuzzing project's items were not embedded within 120 s")
    queue = call(f"{api}/projects/{project_id}/queue?limit=1", token=access)
    item_id = queue["data"][0]["id"]  # type: ignore[index]
    call(
        f"{api}/projects/{project_id}/items/{item_id}/annotations",
        "POST",
        access,
        labels=["positive"],
    )
    return access


def check_baseline() -> None:
    """Every accepted failure says why it is accepted."""
    if not BASELINE.exists():
        if "FUZZ_BASELINE" in os.environ:
            return  # recording into a new file
        raise SystemExit(f"{BASELINE} is missing: schemathesis would accept every failure")
    entries = json.loads(BASELINE.read_text())["entries"]
    unexplained = [entry["id"] for entry in entries if not entry.get("reason")]
    if unexplained:
        raise SystemExit(f"baseline entries without a reason: {', '.join(unexplained)}")


def config(seconds: int, seed: int) -> str:
    """schemathesis.toml: the stack logs in again whenever a token stops working (the fuzzer
    calls logout-all and the token routes too). One worker: hypothesis parses lambdas with
    `ast`, and two threads doing so at once can trip CPython 3.11 ("AST constructor recursion
    depth mismatch"), a runtime error that failed a CI run."""
    return f"""
seed = {seed}
max-time = {seconds}
workers = 1
baseline = "{BASELINE}"
request-timeout = 30
suppress-health-check = ["all"]
checks.enabled = true
generation.database = "none"

[auth.dynamic.openapi.OAuth2PasswordBearer]
path = "/api/v1/auth/token"
method = "post"
payload_content_type = "application/x-www-form-urlencoded"
payload = {{ username = "{EMAIL}", password = "{PASSWORD}" }}
extract_selector = "/access_token"
"""


def main() -> int:
    seconds = int(os.environ.get("FUZZ_SECONDS", "120"))
    chosen = os.environ.get("FUZZ_SEED") or "1"
    seed = random.randrange(2**31) if chosen == "random" else int(chosen)
    print(f"fuzzing for {seconds} s with seed {seed} (FUZZ_SEED={seed} reproduces it)", flush=True)
    check_baseline()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="filament-fuzz-") as data_dir:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FILAMENT_")}
        env.update(
            FILAMENT_DATA_DIR=data_dir,
            FILAMENT_HEAD_DEBOUNCE_SECONDS="0.2",
            # every request comes from 127.0.0.1: the per-IP login limit would lock the fuzzer
            # out of its own account after its first failed logins (the per-account one stays)
            FILAMENT_LOGIN_MAX_FAILURES_PER_IP="1000000",
            # one owner sends every invitation: at 100 an hour the fuzzer would mostly meet the
            # 429 and never the invitation logic behind it (the limit has its API test)
            FILAMENT_INVITATIONS_PER_HOUR="1000000",
        )
        server = subprocess.Popen(
            [sys.executable, "-m", "filament.cli", "run", "--port", str(port)], env=env, cwd=ROOT
        )
        try:
            wait_until_up(url, server)
            seed_project(f"{url}/api/v1")
            config_path = Path(data_dir) / "schemathesis.toml"
            config_path.write_text(config(seconds, seed))
            started = time.monotonic()
            code = subprocess.call(
                [
                    str(Path(sys.executable).with_name("schemathesis")),
                    "--config-file",
                    str(config_path),
                    "run",
                    f"{url}/api/v1/openapi.json",
                ],
                cwd=ROOT,
                env=env,
            )
            print(f"fuzzing took {time.monotonic() - started:.0f} s (seed {seed})", flush=True)
            return code
        finally:
            server.send_signal(2)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    sys.exit(main())
