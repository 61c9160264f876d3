from __future__ import annotations


def test_healthz_reports_database_redis_and_workers(client):
    for path in ("/healthz", "/admin/healthz"):
        r = client.get(path)
        assert r.status_code == 200
        data = r.get_json()
        assert data["database"] == "ok" and data["redis"] == "ok"
        assert isinstance(data["workers"], int)
