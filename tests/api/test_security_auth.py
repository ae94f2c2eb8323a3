"""Attacks on sign-in and sessions: guessing passwords, replaying tokens after logout or a
password change, expired API tokens, oversized ids, telling accounts apart."""

import time
from datetime import timedelta

import pytest

from tests.conftest import register

TOKEN = "/api/v1/auth/token"


def _login(client, email: str, password: str, address: str | None = None):
    return client.post(TOKEN, data={"username": email, "password": password})


def test_password_guessing_is_locked_out_per_account_with_retry_after(client, monkeypatch):
    monkeypatch.setenv("FILAMENT_LOGIN_MAX_FAILURES_PER_ACCOUNT", "3")
    from filament.core.settings import get_settings

    get_settings.cache_clear()
    register(client, "victim@example.com", "right password 1")
    answers = [_login(client, "victim@example.com", f"guess {n}").status_code for n in range(3)]
    assert answers == [401, 401, 401]
    locked = _login(client, "victim@example.com", "right password 1")
    # even the right password is refused while locked: a guess cannot be told apart
    assert locked.status_code == 429
    assert 1 <= int(locked.headers["Retry-After"]) <= 15 * 60
    assert "try again in" in locked.json()["detail"]


def test_lockouts_double_the_window(client, monkeypatch):
    from filament.core.login_limits import LoginLimiter
    from filament.core.settings import get_settings

    monkeypatch.setenv("FILAMENT_LOGIN_MAX_FAILURES_PER_ACCOUNT", "2")
    monkeypatch.setenv("FILAMENT_LOGIN_WINDOW_SECONDS", "60")
    get_settings.cache_clear()
    limiter = LoginLimiter(client.app.state.redis, get_settings())
    for _ in range(2):
        limiter.failed("x@example.com", "10.0.0.9")
    first = client.app.state.redis.ttl("login:fail:account:x@example.com")
    client.app.state.redis.delete("login:fail:account:x@example.com")  # the window ran out
    for _ in range(2):
        limiter.failed("x@example.com", "10.0.0.9")
    second = client.app.state.redis.ttl("login:fail:account:x@example.com")
    assert 50 < first <= 60 and 110 < second <= 120


def test_one_address_trying_many_accounts_is_locked_out(client, monkeypatch):
    monkeypatch.setenv("FILAMENT_LOGIN_MAX_FAILURES_PER_IP", "4")
    from filament.core.settings import get_settings

    get_settings.cache_clear()
    register(client, "real@example.com", "right password 1")
    for n in range(4):
        assert _login(client, f"nobody{n}@example.com", "password").status_code == 401
    assert _login(client, "real@example.com", "right password 1").status_code == 429


def test_success_clears_the_account_counter(client, monkeypatch):
    monkeypatch.setenv("FILAMENT_LOGIN_MAX_FAILURES_PER_ACCOUNT", "3")
    from filament.core.settings import get_settings

    get_settings.cache_clear()
    register(client, "me@example.com", "right password 1")
    for _ in range(2):
        _login(client, "me@example.com", "typo")
    assert _login(client, "me@example.com", "right password 1").status_code == 200
    for _ in range(2):
        assert _login(client, "me@example.com", "typo").status_code == 401
    assert _login(client, "me@example.com", "right password 1").status_code == 200


def test_unknown_email_takes_as_long_as_a_wrong_password(client):
    register(client, "known@example.com", "right password 1")

    def median_seconds(email: str) -> float:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            assert _login(client, email, "wrong password").status_code == 401
            times.append(time.perf_counter() - started)
            client.app.state.redis.flushall()  # stay below the lock-out
        return sorted(times)[2]

    known, unknown = median_seconds("known@example.com"), median_seconds("unknown@example.com")
    # without the dummy hash the unknown email answers in ~1 ms, the known one in ~50 ms
    assert unknown > known / 3


def test_logout_all_ends_every_session(client):
    first = register(client, "s@example.com", "right password 1")
    second = register(client, "s@example.com", "right password 1")  # a second browser
    assert client.post("/api/v1/auth/logout-all", headers=first).status_code == 204
    assert client.get("/api/v1/users/me", headers=first).status_code == 401
    assert client.get("/api/v1/users/me", headers=second).status_code == 401
    fresh = register(client, "s@example.com", "right password 1")
    assert client.get("/api/v1/users/me", headers=fresh).status_code == 200


def test_password_change_needs_the_current_one_and_ends_other_sessions(client):
    old = register(client, "p@example.com", "first password 1")
    other = register(client, "p@example.com", "first password 1")
    wrong = client.post(
        "/api/v1/users/me/password",
        headers=old,
        json={"current_password": "guess", "new_password": "second password 2"},
    )
    assert wrong.status_code == 400
    changed = client.post(
        "/api/v1/users/me/password",
        headers=old,
        json={"current_password": "first password 1", "new_password": "second password 2"},
    )
    assert changed.status_code == 200
    assert client.get("/api/v1/users/me", headers=other).status_code == 401
    assert client.get("/api/v1/users/me", headers=old).status_code == 401
    kept = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert client.get("/api/v1/users/me", headers=kept).status_code == 200
    assert _login(client, "p@example.com", "first password 1").status_code == 401
    assert _login(client, "p@example.com", "second password 2").status_code == 200


def test_disabled_account_is_refused_everywhere(client):
    from filament.cli import main

    headers = register(client, "gone@example.com", "right password 1")
    script = client.post("/api/v1/users/me/tokens", headers=headers, json={"name": "s"}).json()
    assert main(["users", "disable", "gone@example.com"]) == 0
    assert client.get("/api/v1/users/me", headers=headers).status_code == 401
    api_token = {"Authorization": f"Bearer {script['token']}"}
    assert client.get("/api/v1/users/me", headers=api_token).status_code == 401
    assert _login(client, "gone@example.com", "right password 1").status_code == 401
    assert main(["users", "enable", "gone@example.com"]) == 0
    assert _login(client, "gone@example.com", "right password 1").status_code == 200


def test_access_tokens_are_short_lived_by_default(client):
    import jwt

    # the expiry is the sign-in time plus 12 h: bracketed by clock readings around the sign-in,
    # so how long the request takes does not matter
    signed_in_after = int(time.time())
    headers = register(client)
    signed_in_before = int(time.time()) + 1
    token = headers["Authorization"].split()[1]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert signed_in_after + 12 * 3600 <= claims["exp"] <= signed_in_before + 12 * 3600


def test_api_tokens_expire(client, owner, env):
    from filament.db.models import ApiToken, utcnow
    from filament.db.session import get_engine
    from sqlmodel import Session

    made = client.post(
        "/api/v1/users/me/tokens", headers=owner, json={"name": "ci", "expires_in_days": 7}
    ).json()
    expires = made["expires_at"]
    assert expires is not None
    default = client.post("/api/v1/users/me/tokens", headers=owner, json={"name": "d"}).json()
    assert default["expires_at"] > expires  # 90 days
    script = {"Authorization": f"Bearer {made['token']}"}
    assert client.get("/api/v1/users/me", headers=script).status_code == 200
    with Session(get_engine()) as session:
        row = session.get(ApiToken, made["id"])
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
        session.commit()
    assert client.get("/api/v1/users/me", headers=script).status_code == 401
    too_long = client.post(
        "/api/v1/users/me/tokens", headers=owner, json={"name": "x", "expires_in_days": 5000}
    )
    assert too_long.status_code == 422


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/projects/99999999999999999999999",
        "/api/v1/projects/1/items/99999999999999999999999",
        "/api/v1/projects/1/items/9223372036854775808/content",
        "/api/v1/jobs/99999999999999999999",
        "/api/v1/projects/-99999999999999999999999/items/1",
        "/api/v1/projects/2147483648",
    ],
)
def test_ids_beyond_the_database_integer_are_422_not_500(client, owner, path):
    body = {"name": "P", "task": "text_classification", "labels": ["a", "b"]}
    assert client.post("/api/v1/projects", headers=owner, json=body).json()["id"] == 1
    answer = client.get(path, headers=owner)
    assert answer.status_code == 422, answer.text


def test_wrong_method_is_405_with_every_method_of_the_path(client, owner):
    answer = client.put("/api/v1/projects/1", headers=owner)
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "DELETE, GET, PATCH"
    assert client.get("/api/v1/projects/1/finetune", headers=owner).status_code == 405
    assert client.get("/api/v1/no-such-route", headers=owner).status_code == 404


def test_closed_registration_answers_the_same_for_every_email(client, monkeypatch):
    register(client, "taken@example.com", "right password 1")
    monkeypatch.setenv("FILAMENT_REGISTRATION", "closed")
    from filament.core.settings import get_settings

    get_settings.cache_clear()
    answers = [
        client.post("/api/v1/auth/register", json={"email": email, "password": "long enough 1"})
        for email in ("taken@example.com", "new@example.com")
    ]
    assert [a.status_code for a in answers] == [403, 403]
    assert answers[0].json() == answers[1].json()


def test_queue_exclude_beyond_the_database_integer_is_422(client, owner):
    body = {"name": "P", "task": "text_classification", "labels": ["a", "b"]}
    pid = client.post("/api/v1/projects", headers=owner, json=body).json()["id"]
    answer = client.get(
        f"/api/v1/projects/{pid}/queue?exclude=1,99999999999999999999999", headers=owner
    )
    assert answer.status_code == 422
