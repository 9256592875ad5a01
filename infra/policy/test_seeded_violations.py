"""The rules catch what they claim to: seeded violations in temporary copies of the template must fail them, and
must fail infra/lint.sh's policy step."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import cfn_yaml
import rules
from lint_tools import ROOT

# (id, text to find in infra/template.yaml, replacement, rule that must report it). The replacement applies to the
# first occurrence; the text must exist, so a seed cannot silently stop seeding anything.
SEEDS = [
    ("wildcard-resource", "Resource: !GetAtt StatusCallbackLogGroup.Arn", 'Resource: "*"', "iam_no_wildcard_resources"),
    ("wildcard-action", "Action: dynamodb:PutItem\n", 'Action: "dynamodb:*"\n', "iam_no_wildcard_actions"),
    ("callback-reads", "Action: dynamodb:PutItem\n", "Action: [dynamodb:PutItem, dynamodb:GetItem]\n", "iam_callbacks_put_only"),
    ("x86", "Architectures: [arm64]", "Architectures: [x86_64]", "functions_runtime_and_build"),
    ("old-runtime", "Runtime: provided.al2023", "Runtime: provided.al2", "functions_runtime_and_build"),
    ("member-codeuri", "CodeUri: ../\n", "CodeUri: ../functions/status-callback/\n", "functions_runtime_and_build"),
    ("no-pitr", "PointInTimeRecoveryEnabled: true", "PointInTimeRecoveryEnabled: false", "table_guarantees"),
    ("ttl-attribute", "AttributeName: expiresAt", "AttributeName: ttl", "table_guarantees"),
    ("no-deletion-protection", "DeletionProtectionEnabled: true", "DeletionProtectionEnabled: false", "table_guarantees"),
    ("table-deletable", "    DeletionPolicy: Retain\n", "    DeletionPolicy: Delete\n", "table_guarantees"),
    ("no-retention", "      RetentionInDays: !Ref LogRetentionDays\n", "", "log_groups_retention"),
    ("text-logs", "LogFormat: JSON", "LogFormat: Text", "functions_logging"),
    ("path-in-access-log", '"routeKey":"$context.routeKey",', '"routeKey":"$context.routeKey","path":"$context.path",', "api_throttling_and_access_logs"),
    ("no-throttling", "        ThrottlingRateLimit: !Ref ApiThrottlingRateLimit\n", "", "api_throttling_and_access_logs"),
    ("tls-1-0", "SecurityPolicy: TLS_1_2", "SecurityPolicy: TLS_1_0", "custom_domain"),
    ("token-in-env", "        RUST_LOG: info\n", "        RUST_LOG: info\n        CALLBACK_TOKENS: tokenA\n", "functions_environment"),
    ("callback-timeout", "      Timeout: 8\n", "      Timeout: 30\n", "functions_timeouts_and_memory"),
    ("alarm-without-topic", "      AlarmActions: [!Ref AlarmTopicArn]\n", "", "alarms"),
    ("skip-without-reason", "comment: *env_no_secrets", "comment: ''", "scanner_skips_justified"),
]


def seeded(canonical_text: str, old: str, new: str) -> str:
    assert old in canonical_text, f"seed text not found in the template: {old!r}"
    return canonical_text.replace(old, new, 1)


def test_canonical_template_passes_every_rule(canonical_text: str) -> None:
    assert rules.check_all(cfn_yaml.load_text(canonical_text)) == {}


@pytest.mark.parametrize(("old", "new", "expected"), [s[1:] for s in SEEDS], ids=[s[0] for s in SEEDS])
def test_seeded_violation_is_caught(canonical_text: str, tmp_path: Path, old: str, new: str, expected: str) -> None:
    copy = tmp_path / "template.yaml"
    copy.write_text(seeded(canonical_text, old, new))
    found = rules.check_all(cfn_yaml.load(copy))
    assert expected in found, f"rule {expected} did not report the seeded violation; reported: {found}"


def run_lint(template: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, LINT_STEPS="policy", INFRA_LINT_NESTED="1")
    env.pop("INFRA_TEMPLATE", None)
    return subprocess.run(
        ["bash", str(ROOT / "infra" / "lint.sh"), str(template)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )


nested = pytest.mark.skipif(os.environ.get("INFRA_LINT_NESTED") == "1", reason="already inside infra/lint.sh's test")


@nested
def test_lint_sh_policy_step_fails_on_a_wildcard_resource(canonical_text: str, tmp_path: Path) -> None:
    bad = tmp_path / "template.yaml"
    bad.write_text(seeded(canonical_text, *SEEDS[0][1:3]))
    result = run_lint(bad)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "FAILED" in output and "test_rule[iam_no_wildcard_resources]" in output, output
    assert "wildcard in Resource '*'" in output, output


@nested
def test_lint_sh_policy_step_passes_on_an_unmodified_copy(canonical_text: str, tmp_path: Path) -> None:
    good = tmp_path / "template.yaml"
    good.write_text(canonical_text)
    result = run_lint(good)
    assert result.returncode == 0, result.stdout + result.stderr
