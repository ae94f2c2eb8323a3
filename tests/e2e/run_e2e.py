"""Start the real stack (API + worker + embedded Redis + SQLite, serving frontend/out) on a free
port with a throwaway data dir, then run the browser flows (`npm run test:e2e` in frontend/: the
Playwright specs in frontend/e2e/) with FILAMENT_E2E_URL pointing at it. Used by `make test-e2e`.
Arguments go to Playwright: `python tests/e2e/run_e2e.py e2e/conflicts.spec.ts` runs one spec."""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/api/v1/health", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the server did not answer on {url} within {seconds:.0f} s")


def main() -> int:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="filament-e2e-") as data_dir:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FILAMENT_")}
        env.update(FILAMENT_DATA_DIR=data_dir, PORT=str(port), FILAMENT_HEAD_DEBOUNCE_SECONDS="0.2")
        server = subprocess.Popen(
            [sys.executable, "-m", "filament.cli", "run", "--port", str(port)], env=env, cwd=ROOT
        )
        try:
            wait_until_up(url, server)
            print(f"stack up on {url}", flush=True)
            return subprocess.call(
                ["npm", "run", "test:e2e", "--", *sys.argv[1:]],
                cwd=ROOT / "frontend",
                env=dict(env, FILAMENT_E2E_URL=url),
            )
        finally:
            server.send_signal(2)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    sys.exit(main())
