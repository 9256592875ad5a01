"""The checks of infra/lint.sh that cfn-guard cannot express (the rules themselves are infra/policy/*.guard).

Guard evaluates one data document with no arithmetic, no file system and no TOML, so these stay in Python:
  * retry-budget-vs-timeout   arithmetic across a parameter and a property: every API-facing function's Timeout
                              leaves >= 3 s over the largest STORE_RETRY_BUDGET_MS (StoreRetryBudgetMs MaxValue)
  * close-out-order           arithmetic across parameters: every allowed CloseOutProvisionalMinutes is below every
                              allowed CloseOutFinalMinutes (the code refuses final <= provisional), and the final
                              close-out comes before the shortest record TTL (RecordTtlDays MinValue)
  * reserved-concurrency-fits  arithmetic across parameters: the default reservations of all functions leave at
                              least Lambda's 100 unreserved in an account of the default quota, 1000 per region
  * binaries-are-workspace-bins / codeuri-is-workspace-root
                              the template against the checkout (Cargo.toml files, the CodeUri folder)
  * samconfig-*               infra/samconfig.toml (TOML) against the template, and `make deploy`'s sam command
                              line parsed by SAM CLI itself (its deploy step replaced by a recorder: nothing is sent)
The template is read with cfn-lint's CloudFormation loader (cfnlint.decode: short-form tags become the long
form, e.g. {"Fn::GetAtt": [resource, attribute]}); it is not a second policy engine.

Usage: .venv-infra/bin/python infra/policy/check_config.py [TEMPLATE]
Prints one line per check and `checks: N passed, M failed`; exits 1 if any failed.
"""

from __future__ import annotations

import inspect
import os
import re
import shlex
import shutil
import sys
import tempfile
import tomllib
import traceback
from pathlib import Path
from unittest import mock

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEMPLATE = ROOT / "infra" / "template.yaml"
SAMCONFIG = ROOT / "infra" / "samconfig.toml"
SAMCONFIG_ENVS = ("default", "primary", "secondary")
# What the Makefile runs for `make deploy REGION=<region> CONFIG_ENV=<env>` (docs/operations.md, "First deploy: one region, guided"). The config file is an
# absolute path: sam resolves a relative --config-file against the folder of --template-file (.aws-sam/build/).
MAKE_DEPLOY = (
    "sam deploy --template-file .aws-sam/build/template.yaml --config-file {root}/infra/samconfig.toml "
    "--config-env {env} --region {region}"
)


def load_template(path: Path) -> dict:
    template, errors = decode(str(path))
    if errors or not isinstance(template, dict):
        raise SystemExit(f"check_config.py: cannot read {path}: {errors}")
    return template


def functions(template: dict) -> dict[str, dict]:
    return {
        name: res
        for name, res in (template.get("Resources") or {}).items()
        if isinstance(res, dict) and res.get("Type") == "AWS::Serverless::Function"
    }


def effective(template: dict, res: dict, key: str):
    """A function property, falling back to Globals.Function as SAM does."""
    props = res.get("Properties") or {}
    return props[key] if key in props else ((template.get("Globals") or {}).get("Function") or {}).get(key)


# ------------------------------------------------------------------------------------------------- template
def check_retry_budget_vs_timeout(template: dict) -> None:
    budget = (template.get("Parameters") or {}).get("StoreRetryBudgetMs") or {}
    budget_max_ms = int(budget.get("MaxValue", budget.get("Default", 3000)))
    for name, res in functions(template).items():
        if not (res.get("Properties") or {}).get("Events"):
            continue  # invoke-only: no retry budget
        timeout = effective(template, res, "Timeout")
        assert isinstance(timeout, int), f"{name}: Timeout {timeout!r} is not a number"
        assert timeout * 1000 >= budget_max_ms + 3000, (
            f"{name}: Timeout {timeout} s leaves < 3 s over the max retry budget {budget_max_ms} ms "
            "(StoreRetryBudgetMs MaxValue): cold start + budget + the attempt in flight must fit"
        )


def check_close_out_order(template: dict) -> None:
    parameters = template.get("Parameters") or {}
    provisional = parameters.get("CloseOutProvisionalMinutes")
    final = parameters.get("CloseOutFinalMinutes")
    assert provisional and final, "CloseOutProvisionalMinutes and CloseOutFinalMinutes parameters expected"
    for name, p in (("CloseOutProvisionalMinutes", provisional), ("CloseOutFinalMinutes", final)):
        assert all(k in p for k in ("Default", "MinValue", "MaxValue")), f"{name}: needs Default, MinValue, MaxValue"
        assert 1 <= int(p["MinValue"]) <= int(p["Default"]) <= int(p["MaxValue"]), f"{name}: MinValue <= Default <= MaxValue"
    assert int(provisional["MaxValue"]) < int(final["MinValue"]), (
        f"CloseOutProvisionalMinutes MaxValue {provisional['MaxValue']} must be below CloseOutFinalMinutes MinValue "
        f"{final['MinValue']}: otherwise a stack can be deployed whose trigger refuses final <= provisional"
    )
    ttl = parameters.get("RecordTtlDays") or {}
    ttl_min_minutes = int(ttl.get("MinValue", ttl.get("Default", 1))) * 24 * 60
    assert int(final["MaxValue"]) <= ttl_min_minutes, (
        f"CloseOutFinalMinutes MaxValue {final['MaxValue']} is past the shortest record TTL ({ttl_min_minutes} min, "
        "RecordTtlDays MinValue): the final close-out would find the call's records expired"
    )


# Lambda's default concurrency quota per account and region, and the part it keeps unreserved.
ACCOUNT_CONCURRENCY = 1000
UNRESERVED_MINIMUM = 100


def check_reserved_concurrency_fits(template: dict) -> None:
    """docs/operations.md, "Reserved concurrency": the defaults fit an account of the default quota."""
    parameters = template.get("Parameters") or {}
    reserved = {}
    for name, res in functions(template).items():
        value = (res.get("Properties") or {}).get("ReservedConcurrentExecutions")
        if value is None:
            continue
        if isinstance(value, dict) and "Ref" in value:
            parameter = parameters.get(value["Ref"]) or {}
            assert "Default" in parameter, f"{name}: ReservedConcurrentExecutions parameter {value['Ref']} has no Default"
            value = parameter["Default"]
        reserved[name] = int(value)
    total = sum(reserved.values())
    assert total + UNRESERVED_MINIMUM <= ACCOUNT_CONCURRENCY, (
        f"the default reservations {reserved} sum to {total}: with Lambda's {UNRESERVED_MINIMUM} unreserved they "
        f"exceed the default quota of {ACCOUNT_CONCURRENCY} per region, and the deploy would fail"
    )


def check_log_filters_match_the_code(template: dict) -> None:
    """Every log message a metric filter counts is one the common crate writes, word for word."""
    code = "\n".join(path.read_text() for path in (ROOT / "shared" / "src").rglob("*.rs"))
    for name, res in (template.get("Resources") or {}).items():
        if res.get("Type") != "AWS::Logs::MetricFilter":
            continue
        pattern = str((res.get("Properties") or {}).get("FilterPattern", ""))
        for message in re.findall(r'\$\.fields\.message = "([^"]+)"', pattern):
            assert f'"{message}"' in code, f"{name}: no log line {message!r} in shared/src"


def _workspace_members() -> list[str]:
    return tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["members"]


def check_binaries_are_workspace_bins(template: dict) -> None:
    """CodeUri ../ is the cargo workspace; each BuildProperties.Binary is a bin of one of its members."""
    members = _workspace_members()
    for name, res in functions(template).items():
        binary = ((res.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")
        assert binary, f"{name}: no Metadata.BuildProperties.Binary"
        crate = ROOT / "functions" / binary / "Cargo.toml"
        assert crate.exists(), f"{name}: functions/{binary}/Cargo.toml does not exist (sam build needs it)"
        assert f"functions/{binary}" in members, f"{name}: functions/{binary} is not a workspace member"
        manifest = tomllib.loads(crate.read_text())
        bins = [b.get("name") for b in manifest.get("bin", [])] or [manifest["package"]["name"]]
        assert binary in bins, f"{name}: functions/{binary} builds {bins}, not {binary}"


def check_codeuri_is_workspace_root(template: dict, template_path: Path) -> None:
    for name, res in functions(template).items():
        code_dir = (template_path.parent / str(effective(template, res, "CodeUri"))).resolve()
        assert code_dir == ROOT, f"{name}: CodeUri resolves to {code_dir}, not the workspace root {ROOT}"
        text = (code_dir / "Cargo.toml").read_text()
        assert any(line.strip() == "[workspace]" for line in text.splitlines()), f"{code_dir}/Cargo.toml: no [workspace]"


# ------------------------------------------------------------------------------------------------- samconfig
def _overrides(config: dict, env: str) -> dict[str, str]:
    text = config[env]["deploy"]["parameters"].get("parameter_overrides", "")
    return dict(item.split("=", 1) for item in shlex.split(text))


def check_samconfig_environments(config: dict) -> None:
    for env in SAMCONFIG_ENVS:
        assert config[env]["global"]["parameters"]["stack_name"] == "huawei-voice", f"{env}: stack_name"
        deploy = config[env]["deploy"]["parameters"]
        assert deploy["capabilities"] == "CAPABILITY_IAM", f"{env}: capabilities"
        assert deploy["resolve_s3"] is True, f"{env}: resolve_s3"


def check_samconfig_overrides(config: dict, template: dict) -> None:
    parameters = template.get("Parameters") or {}
    known = set(parameters)
    required = {name for name, p in parameters.items() if "Default" not in p}
    for env in ("primary", "secondary"):
        given = _overrides(config, env)
        assert set(given) <= known, f"{env}: unknown parameters {set(given) - known}"
        assert required <= set(given), f"{env}: required parameters missing: {required - set(given)}"
    assert _overrides(config, "primary")["RegionRole"] == "primary"
    secondary = _overrides(config, "secondary")
    assert secondary["RegionRole"] == "secondary" and "PrimarySecretArn" in secondary and "PeerRegion" in secondary
    # A secondary cannot look its replica's stream up in CloudFormation (template rule SecondaryNeedsPrimarySecretAndPeer).
    assert "TableStreamArn" in secondary, "secondary: TableStreamArn (this region's replica stream) missing"


def check_make_deploy_reads_the_config(config: dict, env: str) -> None:
    from click.testing import CliRunner
    from samcli.cli.main import cli
    from samcli.commands.deploy import command as samcli_deploy

    recorded: dict = {}
    signature = inspect.signature(samcli_deploy.do_cli)

    def record(*args, **kwargs):
        recorded.update(signature.bind(*args, **kwargs).arguments)

    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as scratch:
        built = Path(scratch) / ".aws-sam" / "build"
        built.mkdir(parents=True)
        shutil.copy(DEFAULT_TEMPLATE, built / "template.yaml")
        os.chdir(scratch)
        try:
            argv = shlex.split(MAKE_DEPLOY.format(root=ROOT, env=env, region="eu-west-1"))[1:]
            with mock.patch.object(samcli_deploy, "do_cli", record):
                result = CliRunner().invoke(cli, argv, catch_exceptions=False)
        finally:
            os.chdir(cwd)
        assert result.exit_code == 0, result.output
        assert recorded, f"sam deploy did not reach the deploy step:\n{result.output}"
        assert recorded["stack_name"] == "huawei-voice"
        assert recorded["region"] == "eu-west-1"
        assert recorded["capabilities"] == ["CAPABILITY_IAM"]
        assert recorded["template_file"] == os.path.realpath(built / "template.yaml")
        assert (recorded["parameter_overrides"] or {}) == _overrides(config, env)


def main() -> int:
    template_path = Path(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_TEMPLATE).resolve()
    template = load_template(template_path)
    checks = [
        ("retry-budget-vs-timeout", lambda: check_retry_budget_vs_timeout(template)),
        ("close-out-order", lambda: check_close_out_order(template)),
        ("reserved-concurrency-fits", lambda: check_reserved_concurrency_fits(template)),
    ]
    # The checkout's own files say nothing about another template given to infra/lint.sh.
    if template_path == DEFAULT_TEMPLATE:
        config = tomllib.loads(SAMCONFIG.read_text())
        os.environ.setdefault("SAM_CLI_TELEMETRY", "0")
        checks += [
            ("binaries-are-workspace-bins", lambda: check_binaries_are_workspace_bins(template)),
            ("log-filters-match-the-code", lambda: check_log_filters_match_the_code(template)),
            ("codeuri-is-workspace-root", lambda: check_codeuri_is_workspace_root(template, template_path)),
            ("samconfig-environments", lambda: check_samconfig_environments(config)),
            ("samconfig-overrides", lambda: check_samconfig_overrides(config, template)),
            ("samconfig-make-deploy-secondary", lambda: check_make_deploy_reads_the_config(config, "secondary")),
            ("samconfig-make-deploy-default", lambda: check_make_deploy_reads_the_config(config, "default")),
        ]
    failed = 0
    for name, check in checks:
        try:
            check()
        except Exception as error:  # noqa: BLE001 - every failure is reported, then counted
            failed += 1
            detail = str(error) if isinstance(error, AssertionError) else traceback.format_exc()
            print(f"  FAIL {name}: {detail}")
        else:
            print(f"  ok   {name}")
    print(f"checks: {len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
