"""Registration modes (FILAMENT_REGISTRATION), the instance admin (the first account, also
under concurrent registrations) and the admin's routes."""

import pytest

from tests.api.test_races import _at_once
from tests.api.test_uploads import project
from tests.conftest import PASSWORD, invite, register

API = "/api/v1"


def _mode(monkeypatch, mode: str) -> None:  # type: ignore[no-untyped-def]
    from filament.core.settings import get_settings

    monkeypatch.setenv("FILAMENT_REGISTRATION", mode)
    get_settings.cache_clear()


def _register(client, email: str, invitation: str | None = None):  # type: ignore[no-untyped-def]
    body = {"email": email, "password": PASSWORD}
    if invitation is not None:
        body["invitation"] = invitation
    return client.post(f"{API}/auth/register", json=body)


def _me(client, headers):  # type: ignore[no-untyped-def]
    return client.get(f"{API}/users/me", headers=headers).json()


def test_the_default_mode_is_invite_only_in_production_and_open_elsewhere():
    from filament.core.settings import Settings

    key = "k" * 40
    assert Settings(env="production", secret_key=key).registration_mode == "invite-only"
    assert Settings(env="development").registration_mode == "open"
    assert Settings(env="test").registration_mode == "open"
    assert Settings(env="production", secret_key=key, registration="open").registration_mode == (
        "open"
    )
    with pytest.raises(ValueError, match="invite-only"):
        Settings(registration="invite_only")  # type: ignore[arg-type]


def test_the_first_account_is_the_instance_admin(client):
    config = client.get(f"{API}/config")
    assert config.status_code == 200
    assert config.json() == {"registration": "open", "first_account": True}
    first = register(client, "first@example.com")
    second = register(client, "second@example.com")
    assert _me(client, first)["is_admin"] is True
    assert _me(client, second)["is_admin"] is False
    assert client.get(f"{API}/config").json()["first_account"] is False


def test_invite_only_registration_needs_an_invitation_for_that_email(client, monkeypatch):
    owner = register(client)  # the first account may always register
    pid = project(client, owner)
    register(client, "taken@example.com")  # made while registration was open
    _mode(monkeypatch, "invite-only")
    assert client.get(f"{API}/config").json() == {
        "registration": "invite-only",
        "first_account": False,
    }
    # without an invitation: one answer, account or not
    refusals = [_register(client, email) for email in ("taken@example.com", "new@example.com")]
    assert [r.status_code for r in refusals] == [403, 403]
    assert refusals[0].json() == refusals[1].json()
    assert "invitation" in refusals[0].json()["detail"]
    token = invite(client, owner, pid, "invited@example.com", "viewer")
    # someone else's invitation, a made-up one, or a malformed one do not open the door
    assert _register(client, "other@example.com", token).status_code == 403
    assert _register(client, "invited@example.com", "y" * 43).status_code == 403
    assert _register(client, "invited@example.com", "no spaces").status_code == 422
    made = _register(client, "Invited@example.com", token)
    assert made.status_code == 201, made.text
    assert made.json()["is_admin"] is False
    # registering does not use the invitation up: the invitee accepts it next
    invited = register(client, "invited@example.com")
    assert client.post(f"{API}/invitations/{token}/accept", headers=invited).status_code == 200
    # a used invitation opens no door any more
    assert _register(client, "invited2@example.com", token).status_code == 403


def test_invite_only_refuses_expired_invitations(client, monkeypatch):
    from datetime import timedelta

    from tests.api.test_invitations import _set_expiry

    owner = register(client)
    pid = project(client, owner)
    _mode(monkeypatch, "invite-only")
    token = invite(client, owner, pid, "late@example.com")
    _set_expiry(token, timedelta(seconds=-1))
    assert _register(client, "late@example.com", token).status_code == 403


def test_closed_registration_leaves_accounts_to_the_admin(client, monkeypatch):
    admin = register(client, "admin@example.com")
    user = register(client, "user@example.com")
    _mode(monkeypatch, "closed")
    pid = project(client, admin)
    token = invite(client, admin, pid, "new@example.com")
    refused = _register(client, "new@example.com", token)
    assert refused.status_code == 403 and "closed" in refused.json()["detail"]
    body = {"email": "new@example.com", "password": PASSWORD, "name": "New"}
    assert client.post(f"{API}/admin/users", headers=user, json=body).status_code == 403
    made = client.post(f"{API}/admin/users", headers=admin, json=body)
    assert made.status_code == 201, made.text
    assert made.json()["disabled"] is False and made.json()["is_admin"] is False
    assert client.post(f"{API}/admin/users", headers=admin, json=body).status_code == 409
    new = register(client, "new@example.com")  # signs in with the admin-set password
    assert _me(client, new)["email"] == "new@example.com"
    assert client.post(f"{API}/invitations/{token}/accept", headers=new).status_code == 200


def test_the_first_account_may_register_even_when_closed(client, monkeypatch):
    _mode(monkeypatch, "closed")
    assert client.get(f"{API}/config").json() == {"registration": "closed", "first_account": True}
    first = _register(client, "root@example.com")
    assert first.status_code == 201 and first.json()["is_admin"] is True
    assert _register(client, "next@example.com").status_code == 403


@pytest.mark.parametrize("mode", ["invite-only", "open"])
def test_concurrent_first_registrations_make_one_admin(client, monkeypatch, mode):
    """Eight registrations at once on an empty instance: one is the first (the admin); the
    others are later ones, refused without an invitation when invite-only."""
    from filament.db.models import User
    from filament.db.session import session_scope
    from sqlmodel import select

    _mode(monkeypatch, mode)
    emails = [f"u{n}@example.com" for n in range(8)]
    answers = _at_once([lambda email=email: _register(client, email) for email in emails])
    codes = sorted(a.status_code for a in answers)
    with session_scope() as session:
        users = session.exec(select(User)).all()
    assert sum(user.is_admin for user in users) == 1
    if mode == "open":
        assert codes == [201] * 8 and len(users) == 8
    else:
        assert codes == [201] + [403] * 7 and len(users) == 1
    admins = [a.json() for a in answers if a.status_code == 201 and a.json()["is_admin"]]
    assert len(admins) == 1


def test_concurrent_registrations_of_one_email_make_one_account(client):
    register(client, "first@example.com")
    answers = _at_once([lambda: _register(client, "same@example.com")] * 6)
    assert sorted(a.status_code for a in answers) == [201] + [409] * 5


def test_the_admin_lists_disables_and_enables_accounts(client):
    admin = register(client, "admin@example.com")
    user = register(client, "user@example.com")
    script = client.post(f"{API}/users/me/tokens", headers=user, json={"name": "s"}).json()
    listed = client.get(f"{API}/admin/users", headers=admin)
    assert listed.status_code == 200
    assert listed.json()["count"] == 2
    rows = listed.json()["data"]
    assert [(u["email"], u["is_admin"], u["disabled"]) for u in rows] == [
        ("admin@example.com", True, False),
        ("user@example.com", False, False),
    ]
    assert client.get(f"{API}/admin/users?limit=1&offset=1", headers=admin).json()["data"][0][
        "email"
    ] == ("user@example.com")
    uid = rows[1]["id"]
    for method, path, extra in (
        ("GET", "/admin/users", {}),
        ("POST", "/admin/users", {"json": {"email": "x@example.com", "password": PASSWORD}}),
        ("PATCH", f"/admin/users/{uid}", {"json": {"disabled": True}}),
    ):
        refused = client.request(method, f"{API}{path}", headers=user, **extra)
        assert refused.status_code == 403, (method, path)
        assert client.request(method, f"{API}{path}", **extra).status_code == 401
    sloppy = client.patch(f"{API}/admin/users/{uid}", headers=admin, json={"disabled": 0})
    assert sloppy.status_code == 422  # a boolean, not a number (found by the fuzzer)
    off = client.patch(f"{API}/admin/users/{uid}", headers=admin, json={"disabled": True})
    assert off.status_code == 200 and off.json()["disabled"] is True
    assert client.get(f"{API}/users/me", headers=user).status_code == 401
    api_token = {"Authorization": f"Bearer {script['token']}"}
    assert client.get(f"{API}/users/me", headers=api_token).status_code == 401
    signin = {"username": "user@example.com", "password": PASSWORD}
    assert client.post(f"{API}/auth/token", data=signin).status_code == 401
    on = client.patch(f"{API}/admin/users/{uid}", headers=admin, json={"disabled": False})
    assert on.json()["disabled"] is False
    assert client.post(f"{API}/auth/token", data=signin).status_code == 200
    me = rows[0]["id"]
    myself = client.patch(f"{API}/admin/users/{me}", headers=admin, json={"disabled": True})
    assert myself.status_code == 409
    missing = client.patch(f"{API}/admin/users/999", headers=admin, json={"disabled": True})
    assert missing.status_code == 404


def test_the_cli_makes_the_first_account_the_admin(client, monkeypatch, capsys):
    from filament.cli import main

    monkeypatch.setenv("FILAMENT_NEW_PASSWORD", PASSWORD)
    assert main(["users", "create", "root@example.com"]) == 0
    assert "instance admin" in capsys.readouterr().out
    assert main(["users", "create", "second@example.com"]) == 0
    assert "instance admin" not in capsys.readouterr().out
    assert _me(client, register(client, "root@example.com"))["is_admin"] is True
    assert _me(client, register(client, "second@example.com"))["is_admin"] is False
