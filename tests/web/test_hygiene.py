"""Production hygiene: security headers, error pages, request ids, health checks."""

import asyncio
import logging
from dataclasses import replace

from litestar import get
from litestar.testing import TestClient

from portal.app import create_app
from portal.web.security import security_headers_hook


def test_every_page_carries_the_security_headers(client):
    for path in ("/", "/admin/sign-in", "/no-such-page", "/healthz"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert "frame-ancestors 'none'" in csp, path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin", path
        assert headers["x-request-id"], path
        assert "strict-transport-security" not in headers, path  # only in production


def test_hsts_is_sent_in_production(settings):
    hook = security_headers_hook(replace(settings, env="production"))
    message = {"type": "http.response.start", "status": 200, "headers": []}
    asyncio.run(hook(message, {"type": "http", "path": "/", "headers": [], "state": {}}))
    names = {k.decode().lower(): v.decode() for k, v in message["headers"]}
    assert names["strict-transport-security"].startswith("max-age=")


def test_unknown_page_is_a_404_in_the_site_style(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert 'href="/"' in response.text and "Seat portal" in response.text


def test_signed_in_pages_are_not_cached(admin_client):
    assert admin_client.get("/admin").headers["cache-control"] == "no-store"


def test_unhandled_error_shows_500_page_with_request_id_and_logs_it(settings, caplog):
    @get("/boom", opt={"public": True})
    async def boom() -> str:
        raise RuntimeError("secret internals: password=hunter2")

    app = create_app(settings)
    app.register(boom)
    with caplog.at_level(logging.ERROR, logger="portal.errors"), TestClient(app) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    assert request_id in response.text
    assert "Sorry, something went wrong" in response.text
    assert "hunter2" not in response.text and "Traceback" not in response.text
    assert any(request_id in r.getMessage() for r in caplog.records)


def test_oversized_form_gets_the_413_page_and_nothing_changes(client, admin_id):
    response = client.post("/admin/sign-in", data={"email": "x" * 2_000_000, "password": "y"})
    assert response.status_code == 413
    assert "too large" in response.text


def test_healthz_and_readyz_report_ok(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"


def test_readyz_fails_when_the_database_is_unreachable(settings):
    # A real PostgreSQL address where nothing listens: the connection is refused.
    broken = replace(settings, database_url="postgresql://postgres@127.0.0.1:9/portal")
    with TestClient(create_app(broken)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"].startswith("unreachable")
    assert client.get("/healthz").status_code == 200


def test_proxy_headers_are_believed_only_from_configured_addresses(settings):
    from portal.cli import _uvicorn_options

    assert _uvicorn_options(settings, "127.0.0.1", 8000)["proxy_headers"] is False
    trusted = replace(settings, trusted_proxies=("10.0.0.5",))
    options = _uvicorn_options(trusted, "127.0.0.1", 8000)
    assert options["proxy_headers"] is True and options["forwarded_allow_ips"] == "10.0.0.5"


def test_a_unique_constraint_race_gets_a_409_page_not_a_500(settings):
    from portal.db import write_transaction
    from portal.tables import User

    @get("/race", opt={"public": True})
    async def race() -> str:
        # What two admins creating the same record at once end up doing: the second
        # insert passes the application's check and meets the unique constraint.
        async with write_transaction():
            for _ in range(2):
                await User.insert(User(email="same@example.org", name="Twin"))
        return "unreachable"

    app = create_app(settings)
    app.register(race)
    with TestClient(app) as client:
        response = client.get("/race")
    assert response.status_code == 409
    assert "Reload the page and try again" in response.text


def test_signed_out_visitor_reads_a_plain_sign_in_message(client):
    response = client.get("/admin/seats")
    assert response.status_code == 401
    assert "You need to sign in to see this page." in response.text
    assert "session data" not in response.text
