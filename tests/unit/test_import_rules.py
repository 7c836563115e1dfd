"""The direction of imports, enforced: a violation fails here with the file and line.

- `portal.domain` imports neither `portal.web`, `workers`, `portal.mail`, litestar nor
  dramatiq, and its areas import only the areas below them (`portal.domain.LAYERS`);
- `portal.mail` imports neither litestar, dramatiq, `portal.web` nor `workers`;
- `workers` imports neither litestar nor `portal.web`;
- a `dramatiq workers.actors` process never loads Litestar.

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
