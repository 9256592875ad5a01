"""The project's policy rules (rules.py) applied to the template under test (INFRA_TEMPLATE)."""

from __future__ import annotations

import re
import tomllib

import pytest

import cfn_yaml
import rules
from lint_tools import ROOT


@pytest.mark.parametrize("name", sorted(rules.RULES))
def test_rule(name: str, template: dict) -> None:
    violations = rules.RULES[name](template)
    assert not violations, f"{rules.describe([name])}\n  - " + "\n  - ".join(violations)


def test_loader_reads_short_form_tags() -> None:
    data = cfn_yaml.load_text(
        "A: !Ref X\nB: !GetAtt R.Arn\nC: !Sub 'x-${Y}'\nD: !If [Cond, !Ref P, !Ref AWS::NoValue]\n"
        "E: !Condition IsPrimary\nF: !Select [6, !Split [':', !Ref S]]\nG: &anchor !Ref Z\nH: *anchor\n"
    )
    assert data == {
        "A": {"Ref": "X"},
        "B": {"Fn::GetAtt": ["R", "Arn"]},
        "C": {"Fn::Sub": "x-${Y}"},
        "D": {"Fn::If": ["Cond", {"Ref": "P"}, {"Ref": "AWS::NoValue"}]},
        "E": {"Condition": "IsPrimary"},
        "F": {"Fn::Select": [6, {"Fn::Split": [":", {"Ref": "S"}]}]},
        "G": {"Ref": "Z"},
        "H": {"Ref": "Z"},
    }


def _workspace_members() -> list[str]:
    return tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["members"]


@pytest.mark.parametrize("binary", rules.ALL_BINS)
def test_function_binary_is_a_workspace_bin(binary: str) -> None:
    """CodeUri ../ is the cargo workspace; each BuildProperties.Binary must be a bin of one of its members."""
    crate = ROOT / "functions" / binary / "Cargo.toml"
    if not crate.exists():
        pytest.skip(f"functions/{binary} is not written yet; sam build needs it before deploying")
    assert f"functions/{binary}" in _workspace_members(), f"functions/{binary} is not a workspace member"
    manifest = tomllib.loads(crate.read_text())
    bins = [b.get("name") for b in manifest.get("bin", [])] or [manifest["package"]["name"]]
    assert binary in bins, f"functions/{binary} builds {bins}, not {binary}"


def test_codeuri_resolves_to_the_workspace_root(template: dict, template_path) -> None:
    if template_path != ROOT / "infra" / "template.yaml":
        pytest.skip("only meaningful for the template in its place in the checkout")
    for binary, (_, res) in rules.functions(template).items():
        code_dir = (template_path.parent / rules.effective(template, res, "CodeUri")).resolve()
        assert code_dir == ROOT, f"{binary}: CodeUri resolves to {code_dir}, not the workspace root {ROOT}"
        assert re.search(r"^\[workspace\]", (code_dir / "Cargo.toml").read_text(), re.M)
