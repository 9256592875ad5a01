#!/usr/bin/env bash
# make build: `sam build` of the seven functions (cargo-lambda, arm64, release) into .aws-sam/build, then the size
# of each artifact. Needs no Docker and no AWS account; the first build takes a few minutes (release + LTO).
#   .venv          the project venv with cargo-lambda (and zig), created here if missing
#   .venv-infra    aws-sam-cli (infra/venv.sh)
# Afterwards: make deploy REGION=... (docs/operations.md, "First deploy: one region, guided").
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

if [ ! -x .venv/bin/cargo-lambda ]; then
  echo "infra/build.sh: installing cargo-lambda into .venv" >&2
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check cargo-lambda==1.9.2
fi
rustup target add aarch64-unknown-linux-gnu
"$root/infra/venv.sh" infra

# sam finds cargo (rustup) and cargo-lambda (+ zig) on PATH; BuildMethod rust-cargolambda runs
# `cargo lambda build --release --arm64 --bin <Binary>` in CodeUri (the workspace root) for each function.
export PATH="$root/.venv/bin:$PATH" SAM_CLI_TELEMETRY=0
.venv-infra/bin/sam build --template-file infra/template.yaml --build-dir .aws-sam/build

echo
printf '%-36s %12s %12s  %s\n' function "bootstrap B" "zip B" "file"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for bootstrap in .aws-sam/build/*/bootstrap; do
  function_dir=$(dirname "$bootstrap")
  name=$(basename "$function_dir")
  # The deployment package as sam package uploads it: a zip of the function's build folder.
  (cd "$function_dir" && zip -q -r -9 -X "$scratch/$name.zip" .)
  printf '%-36s %12s %12s  %s\n' "$name" "$(stat -c %s "$bootstrap")" "$(stat -c %s "$scratch/$name.zip")" \
    "$(file -b "$bootstrap")"
done
