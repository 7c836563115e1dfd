"""The `portal` command: migrate, create-admin, demo, run, serve, scheduler."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys

from portal.settings import Settings, SettingsError


def _settings() -> Settings:
    try:
        return Settings.from_env().with_secret()
    except SettingsError as exc:
        sys.exit(f"portal: setting problem: {exc}")


def _setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # A line every few seconds for each sweep would drown what matters.
    logging.getLogger("apscheduler").setLevel(
        max(logging.WARNING, logging.getLevelName(settings.log_level))
    )
    logging.getLogger("piccolo").setLevel(logging.WARNING)


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> None:
    from portal import db

    asyncio.run(db.migrate(db.engine_for(settings)))
    print("Database is up to date.")


def cmd_create_admin(settings: Settings, args: argparse.Namespace) -> None:
    from portal import db
    from portal.domain.accounts import admins as accounts
    from portal.domain.audit import Actor
    from portal.domain.errors import DomainError
    from portal.tables import User

    async def run() -> None:
        db.bind(db.engine_for(settings))
        async with db.write_transaction():
            now = await db.database_now()
            existing = (
                await User.select(User.id).where(User.email == args.email.strip().lower()).first()
            )
            if existing and not args.token:
                raise DomainError("There is already an account with that email address.")
            if existing:
                user_id = existing["id"]
            else:
                password = args.password or os.environ.get("PORTAL_ADMIN_PASSWORD")
                if password is None and not args.token:
                    password = getpass.getpass("Password (12 characters or more): ")
                user_id = await accounts.create_admin(args.email, args.name, password, now)
                print(f"Created admin {args.email}.")
            if args.token:
                raw = await accounts.create_api_token(
                    user_id, args.token_name, Actor(user_id, args.email), now
                )
                print("API token (shown once, keep it secret):")
                print(raw)

    try:
        asyncio.run(run())
    except DomainError as exc:
        sys.exit(f"portal: {exc.message}")


def cmd_demo(settings: Settings, args: argparse.Namespace) -> None:
    from portal import db
    from portal.demo import load_demo

    async def run() -> None:
        await db.migrate(db.engine_for(settings))
        async with db.write_transaction():
            created = await load_demo(settings)
        print("Demo data loaded." if created else "Demo data already present.")

    asyncio.run(run())
    from portal.demo import print_logins

    print_logins(settings)


def _uvicorn_options(settings: Settings, host: str, port: int) -> dict:
    return {
        "host": host,
        "port": port,
        # Forwarded headers are believed only from the configured proxies.
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": ",".join(settings.trusted_proxies) or "127.0.0.1",
        "server_header": False,
        "log_level": settings.log_level.lower(),
    }


def cmd_run(settings: Settings, args: argparse.Namespace) -> None:
    """Everything in one process: migrate, demo data, web, worker and scheduler."""
    import uvicorn

    host, port = args.host or settings.host, args.port or settings.port
    # The app (loaded by uvicorn) reads the environment: give it the address chosen here.
    os.environ["PORTAL_HOST"], os.environ["PORTAL_PORT"] = host, str(port)
    settings = _settings()
    cmd_demo(settings, args)
    print(f"\nServing the seat portal on http://{host}:{port}  (Ctrl+C to stop)\n", flush=True)
    uvicorn.run("portal.asgi:app", **_uvicorn_options(settings, host, port))


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    """Web processes only (production): the worker and scheduler run separately."""
    import uvicorn

    host, port = args.host or settings.host, args.port or settings.port
    uvicorn.run("portal.asgi:app", workers=args.workers, **_uvicorn_options(settings, host, port))


def cmd_scheduler(settings: Settings, args: argparse.Namespace) -> None:
    from workers import broker as _broker  # noqa: F401
    from workers.scheduler import build_scheduler

    print(
        f"Scheduler running: outbox sweep every {settings.sweep_seconds:g}s. Run exactly one.",
        flush=True,
    )
    build_scheduler(settings, background=False).start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="portal", description="The seat portal.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply database migrations")
    p = sub.add_parser("create-admin", help="create an admin (and optionally an API token)")
    p.add_argument("email")
    p.add_argument("--name", default="Admin")
    p.add_argument("--password", help="otherwise asked for, or PORTAL_ADMIN_PASSWORD")
    p.add_argument(
        "--token", action="store_true", help="also create an API token and print it once"
    )
    p.add_argument("--token-name", default="CLI token")
    sub.add_parser("demo", help="load the demo data (idempotent)")
    for name, text in (
        ("run", "embedded all-in-one: migrate, demo, serve"),
        ("serve", "serve the web app only"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--host")
        p.add_argument("--port", type=int)
        if name == "serve":
            p.add_argument("--workers", type=int, default=1)
    sub.add_parser("scheduler", help="run the one scheduler process")
    args = parser.parse_args(argv)
    settings = _settings()
    _setup_logging(settings)
    if settings.env == "test":
        from portal.domain.accounts.credentials import use_cheap_hashing

        use_cheap_hashing()  # quick password hashes for the test suite's processes
    {
        "migrate": cmd_migrate,
        "create-admin": cmd_create_admin,
        "demo": cmd_demo,
        "run": cmd_run,
        "serve": cmd_serve,
        "scheduler": cmd_scheduler,
    }[args.command](settings, args)


if __name__ == "__main__":
    main()
