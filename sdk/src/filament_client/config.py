"""Where a signed-in client keeps its server and token: FILAMENT_URL / FILAMENT_TOKEN, else the
file `filament login` writes (`$FILAMENT_CONFIG`, default `~/.config/filament/config.json`),
readable by its owner only (0600): it holds a bearer token."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass
class Credentials:
    url: str
    token: str | None = None
    token_id: int | None = None  # the personal API token's id, to revoke it on logout
    email: str | None = None


def config_path() -> Path:
    if explicit := os.environ.get("FILAMENT_CONFIG"):
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "filament" / "config.json"


def load_saved() -> Credentials | None:
    path = config_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise ValueError(f"{path} is not a Filament config file ({error})") from error
    return Credentials(
        url=str(data.get("url") or DEFAULT_URL),
        token=data.get("token"),
        token_id=data.get("token_id"),
        email=data.get("email"),
    )


def save(credentials: Credentials) -> Path:
    """Write the file with 0600 from its first byte (never readable by others, not even
    briefly), in a 0700 folder."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # a file that existed keeps its mode through O_CREAT
    with os.fdopen(descriptor, "w") as handle:
        json.dump(asdict(credentials), handle, indent=2)
        handle.write("\n")
    return path


def forget() -> bool:
    try:
        config_path().unlink()
        return True
    except FileNotFoundError:
        return False


def resolve(url: str | None = None, token: str | None = None) -> Credentials:
    """What to connect with: explicit arguments, then FILAMENT_URL / FILAMENT_TOKEN, then the
    saved file (its token only for the server it was issued by)."""
    saved = load_saved()
    url = url or os.environ.get("FILAMENT_URL") or (saved.url if saved else DEFAULT_URL)
    token = token or os.environ.get("FILAMENT_TOKEN")
    if token is None and saved is not None and _same_server(saved.url, url):
        token = saved.token
    return Credentials(url=url, token=token)


def _same_server(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")
