"""The external linters of infra/lint.sh, started in the background and awaited by test_tools.py."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DEFAULT_TEMPLATE = ROOT / "infra" / "template.yaml"
TEMPLATE = Path(os.environ.get("INFRA_TEMPLATE") or DEFAULT_TEMPLATE).resolve()
ALL_STEPS = ("sam", "cfn-lint", "checkov", "policy")
STEPS = tuple((os.environ.get("LINT_STEPS") or " ".join(ALL_STEPS)).split())
INFRA_BIN = ROOT / ".venv-infra" / "bin"
CHECKOV_BIN = ROOT / ".venv-checkov" / "bin"


def _cfn_lint_ok(rc: int) -> bool:
    # cfn-lint's exit code is a bitmask: 2 = errors, 4 = warnings, 8 = informational (1 = it could not run).
    # Warnings fail too: this template is ours, a warning is a real smell, and a justified exception is written
    # next to the resource (Metadata: cfn-lint: config: ignore_checks, with a comment saying why).
    return rc & ~8 == 0


# A second cfn-lint pass with the parameters of a secondary region behind a custom domain, so that the
# conditional resources and the If branches of that configuration are linted with real values too.
SECONDARY_WITH_DOMAIN = [
    "RegionRole=secondary",
    "PeerRegion=eu-central-1",
    "PrimarySecretArn=arn:aws:secretsmanager:eu-central-1:123456789012:secret:huawei-voice/voice-credentials-AbCdEf",
    "AlarmTopicArn=arn:aws:sns:eu-west-1:123456789012:huawei-voice-alarms",
    "DomainName=cb.example.com",
    "CertificateArn=arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000",
    "HostedZoneId=Z0123456789ABCDEFGHIJ",
    "AppBackendRoleArn=arn:aws:iam::123456789012:role/app-backend",
]

# name -> (LINT_STEPS step, argv, acceptance of the exit code)
TOOLS: dict[str, tuple[str, list[str], object]] = {
    "sam-validate": (
        "sam",
        [str(INFRA_BIN / "sam"), "validate", "--lint", "--template-file", str(TEMPLATE)],
        lambda rc: rc == 0,
    ),
    "cfn-lint": ("cfn-lint", [str(INFRA_BIN / "cfn-lint"), str(TEMPLATE)], _cfn_lint_ok),
    "cfn-lint-secondary-domain": (
        "cfn-lint",
        [str(INFRA_BIN / "cfn-lint"), str(TEMPLATE), "--parameters", *SECONDARY_WITH_DOMAIN],
        _cfn_lint_ok,
    ),
    "checkov": (
        "checkov",
        [
            str(CHECKOV_BIN / "checkov"), "-f", str(TEMPLATE), "--framework", "cloudformation",
            "--skip-download", "--compact", "--quiet",
        ],
        lambda rc: rc == 0,
    ),
}

_running: dict[str, tuple[subprocess.Popen | None, object, float]] = {}


def start(names: set[str]) -> None:
    env = dict(os.environ, SAM_CLI_TELEMETRY="0", PYTHONDONTWRITEBYTECODE="1")
    for name in sorted(names):
        _, argv, _ = TOOLS[name]
        sink = tempfile.TemporaryFile()
        try:
            process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
        except FileNotFoundError as error:
            process = None
            sink.write(f"cannot start {argv[0]}: {error} (run infra/lint.sh, which installs it)\n".encode())
        _running[name] = (process, sink, time.monotonic())


def stop_all() -> None:
    for process, _, _ in _running.values():
        if process and process.poll() is None:
            process.kill()


def tool_result(name: str, timeout: float = 300) -> tuple[int, str, float]:
    """Wait for a background linter: (exit code, output, seconds)."""
    process, sink, started = _running[name]
    rc = 127 if process is None else process.wait(timeout=timeout)
    sink.seek(0)
    return rc, sink.read().decode(errors="replace"), time.monotonic() - started
