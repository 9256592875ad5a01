#!/usr/bin/env bash
# Offline checks of the infrastructure (make lint, make test, CI). Nothing here calls AWS.
#   sam validate --lint   SAM transform + cfn-lint as SAM runs it
#   cfn-lint              errors AND warnings fail (see infra/policy/lint_tools.py)
#   checkov               security scan; every skip is justified in the template's Metadata
#   policy                the project's own rules, infra/policy/rules.py (pytest)
# Usage: infra/lint.sh [TEMPLATE]                  default: infra/template.yaml
#        LINT_STEPS="policy" infra/lint.sh ...     a subset of "sam cfn-lint checkov policy" (default: all)
# Each linter is one pytest test (infra/policy/test_tools.py) started in the background while the policy tests
# run, so the output ends with one pytest summary line that covers every step. The virtualenvs .venv-infra and
# .venv-checkov are created on first use and reused afterwards (infra/venv.sh).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
template=${1:-$root/infra/template.yaml}
if [ ! -f "$template" ]; then
  echo "infra/lint.sh: no such template: $template" >&2
  exit 2
fi
steps=${LINT_STEPS:-sam cfn-lint checkov policy}
venvs=(infra)
if [[ " $steps " == *" checkov "* ]]; then venvs+=(checkov); fi
"$root/infra/venv.sh" "${venvs[@]}"

export SAM_CLI_TELEMETRY=0 PYTHONDONTWRITEBYTECODE=1 LINT_STEPS="$steps"
INFRA_TEMPLATE=$(realpath "$template")
export INFRA_TEMPLATE
cd "$root"
exec .venv-infra/bin/python -m pytest -c infra/policy/pytest.ini infra/policy
