"""The package layout holds: imports run from a stage to earlier stages only, and modules and
functions stay short enough to read."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "assistant"

# The stages in the order data flows through them; a module may import from its own stage or
# an earlier one, never a later one.
STAGES = {
    "types": 0, "errors": 0, "config": 0,
    "lang": 1,
    "ingest": 2,
    "model": 3,
    "index": 4,
    "retrieval": 5,
    "answer": 6,
    "engine": 7, "serialize": 7, "groups": 7,
    "evaluate": 8, "feedback": 8, "worker": 8,
    "api": 9, "cli": 9, "console": 9,
}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.stat().st_size)


def _stage(path: Path) -> str:
    return path.relative_to(PACKAGE).with_suffix("").parts[0]


def _imported_stages(path: Path) -> set[str]:
    """The top-level stages of `assistant` a module imports from (lazy imports included)."""
    stages = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "assistant":
                names = [f"assistant.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        stages |= {n.split(".")[1] for n in names if n.startswith("assistant.")}
    return stages


def test_every_stage_is_known():
    unknown = {_stage(p) for p in _modules()} - set(STAGES) - {"__init__"}
    assert not unknown, f"add {sorted(unknown)} to STAGES in the order data flows"


def test_no_relative_imports_reach_out_of_a_stage():
    # Absolute imports keep the direction check above honest.
    offenders = [
        str(p.relative_to(PACKAGE)) for p in _modules()
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.level > 1
    ]
    assert not offenders


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_one_way(path: Path):
    own = STAGES.get(_stage(path), -1)
    later = sorted(s for s in _imported_stages(path) if STAGES.get(s, -1) > own)
    assert not later, f"{path.relative_to(PACKAGE)} imports later stage(s) {later}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_and_functions_stay_short(path: Path):
    source = path.read_text(encoding="utf-8")
    assert len(source.splitlines()) <= MAX_MODULE_LINES
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long
