"""The PostgreSQL connection pool a production web process keeps open."""

from portal import db
from tests.conftest import sign_in


def test_web_process_serves_pages_and_sign_in_through_its_pool(pg_url, make_client, admin_id):
    client = make_client(database_pool=3)
    engine = db.current_engine()
    assert engine.pool is not None and engine.pool.get_max_size() == 3
    for _ in range(5):
        assert client.get("/").status_code == 200
    assert client.get("/readyz").json()["database"] == "ok"
    assert sign_in(client, "ada@example.org").status_code in (302, 303)
    assert "Signed in as Ada Admin" in client.get("/admin").text


def test_pool_is_off_with_the_embedded_worker(pg_url, make_client):
    make_client(database_pool=3, embedded_worker=True)
    assert db.current_engine().pool is None
