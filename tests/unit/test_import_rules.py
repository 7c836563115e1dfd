"""The direction of imports, enforced: a violation fails here with the file and line.

- `portal.domain` imports neither `portal.web`, `workers`, `portal.mail`, litestar nor
  dramatiq, and its areas import only the areas below them (`portal.domain.LAYERS`);
- `portal.mail` imports neither litestar, dramatiq, `portal.web` nor `workers`;
- `workers` imports neither litestar nor `portal.web`;
- a `dramatiq workers.actors` process never loads Litestar;
- `portal/web`, `workers`, `portal/mail` and the CLI never read the host's clock: every
  time rule takes `now` from `portal.db.database_now()` (the database's clock). The
  scheduler's own timing is APScheduler's and only decides when to enqueue, never a
  verdict; durations (`time.monotonic`) are not instants and are allowed.

Lazy imports inside functions count the same as those at the top of a module.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from portal.domain import LAYERS, SHARED

ROOT = Path(__file__).resolve().parents[2]


def _imports(folder: str) -> list[tuple[str, int, str]]:
    """(file, line, imported module) for every import under `folder`."""
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                found.append((str(path.relative_to(ROOT)), node.lineno, name))
    return found


def _violations(folder: str, banned: tuple[str, ...]) -> list[str]:
    return sorted(
        {
            f"{file}:{line} imports {name}"
            for file, line, name in _imports(folder)
            if any(name == b or name.startswith(b + ".") for b in banned)
        }
    )


@pytest.mark.parametrize(
    ("folder", "banned"),
    [
        ("portal/domain", ("litestar", "dramatiq", "portal.web", "workers", "portal.mail")),
        ("portal/mail", ("litestar", "dramatiq", "portal.web", "workers")),
        ("workers", ("litestar", "portal.web")),
    ],
)
def test_imports_flow_one_way(folder, banned):
    assert _violations(folder, banned) == []


def _area_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[:2] != ["portal", "domain"] or len(parts) < 3:
        return None
    return parts[2]


def test_domain_areas_import_only_the_areas_below_them():
    rank = {area: i for i, area in enumerate(LAYERS)}
    wrong = set()
    for file, line, name in _imports("portal/domain"):
        here = _area_of(file.removesuffix(".py").replace("/", "."))
        there = _area_of(name)
        if here is None or there is None or here == there or there in SHARED:
            continue
        if here in SHARED:
            wrong.add(f"{file}:{line}: shared module imports the area {there}")
        elif there not in rank or rank[there] > rank[here]:
            wrong.add(f"{file}:{line}: {here} imports {name}, an area above it")
    assert sorted(wrong) == []


def test_every_area_is_in_the_declared_order():
    folders = {
        p.name for p in (ROOT / "portal/domain").iterdir() if p.is_dir() and p.name != "__pycache__"
    }
    modules = {p.stem for p in (ROOT / "portal/domain").glob("*.py")} - {"__init__"}
    assert folders == set(LAYERS)
    assert modules == set(SHARED)


def test_a_worker_process_never_loads_the_web_framework():
    code = (
        "import sys, workers.actors; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'litestar' "
        "or m.startswith('portal.web')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


# Reads of the host's wall clock: `utcnow`, `datetime.now()`, `datetime.utcnow()`,
# `date.today()`, `time.time()`.
_WALL_CLOCK_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("date", "today"),
    ("time", "time"),
}
# Each exception says why no rule depends on it.
_CLOCK_EXCEPTIONS = {
    # The Date header of a row never claimed (a preview); a claimed row is dated by its
    # claim, on the database's clock. No rule reads the header.
    "portal/mail/smtp.py",
}


def _host_clock_reads(folder: str) -> list[str]:
    found = []
    paths = [ROOT / folder] if folder.endswith(".py") else sorted((ROOT / folder).rglob("*.py"))
    for path in paths:
        name = str(path.relative_to(ROOT))
        if name in _CLOCK_EXCEPTIONS:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (
                isinstance(node, ast.Name | ast.alias)
                and getattr(node, "id", getattr(node, "name", "")) == "utcnow"
            ):
                found.append(f"{name}:{node.lineno} uses utcnow")
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and (node.func.value.id, node.func.attr) in _WALL_CLOCK_CALLS
            ):
                found.append(f"{name}:{node.lineno} reads the host clock")
            elif isinstance(node, ast.Attribute) and node.attr == "utcnow":
                found.append(f"{name}:{node.lineno} uses utcnow")
    return sorted(set(found))


@pytest.mark.parametrize("folder", ["portal/web", "workers", "portal/mail", "portal/cli.py"])
def test_no_host_clock_decides_anything(folder):
    assert _host_clock_reads(folder) == []


def test_the_host_clock_check_finds_a_read():
    """The check itself: utcnow() in any form, and datetime.now(), are found."""
    assert _host_clock_reads("portal/domain/timerules.py") != []
