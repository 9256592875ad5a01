"""The external linters, started in the background by conftest.py (see lint_tools.TOOLS for the command lines)."""

from __future__ import annotations

import pytest

import lint_tools


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=pytest.mark.tool(step)) for name, (step, _, _) in lint_tools.TOOLS.items()]
)
def test_tool(name: str) -> None:
    _, argv, accept = lint_tools.TOOLS[name]
    rc, output, seconds = lint_tools.tool_result(name)
    assert accept(rc), f"{' '.join(argv)}\nexited {rc} after {seconds:.1f}s:\n{output}"
