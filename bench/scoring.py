"""Scoring benchmark: the chair's moderation view and the shortlist proposal on a big round.

Seeds one round with 1,000 submitted applications, 7 panel members (one chair) and 6
criteria: 7,000 score sheets (95 % submitted) and 42,000 scores, plus conflicts
(excluded and minor) and one declared organisation, with bulk inserts. Then, on
SQLite and on PostgreSQL, times (median of 5 runs after a warm-up):

- `moderation view`: `portal.domain.scoring.moderation.moderation_view` (chair check, the SQL
  aggregation, exclusions, agreed scores, ranking), what the chair's page reads;
- `proposal`: `round_scores` + `build_proposal` (top 20), what "Propose" computes
  before it writes;
- two references measured in the same run: `SELECT COUNT(*) FROM score` (the floor of
  any query over the scores) and `fetch + Python`: every score row of the round
  fetched and aggregated in Python (the obvious alternative to aggregating in SQL).

It also checks that the SQL aggregation equals the Python one. See bench/README.md
("Scoring"); run with `make bench-scoring`, `--help` for options. The scratch SQLite
file and PostgreSQL database are removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
sys.path[:0] = [str(PROJECT_ROOT), str(BENCH_DIR)]
os.environ.setdefault("PICCOLO_CONF", "portal.piccolo_conf")

from seed import recreate_postgres_database  # noqa: E402  (bench/seed.py)

from portal import db  # noqa: E402
from portal.domain.accounts.credentials import hash_password  # noqa: E402
from portal.domain.outcomes.shortlist import ShortlistInput, build_proposal  # noqa: E402
from portal.domain.panels.access import PANEL_STATUSES, normalise_organisation  # noqa: E402
from portal.domain.scoring import arithmetic as sm  # noqa: E402
from portal.domain.scoring.moderation import moderation_view  # noqa: E402
from portal.domain.scoring.tally import round_scores  # noqa: E402
from portal.settings import Settings  # noqa: E402
from portal.tables import (  # noqa: E402
    Application,
    Criterion,
    PanelConflict,
    PanelMember,
    PanelOrganisation,
    Round,
    Score,
    ScoreSheet,
    Seat,
    User,
)

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/portal_bench_scoring"
CHAIR_EMAIL = "member0@bench.example"
CHAIR_PASSWORD = "bench scoring chair password"  # noqa: S105 - a throwaway seeded account
TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')
CHUNK = 500


def log(message: str) -> None:
    print(message, flush=True)


async def _bulk(table, rows: list, *, returning: bool = True) -> list[int]:
    ids: list[int] = []
    for start in range(0, len(rows), CHUNK):
        query = table.insert(*rows[start : start + CHUNK])
        if returning:
            ids += [r["id"] for r in await query.returning(table.id)]
        else:
            await query
    return ids


async def seed(applications: int, members: int, criteria: int, rng: random.Random) -> dict:
    """One round in scoring, its panel, and every member's scores, in bulk."""
    now = datetime.now(UTC)
    password_hash = hash_password(CHAIR_PASSWORD)
    async with db.write_transaction():
        seat_id = (
            await Seat.insert(
                Seat(slug="bench-scoring", title="Bench seat", published=True)
            ).returning(Seat.id)
        )[0]["id"]
        criterion_ids = await _bulk(
            Criterion,
            [
                Criterion(seat=seat_id, position=i, title=f"Criterion {i + 1}", weight=1 + i % 3)
                for i in range(criteria)
            ],
        )
        round_id = (
            await Round.insert(
                Round(
                    seat=seat_id,
                    opens_at=now - timedelta(days=30),
                    closes_at=now - timedelta(days=2),
                    stage="scoring",
                    anonymised=True,
                )
            ).returning(Round.id)
        )[0]["id"]
        organisations = [f"Organisation {i}" for i in range(200)]
        applicant_ids = await _bulk(
            User,
            [
                User(
                    email=f"applicant{i}@bench.example",
                    name=f"Applicant {i}",
                    role="applicant",
                    organisation=organisations[i % len(organisations)],
                )
                for i in range(applications)
            ],
        )
        application_ids = await _bulk(
            Application,
            [
                Application(
                    applicant=user_id,
                    round=round_id,
                    status="submitted",
                    reference=f"SP-B-{i:06d}",
                    submitted_at=now - timedelta(days=3),
                    received_at=now - timedelta(days=3),
                    panel_number=i + 1,
                    version=1,
                )
                for i, user_id in enumerate(applicant_ids)
            ],
        )
        member_user_ids = await _bulk(
            User,
            [
                User(
                    email=f"member{i}@bench.example",
                    name=f"Member {i}",
                    role="applicant",
                    password_hash=password_hash if i == 0 else None,
                    email_verified_at=now,
                )
                for i in range(members)
            ],
        )
        member_ids = await _bulk(
            PanelMember,
            [
                PanelMember(
                    round=round_id,
                    user=user_id,
                    role="chair" if i == 0 else "member",
                    accepted_at=now,
                    confidentiality_at=now,
                    declarations_at=now,
                )
                for i, user_id in enumerate(member_user_ids)
            ],
        )
        # One member declared an organisation (5 applicants, no conflict rows for them).
        await PanelOrganisation.insert(
            PanelOrganisation(
                member=member_ids[1],
                name=organisations[7],
                normalised=normalise_organisation(organisations[7]),
            )
        )
        pairs = [(m, a) for m in member_ids for a in application_ids]
        conflicts = rng.sample(pairs, len(pairs) // 50)  # 2 % of pairs
        await _bulk(
            PanelConflict,
            [
                PanelConflict(
                    member=m,
                    application=a,
                    kind="personal",
                    decision="minor" if i % 5 == 0 else "excluded",
                )
                for i, (m, a) in enumerate(conflicts)
            ],
            returning=False,
        )
        sheet_ids = await _bulk(
            ScoreSheet,
            [
                ScoreSheet(
                    member=m,
                    application=a,
                    submitted_at=now if rng.random() < 0.95 else None,
                )
                for m, a in pairs
            ],
        )
        await _bulk(
            Score,
            [
                Score(
                    sheet=sheet_id,
                    criterion=c,
                    value=rng.randint(0, 4),
                    comment="Clear evidence of the criterion.",
                )
                for sheet_id in sheet_ids
                for c in criterion_ids
            ],
            returning=False,
        )
    return {
        "round_id": round_id,
        "chair_user_id": member_user_ids[0],
        "sheets": len(sheet_ids),
        "scores": len(sheet_ids) * len(criterion_ids),
    }


# --- the measured operations -----------------------------------------------------------


async def in_read(fn: Callable[[], Awaitable]):
    async with db.read_transaction():
        return await fn()


async def reference_count() -> int:
    rows = await Score.raw("SELECT COUNT(*) AS n FROM score")
    return rows[0]["n"]


async def reference_python(round_id: int) -> dict[tuple[int, int], tuple[int, int]]:
    """Every score row of the round, fetched and aggregated in Python (same counting rules)."""
    rows = await Score.select(
        Score.value,
        Score.criterion,
        Score.sheet.application.as_alias("application"),
        Score.sheet.member.as_alias("member"),
        Score.sheet.submitted_at.as_alias("submitted_at"),
        Score.sheet.member.removed_at.as_alias("removed_at"),
        Score.sheet.application.status.as_alias("status"),
    ).where(Score.sheet.application.round == round_id)
    conflicts = await PanelConflict.select(
        PanelConflict.member, PanelConflict.application, PanelConflict.decision
    ).where(PanelConflict.member.round == round_id)
    excluded = {(c["member"], c["application"]) for c in conflicts if c["decision"] != "minor"}
    with_row = {(c["member"], c["application"]) for c in conflicts}
    declared = await PanelOrganisation.select(
        PanelOrganisation.member, PanelOrganisation.normalised
    ).where(PanelOrganisation.member.round == round_id)
    if declared:
        apps = await Application.select(
            Application.id, Application.applicant.organisation.as_alias("organisation")
        ).where(Application.round == round_id)
        for d in declared:
            for a in apps:
                pair = (d["member"], a["id"])
                if normalise_organisation(a["organisation"]) == d["normalised"]:
                    if pair not in with_row:
                        excluded.add(pair)
    tallies: dict[tuple[int, int], tuple[int, int]] = {}
    for r in rows:
        if (
            r["value"] is None
            or r["submitted_at"] is None
            or r["removed_at"] is not None
            or r["status"] not in PANEL_STATUSES
            or (r["member"], r["application"]) in excluded
        ):
            continue
        key = (r["application"], r["criterion"])
        n, total = tallies.get(key, (0, 0))
        tallies[key] = (n + 1, total + r["value"])
    return tallies


async def measure(label: str, seeded: dict, runs: int, top_n: int) -> dict:
    round_id, chair = seeded["round_id"], seeded["chair_user_id"]

    async def view():
        return await in_read(lambda: moderation_view(chair, round_id))

    async def proposal():
        async def go():
            scores = await round_scores(round_id)
            return build_proposal(scores, ShortlistInput(method="top_n", top_n=str(top_n)))

        return await in_read(go)

    operations: dict[str, Callable[[], Awaitable]] = {
        "reference: SELECT COUNT(*) FROM score": lambda: in_read(reference_count),
        "reference: fetch + Python": lambda: in_read(lambda: reference_python(round_id)),
        "moderation view": view,
        f"proposal (top {top_n})": proposal,
    }
    # A warm-up (which also gives the values checked below), then the runs interleaved:
    # each run times every operation once, so a busy moment slows them all alike.
    values = {name: await fn() for name, fn in operations.items()}
    times: dict[str, list[float]] = {name: [] for name in operations}
    for _ in range(runs):
        for name, fn in operations.items():
            start = time.perf_counter()
            await fn()
            times[name].append((time.perf_counter() - start) * 1000)
    results = {}
    for name, values_ms in times.items():
        median = statistics.median(values_ms)
        results[name] = (median, values_ms, values[name])
        log(
            f"  {label:10} {name:40} median {median:8.1f} ms  (runs: "
            + ", ".join(f"{t:.1f}" for t in values_ms)
            + ")"
        )
    # The SQL aggregation must equal the Python one, criterion by criterion.
    python = results["reference: fetch + Python"][2]
    scores = results["moderation view"][2].scores
    sql = {
        (r.result.application_id, c.criterion.id): (c.tally.count, c.tally.total)
        for r in scores.ranked
        for c in r.result.criteria
        if c.tally.count
    }
    same = sql == python
    proposal_value: sm.Proposal = results[f"proposal (top {top_n})"][2]
    log(
        f"  {label:10} check: SQL aggregation equals Python aggregation: {'yes' if same else 'NO'}; "
        f"{len(scores.ranked)} applications, {sum(1 for r in scores.ranked if r.rank)} ranked, "
        f"proposal of {len(proposal_value.entries)} (tie at the cut: {proposal_value.tied_at_cut})"
    )
    view_ms = results["moderation view"][0]
    ref_python = results["reference: fetch + Python"][0]
    ref_count = results["reference: SELECT COUNT(*) FROM score"][0]
    log(
        f"  {label:10} ratios: moderation view / fetch+Python = {view_ms / ref_python:.2f}; "
        f"moderation view / COUNT(*) = {view_ms / ref_count:.1f}"
    )
    return {"label": label, "results": results, "same": same}


async def measure_page(label: str, url: str, seeded: dict, runs: int, folder: Path) -> float:
    """The chair's whole moderation page over HTTP (the real app in this event loop through
    httpx's ASGI transport: middleware, session, domain, template), median of `runs`."""
    import httpx

    from portal.app import create_app

    settings = Settings(
        env="test",
        database_url=url,
        secret_key="bench-scoring-" + "x" * 40,
        base_url="http://bench.local",
        var_dir=folder / "var",
        embedded_worker=False,
        embedded_scheduler=False,
        database_pool=0,
    )
    (folder / "var" / "sessions").mkdir(parents=True, exist_ok=True)  # the lifespan would
    app = create_app(settings)  # binds the tables to its own engine (no pool)
    path = f"/panel/rounds/{seeded['round_id']}/moderation"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench.local") as client:
        token = TOKEN.search((await client.get("/account/sign-in")).text).group(1)
        signed = await client.post(
            "/account/sign-in",
            data={"email": CHAIR_EMAIL, "password": CHAIR_PASSWORD, "_csrf_token": token},
        )
        assert signed.status_code in (302, 303), signed.status_code
        first = await client.get(path)
        assert first.status_code == 200 and "Applications 1 to" in first.text, first.status_code
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            response = await client.get(path)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
    median = statistics.median(times)
    log(
        f"  {label:10} {'moderation page (HTTP, ' + str(len(first.content) // 1024) + ' KB HTML)':40} "
        f"median {median:8.1f} ms  (runs: " + ", ".join(f"{t:.1f}" for t in times) + ")"
    )
    return median


# --- targets ---------------------------------------------------------------------------


async def run_target(label: str, url: str, args, folder: Path) -> dict:
    engine = db.engine_for(Settings(database_url=url))
    await db.migrate(engine)
    db.bind(engine)
    start = time.perf_counter()
    seeded = await seed(args.applications, args.members, args.criteria, random.Random(5))
    log(
        f"  {label:10} seeded {args.applications} applications, {seeded['sheets']} sheets, "
        f"{seeded['scores']} scores in {time.perf_counter() - start:.1f} s"
    )
    if not db.is_sqlite(engine):
        # What autovacuum does soon after bulk inserts; without statistics the planner
        # picks nested loops and the aggregation takes about three times as long.
        await engine.run_ddl("ANALYZE")
    # As a web process runs: PostgreSQL through a pool (SQLite has none), so no
    # measurement pays for opening a connection.
    pooled = await db.open_pool(engine, 2)
    try:
        outcome = await measure(label, seeded, args.runs, args.top_n)
    finally:
        if pooled:
            await db.close_pool(engine)
    if not args.no_page:
        outcome["page"] = await measure_page(label, url, seeded, args.runs, folder)
    return outcome


async def _recreate(url: str, *, drop_only: bool = False) -> None:
    """Drop (and unless `drop_only`, create) the scratch database `url` names."""
    parts = urlsplit(url)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    await recreate_postgres_database(admin_url, parts.path.lstrip("/"), drop_only=drop_only)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--applications", type=int, default=1000)
    parser.add_argument("--members", type=int, default=7)
    parser.add_argument("--criteria", type=int, default=6)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per operation (median)")
    parser.add_argument("--top-n", type=int, default=20)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("PORTAL_BENCH_DATABASE_URL", DEFAULT_PG_URL),
        help="a scratch PostgreSQL database, DROPPED and recreated by the run "
        f"(env PORTAL_BENCH_DATABASE_URL; default {DEFAULT_PG_URL})",
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-page", action="store_true", help="skip the HTTP page timing")
    parser.add_argument("--no-sqlite", action="store_true")
    return parser.parse_args(argv)


async def main_async(args) -> int:
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="bench-scoring-") as name:
        folder = Path(name)
        if not args.no_sqlite:
            url = f"sqlite:///{folder / 'bench.sqlite3'}"
            outcomes.append(await run_target("sqlite", url, args, folder))
        if not args.no_postgres:
            try:
                await _recreate(args.postgres_url)
            except Exception as exc:  # noqa: BLE001 - any reason the server is unusable
                log(f"  postgres   SKIPPED: cannot use {args.postgres_url} ({exc})")
            else:
                try:
                    outcomes.append(await run_target("postgres", args.postgres_url, args, folder))
                finally:
                    await _recreate(args.postgres_url, drop_only=True)
    return 0 if all(o["same"] for o in outcomes) else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log(
        f"Scoring benchmark: {args.applications} applications x {args.members} members x "
        f"{args.criteria} criteria, median of {args.runs} runs"
    )
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
