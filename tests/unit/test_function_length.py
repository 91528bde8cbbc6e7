"""No function in src/ is longer than 40 lines (migrations aside): a longer one does two things."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
LIMIT = 40


def test_no_function_in_src_is_longer_than_forty_lines():
    too_long = []
    for path in SRC.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > LIMIT:
                    too_long.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name} ({length} lines)")
    assert too_long == []
