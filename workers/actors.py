"""Every actor, for the `dramatiq` command: `dramatiq workers.actors`."""

from workers import broker as _broker  # noqa: F401  (sets the broker first)
from workers.mail import deliver_message, sweep_outbox  # noqa: F401
from workers.reminders import plan_reminders  # noqa: F401
