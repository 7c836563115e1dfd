"""The broker, built from the settings. Import this before any actor.

Redis when `PORTAL_BROKER_URL` (or `PORTAL_REDIS_URL`) is set; otherwise Dramatiq's StubBroker, consumed by
a worker thread inside the web process (the embedded mode). Either way the AsyncIO
middleware is added so actors can be `async def`. Actors bound to a broker when
they are declared, which is why this module must come first.
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO, ShutdownNotifications

from portal.settings import Settings
from workers.pool import DatabasePool
from workers.shutdown import GracefulStop


def build_broker(settings: Settings) -> dramatiq.Broker:
    if settings.broker_url:
        from dramatiq.brokers.redis import RedisBroker

        broker: dramatiq.Broker = RedisBroker(url=settings.broker_url, namespace="portal")
    else:
        broker = StubBroker()
        broker.emit_after("process_boot")
    broker.add_middleware(AsyncIO())
    # After AsyncIO, so its event loop is running when the pool opens on it.
    broker.add_middleware(DatabasePool(settings))
    # Just before dramatiq's ShutdownNotifications, so a stopping worker lets running
    # messages finish for a grace period before interrupting them (workers/shutdown.py).
    broker.add_middleware(GracefulStop(), before=ShutdownNotifications)
    return broker


broker = build_broker(Settings.from_env())
dramatiq.set_broker(broker)


def is_stub(b: dramatiq.Broker | None = None) -> bool:
    return isinstance(b or broker, StubBroker)
