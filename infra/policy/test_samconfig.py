"""infra/samconfig.toml agrees with the template, and `make deploy`'s sam command line reads it (offline: the
deploy itself is replaced by a recorder, nothing is sent to AWS)."""

from __future__ import annotations

import inspect
import os
import shlex
import shutil
import tomllib
from pathlib import Path
from unittest import mock

import pytest

from lint_tools import ROOT

SAMCONFIG = ROOT / "infra" / "samconfig.toml"
ENVS = ("default", "primary", "secondary")

# What the Makefile runs for `make deploy REGION=<region> CONFIG_ENV=<env>` (docs/deploy.md). The config file is
# given as an absolute path ($(CURDIR)/infra/samconfig.toml): sam resolves a relative --config-file against the
# folder of --template-file (.aws-sam/build/), not against the working directory.
MAKE_DEPLOY = "sam deploy --template-file .aws-sam/build/template.yaml --config-file {root}/infra/samconfig.toml --config-env {env} --region {region}"


@pytest.fixture(scope="module")
def config() -> dict:
    return tomllib.loads(SAMCONFIG.read_text())


def overrides(config: dict, env: str) -> dict[str, str]:
    text = config[env]["deploy"]["parameters"].get("parameter_overrides", "")
    return dict(item.split("=", 1) for item in shlex.split(text))


def test_every_environment_deploys_the_same_stack_with_iam_capability(config: dict) -> None:
    for env in ENVS:
        assert config[env]["global"]["parameters"]["stack_name"] == "huawei-voice", env
        deploy = config[env]["deploy"]["parameters"]
        assert deploy["capabilities"] == "CAPABILITY_IAM", env
        assert deploy["resolve_s3"] is True, env


def test_overrides_name_template_parameters(config: dict, template: dict) -> None:
    known = set(template["Parameters"])
    required = {name for name, p in template["Parameters"].items() if "Default" not in p}
    for env in ("primary", "secondary"):
        given = overrides(config, env)
        assert set(given) <= known, f"{env}: unknown parameters {set(given) - known}"
        assert required <= set(given), f"{env}: required parameters missing: {required - set(given)}"
    assert overrides(config, "primary")["RegionRole"] == "primary"
    secondary = overrides(config, "secondary")
    assert secondary["RegionRole"] == "secondary" and "PrimarySecretArn" in secondary and "PeerRegion" in secondary


@pytest.mark.parametrize("env", ["secondary", "default"])
def test_make_deploy_command_line_reads_the_config(config: dict, env: str, tmp_path: Path, monkeypatch) -> None:
    samcli_deploy = pytest.importorskip("samcli.commands.deploy.command")
    from click.testing import CliRunner
    from samcli.cli.main import cli

    built = tmp_path / ".aws-sam" / "build"
    built.mkdir(parents=True)
    shutil.copy(ROOT / "infra" / "template.yaml", built / "template.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SAM_CLI_TELEMETRY", "0")
    recorded: dict = {}
    signature = inspect.signature(samcli_deploy.do_cli)

    def record(*args, **kwargs):
        recorded.update(signature.bind(*args, **kwargs).arguments)

    argv = shlex.split(MAKE_DEPLOY.format(root=ROOT, env=env, region="eu-west-1"))[1:]
    with mock.patch.object(samcli_deploy, "do_cli", record):
        result = CliRunner().invoke(cli, argv, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert recorded, f"sam deploy did not reach the deploy step:\n{result.output}"
    assert recorded["stack_name"] == "huawei-voice"
    assert recorded["region"] == "eu-west-1"
    assert recorded["capabilities"] == ["CAPABILITY_IAM"]
    assert recorded["template_file"] == os.path.realpath(built / "template.yaml")
    assert (recorded["parameter_overrides"] or {}) == overrides(config, env)
