"""Hardening headers on API and web app answers; the web app's CSP allows its own inline
bootstrap scripts by hash, nothing else inline."""

import base64
import hashlib

import pytest


@pytest.fixture
def spa(tmp_path, monkeypatch):
    root = tmp_path / "spa"
    root.mkdir()
    script = b"self.__next_f.push([0])"
    (root / "index.html").write_bytes(
        b"<html><script src='/_next/a.js'></script><script>" + script + b"</script></html>"
    )
    monkeypatch.setenv("FILAMENT_SPA_DIR", str(root))
    return base64.b64encode(hashlib.sha256(script).digest()).decode()


def test_api_answers_carry_the_headers(client):
    for answer in (client.get("/api/v1/health"), client.get("/api/v1/projects")):
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        assert "Strict-Transport-Security" not in answer.headers  # plain HTTP


def test_web_app_pages_allow_only_their_own_inline_scripts(client, spa):
    from filament.core.settings import get_settings

    get_settings.cache_clear()
    page = client.get("/label")
    policy = page.headers["Content-Security-Policy"]
    assert f"script-src 'self' 'sha256-{spa}'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"


def test_hsts_behind_a_tls_proxy(client):
    answer = client.get("/api/v1/health", headers={"X-Forwarded-Proto": "https"})
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=31536000")
