"""Invitations: owners invite an email with a role; the link's token is shown once, stored as a
hash, expires, works once, only for the invited email, and can be revoked or replaced. Adding
a member by email sends an invitation too, and nothing tells an owner who has an account."""

import hashlib
from datetime import datetime, timedelta

from tests.api.test_races import _at_once
from tests.api.test_uploads import project
from tests.conftest import add_member, invite, register

API = "/api/v1"


def _accept(client, token, headers):  # type: ignore[no-untyped-def]
    return client.post(f"{API}/invitations/{token}/accept", headers=headers)


def _pending(client, owner, pid):  # type: ignore[no-untyped-def]
    answer = client.get(f"{API}/projects/{pid}/invitations", headers=owner)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def _members(client, owner, pid):  # type: ignore[no-untyped-def]
    data = client.get(f"{API}/projects/{pid}/members", headers=owner).json()["data"]
    return {m["email"]: m["role"] for m in data}


def _set_expiry(token: str, delta: timedelta) -> None:
    from filament.db.models import Invitation, utcnow
    from filament.db.session import session_scope
    from sqlmodel import select

    with session_scope() as session:
        digest = hashlib.sha256(token.encode()).hexdigest()
        row = session.exec(select(Invitation).where(Invitation.token_hash == digest)).one()
        row.expires_at = utcnow() + delta
        session.add(row)
        session.commit()


def test_an_owner_invites_and_the_invitee_joins_through_the_link(client, owner):
    pid = project(client, owner)
    sent = client.post(
        f"{API}/projects/{pid}/invitations",
        headers=owner,
        json={"email": "New@Example.com", "role": "reviewer"},
    )
    assert sent.status_code == 201, sent.text
    body = sent.json()
    token = body["token"]
    assert body["url"] == f"http://testserver/invite/?token={token}"
    assert body["email"] == "new@example.com" and body["role"] == "reviewer"
    assert body["invited_by"] == "ann"
    assert body["mail_status"] == "not_configured" and body["expired"] is False
    lifetime = datetime.fromisoformat(body["expires_at"]) - datetime.fromisoformat(
        body["created_at"]
    )
    assert abs(lifetime - timedelta(days=7)) < timedelta(seconds=5)  # FILAMENT_INVITATION_DAYS
    # the landing page learns the project's name, the role, the inviter and the email: no more
    landing = client.get(f"{API}/invitations/{token}")
    assert landing.status_code == 200
    assert landing.json() == {
        "project": "P",
        "role": "reviewer",
        "inviter": "ann",
        "email": "new@example.com",
    }
    listed = _pending(client, owner, pid)
    assert [(i["email"], i["role"]) for i in listed] == [("new@example.com", "reviewer")]
    assert "token" not in listed[0] and "url" not in listed[0]

    assert client.post(f"{API}/invitations/{token}/accept").status_code == 401
    invitee = register(client, "new@example.com")
    accepted = _accept(client, token, invitee)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {"project_id": pid, "role": "reviewer"}
    assert _members(client, owner, pid)["new@example.com"] == "reviewer"
    assert client.get(f"{API}/projects/{pid}", headers=invitee).json()["role"] == "reviewer"
    assert _pending(client, owner, pid) == []
    # single use
    again = _accept(client, token, invitee)
    assert again.status_code == 409 and "used" in again.json()["detail"]
    assert client.get(f"{API}/invitations/{token}").status_code == 409


def test_only_the_hash_of_the_token_is_stored(client, owner):
    from filament.db.models import Invitation
    from filament.db.session import session_scope
    from sqlmodel import select

    pid = project(client, owner)
    token = invite(client, owner, pid, "b@example.com")
    with session_scope() as session:
        (row,) = session.exec(select(Invitation)).all()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert all(token not in str(getattr(row, field)) for field in Invitation.model_fields)


def test_an_invitation_is_bound_to_its_email(client, owner):
    pid = project(client, owner)
    token = invite(client, owner, pid, "bob@example.com", "annotator")
    mallory = register(client, "mallory@example.com")
    refused = _accept(client, token, mallory)
    assert refused.status_code == 403
    assert "bob@example.com" in refused.json()["detail"]
    assert "mallory@example.com" not in _members(client, owner, pid)
    # still there for the right account
    bob = register(client, "BOB@example.com")
    assert _accept(client, token, bob).status_code == 200
    assert _members(client, owner, pid)["bob@example.com"] == "annotator"


def test_expired_invitations_are_refused_and_marked(client, owner):
    pid = project(client, owner)
    token = invite(client, owner, pid, "late@example.com")
    late = register(client, "late@example.com")
    _set_expiry(token, timedelta(seconds=-1))
    for answer in (client.get(f"{API}/invitations/{token}"), _accept(client, token, late)):
        assert answer.status_code == 409 and "expired" in answer.json()["detail"]
    (listed,) = _pending(client, owner, pid)
    assert listed["expired"] is True
    assert "late@example.com" not in _members(client, owner, pid)
    # inviting again gives a fresh link
    fresh = invite(client, owner, pid, "late@example.com")
    assert _accept(client, fresh, late).status_code == 200


def test_revoked_and_replaced_invitations_are_404(client, owner):
    pid = project(client, owner)
    first = invite(client, owner, pid, "c@example.com", "viewer")
    second = invite(client, owner, pid, "c@example.com", "annotator")  # replaces the first
    (listed,) = _pending(client, owner, pid)
    assert listed["role"] == "annotator"
    c = register(client, "c@example.com")
    for token in (first, "x" * 43):
        assert client.get(f"{API}/invitations/{token}").status_code == 404
        assert _accept(client, token, c).status_code == 404
    revoked = client.delete(f"{API}/projects/{pid}/invitations/{listed['id']}", headers=owner)
    assert revoked.status_code == 204
    assert client.get(f"{API}/invitations/{second}").status_code == 404
    assert _accept(client, second, c).status_code == 404
    assert (
        client.delete(f"{API}/projects/{pid}/invitations/{listed['id']}", headers=owner).status_code
        == 404
    )
    assert _pending(client, owner, pid) == []
    # a token that cannot be one is a 422, not a look-up
    assert client.get(f"{API}/invitations/not%20a%20token").status_code == 422


def test_invitation_ids_of_another_project_are_404(client, owner):
    mine, theirs = project(client, owner), project(client, owner)
    invite(client, owner, theirs, "d@example.com")
    (other,) = _pending(client, owner, theirs)
    answer = client.delete(f"{API}/projects/{mine}/invitations/{other['id']}", headers=owner)
    assert answer.status_code == 404
    assert len(_pending(client, owner, theirs)) == 1


def test_members_cannot_be_invited_again_and_accepting_twice_is_refused(client, owner):
    pid = project(client, owner)
    add_member(client, owner, pid, "m@example.com")
    again = client.post(
        f"{API}/projects/{pid}/invitations", headers=owner, json={"email": "M@example.com"}
    )
    assert again.status_code == 409 and "already a member" in again.json()["detail"]
    me = client.post(
        f"{API}/projects/{pid}/invitations", headers=owner, json={"email": "ann@example.com"}
    )
    assert me.status_code == 409


def test_adding_a_member_by_email_sends_an_invitation_and_reveals_no_account(client, owner):
    """POST /members no longer attaches whoever registered the email: it invites, and its
    answer is the same for an email with an account and one without."""
    pid = project(client, owner)
    register(client, "exists@example.com")
    answers = {
        email: client.post(
            f"{API}/projects/{pid}/members", headers=owner, json={"email": email, "role": "viewer"}
        )
        for email in ("exists@example.com", "nobody@example.com")
    }
    assert {a.status_code for a in answers.values()} == {202}
    shapes = [sorted(a.json()) for a in answers.values()]
    assert shapes[0] == shapes[1]
    assert all(a.json()["mail_status"] == "not_configured" for a in answers.values())
    assert sorted(_members(client, owner, pid)) == ["ann@example.com"]  # nobody was attached
    # many look-ups: no 404 that would tell, and no throttle that only misses trip
    codes = {
        client.post(
            f"{API}/projects/{pid}/invitations", headers=owner, json={"email": f"g{n}@example.com"}
        ).status_code
        for n in range(25)
    }
    assert codes == {201}
    # the invitation from /members works like any other
    token = answers["exists@example.com"].json()["token"]
    exists = register(client, "exists@example.com")
    assert _accept(client, token, exists).status_code == 200
    assert _members(client, owner, pid)["exists@example.com"] == "viewer"


def test_invitations_per_owner_are_rate_limited(client, owner, monkeypatch):
    from filament.core.settings import get_settings

    monkeypatch.setenv("FILAMENT_INVITATIONS_PER_HOUR", "3")
    get_settings.cache_clear()
    pid = project(client, owner)
    codes = [
        client.post(
            f"{API}/projects/{pid}/invitations", headers=owner, json={"email": f"r{n}@example.com"}
        )
        for n in range(4)
    ]
    assert [c.status_code for c in codes] == [201, 201, 201, 429]
    assert "invitations" in codes[-1].json()["detail"] and codes[-1].headers["Retry-After"]


def test_the_link_uses_the_public_url_when_set(client, owner, monkeypatch):
    from filament.core.settings import get_settings

    monkeypatch.setenv("FILAMENT_PUBLIC_URL", "https://label.example.com/")
    get_settings.cache_clear()
    pid = project(client, owner)
    sent = client.post(
        f"{API}/projects/{pid}/invitations", headers=owner, json={"email": "u@example.com"}
    ).json()
    assert sent["url"] == f"https://label.example.com/invite/?token={sent['token']}"


def test_concurrent_accepts_make_one_member(client, owner):
    from filament.db.models import ProjectMember
    from filament.db.session import session_scope
    from sqlmodel import select

    pid = project(client, owner)
    token = invite(client, owner, pid, "twice@example.com", "annotator")
    headers = register(client, "twice@example.com")
    answers = _at_once([lambda: _accept(client, token, headers)] * 8)
    assert sorted(a.status_code for a in answers) == [200] + [409] * 7
    with session_scope() as session:
        rows = session.exec(select(ProjectMember).where(ProjectMember.project_id == pid)).all()
    assert len(rows) == 2


def test_an_owner_who_stops_being_one_takes_their_invitations_along(client, owner):
    """An invitation carries its owner's authority: a demoted (or removed, or disabled) owner
    cannot let themselves back in through an invitation sent before."""
    pid = project(client, owner)
    second = add_member(client, owner, pid, "second@example.com", "owner")
    token = invite(client, second, pid, "alt@example.com", "owner")
    other = invite(client, owner, pid, "kept@example.com")
    second_id = client.get(f"{API}/users/me", headers=second).json()["id"]
    demoted = client.patch(
        f"{API}/projects/{pid}/members/{second_id}", headers=owner, json={"role": "viewer"}
    )
    assert demoted.status_code == 200
    assert [i["email"] for i in _pending(client, owner, pid)] == ["kept@example.com"]
    alt = register(client, "alt@example.com")
    assert _accept(client, token, alt).status_code == 404
    assert _accept(client, other, register(client, "kept@example.com")).status_code == 200


def test_a_disabled_inviters_invitation_cannot_be_accepted(client, owner):
    from filament.cli import main

    pid = project(client, owner)
    second = add_member(client, owner, pid, "second@example.com", "owner")
    token = invite(client, second, pid, "friend@example.com")
    assert main(["users", "disable", "second@example.com"]) == 0
    answer = _accept(client, token, register(client, "friend@example.com"))
    assert answer.status_code == 409 and "no longer" in answer.json()["detail"]


def test_accepting_while_the_inviter_is_demoted_keeps_the_rules(client, owner):
    """Accept takes the members lock like every member change: an accept racing the demotion
    of its inviter either lands before it (a member) or finds the invitation gone (404), and
    the project keeps an owner throughout."""
    from filament.db.models import ProjectMember
    from filament.db.session import session_scope
    from sqlmodel import select

    second = register(client, "second@example.com")
    me = client.get(f"{API}/users/me", headers=owner).json()["id"]
    outcomes = set()
    for n in range(5):
        pid = project(client, owner)
        add_member(client, owner, pid, "second@example.com", "owner")
        token = invite(client, owner, pid, f"new{n}@example.com", "owner")
        newcomer = register(client, f"new{n}@example.com")
        demote = f"{API}/projects/{pid}/members/{me}"
        accepted, demoted = _at_once(
            [
                lambda: _accept(client, token, newcomer),  # noqa: B023
                lambda: client.patch(demote, headers=second, json={"role": "viewer"}),  # noqa: B023
            ]
        )
        assert demoted.status_code == 200
        with session_scope() as session:
            rows = session.exec(select(ProjectMember).where(ProjectMember.project_id == pid)).all()
        roles = {row.user_id: row.role for row in rows}
        assert list(roles.values()).count("owner") >= 1
        joined = len(roles) == 3
        assert (accepted.status_code == 200) == joined, (accepted.status_code, roles)
        assert accepted.status_code in (200, 404)
        outcomes.add(accepted.status_code)
