"""Shared setup of the infrastructure checks (run by infra/lint.sh).

Environment:
  INFRA_TEMPLATE  template under test (default: infra/template.yaml of this checkout)
  LINT_STEPS      space-separated subset of "sam cfn-lint checkov policy" (default: all). "policy" = the rules of
                  infra/policy; the three others are the external linters, which start in the background as soon
                  as collection ends, so they run while the policy tests do (the machine has 2 cores).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cfn_yaml  # noqa: E402
import lint_tools  # noqa: E402
from lint_tools import ALL_STEPS, DEFAULT_TEMPLATE, STEPS, TEMPLATE  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "tool(step): an external linter of LINT_STEPS step `step`")
    unknown = set(STEPS) - set(ALL_STEPS)
    if unknown:
        raise pytest.UsageError(f"LINT_STEPS: unknown step(s) {sorted(unknown)}; known: {' '.join(ALL_STEPS)}")


# Tests of the checkout's own files (samconfig.toml, the seeded copies of infra/template.yaml): they say nothing
# about another template given to infra/lint.sh, so they run only for the default one.
CHECKOUT_ONLY = ("test_samconfig.py", "test_seeded_violations.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("tool")
        step = marker.args[0] if marker else "policy"
        selected = step in STEPS and (TEMPLATE == DEFAULT_TEMPLATE or item.path.name not in CHECKOUT_ONLY)
        (keep if selected else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_collection_finish(session: pytest.Session) -> None:
    lint_tools.start({item.callspec.params["name"] for item in session.items if item.get_closest_marker("tool")})


def pytest_sessionfinish(session: pytest.Session) -> None:
    lint_tools.stop_all()


@pytest.fixture(scope="session")
def template_path() -> Path:
    return TEMPLATE


@pytest.fixture(scope="session")
def template(template_path: Path) -> dict:
    return cfn_yaml.load(template_path)


@pytest.fixture(scope="session")
def canonical_text() -> str:
    return DEFAULT_TEMPLATE.read_text(encoding="utf-8")
