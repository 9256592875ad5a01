#!/usr/bin/env bash
# Creates or reuses the Python virtualenvs of the infrastructure tooling, at the repository root:
#   .venv-infra    from requirements-infra.txt         aws-sam-cli, cfn-lint
#   .venv-checkov  from infra/requirements-checkov.txt checkov (its pins conflict with aws-sam-cli's)
# Usage: infra/venv.sh [infra] [checkov]   (default: both)
# Idempotent and silent when up to date: a venv is rebuilt only when its stamp (a hash of its requirements file
# and of the Python version) changed. Missing venvs are installed in parallel; pip's output goes to
# .cache/venv-<name>.log and is shown only on failure.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${PYTHON:-python3}
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(infra checkov)

requirements_of() {
  case $1 in
    infra) echo "$root/requirements-infra.txt" ;;
    checkov) echo "$root/infra/requirements-checkov.txt" ;;
    *) echo "infra/venv.sh: unknown venv '$1' (infra|checkov)" >&2; return 2 ;;
  esac
}

stamp_of() {
  { "$python" -c 'import sys; print(sys.version)'; cat "$(requirements_of "$1")"; } | sha256sum | cut -d' ' -f1
}

mkdir -p "$root/.cache"
# Runs started at the same time (make lint and make build, say) wait for one installation.
exec 9>"$root/.cache/infra-venv.lock"
if command -v flock >/dev/null; then flock 9; fi

pids=()
building=()
for name in "${names[@]}"; do
  requirements=$(requirements_of "$name")
  venv="$root/.venv-$name"
  want=$(stamp_of "$name")
  if [ -f "$venv/.stamp" ] && [ "$(cat "$venv/.stamp")" = "$want" ]; then
    continue
  fi
  echo "infra/venv.sh: installing .venv-$name from ${requirements#"$root"/} (log: .cache/venv-$name.log)" >&2
  (
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$requirements"
    echo "$want" >"$venv/.stamp"
  ) >"$root/.cache/venv-$name.log" 2>&1 &
  pids+=("$!")
  building+=("$name")
done

status=0
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then
    echo "infra/venv.sh: installing .venv-${building[$i]} failed; end of its log:" >&2
    tail -n 40 "$root/.cache/venv-${building[$i]}.log" >&2
    status=1
  fi
done
exit "$status"
