"""Health checks for a load balancer: /healthz (process alive), /readyz (dependencies)."""

from __future__ import annotations

import asyncio

from litestar import Response, Router, get

from portal import db


@get("/healthz", sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz")
async def readyz() -> Response[dict[str, str]]:
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(db.ping(), timeout=3)
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        checks["database"] = f"unreachable: {type(exc).__name__}"
    from workers.broker import broker, is_stub

    if is_stub(broker):
        checks["broker"] = "ok (embedded)"
    else:
        try:
            await asyncio.to_thread(broker.client.ping)  # type: ignore[attr-defined]
            checks["broker"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["broker"] = f"unreachable: {type(exc).__name__}"
    ready = all(v.startswith("ok") for v in checks.values())
    return Response(
        {"status": "ready" if ready else "not ready", **checks}, status_code=200 if ready else 503
    )


router = Router(
    path="/", route_handlers=[healthz, readyz], include_in_schema=False, opt={"public": True}
)
