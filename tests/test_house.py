"""The house rules that keep easel readable: product files short enough to read at once,
functions short enough to hold in mind (ruff's C901 guards their branching)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[1]
PRODUCT = ("bot", "adapters", "bench")
MAX_FILE_LINES = 300
MAX_FUNCTION_LINES = 50


def product_files(*suffixes: str) -> list[Path]:
    return sorted(
        path
        for folder in PRODUCT
        for path in (ROOT / folder).rglob("*")
        if path.suffix in suffixes and "__pycache__" not in path.parts
    )


def test_the_product_is_where_these_rules_look() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in product_files(".py", ".js", ".css")}
    assert {"bot/turns/service.py", "adapters/runtime.py", "adapters/web/static/app.js"} <= names


def test_no_product_file_is_over_300_lines() -> None:
    long = {
        path.relative_to(ROOT).as_posix(): lines
        for path in product_files(".py", ".js", ".css", ".sql")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_FILE_LINES
    }
    assert long == {}


def test_no_product_function_is_over_50_lines() -> None:
    long: dict[str, int] = {}
    for path in product_files(".py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT).as_posix()}:{node.lineno} {node.name}"] = lines
    assert long == {}
