#!/usr/bin/env bash
# make bench, section 4: the release arm64 package of each function, built as `sam build` builds it
# (`cargo lambda build --release --arm64`, the release profile of Cargo.toml) and zipped as `sam package` zips
# it. With BENCH_SIZE_STEPS=1 the same build is repeated for each profile step tried (opt-level "s", "z", fat
# LTO), each in its own target directory — a full arm64 release build each (10–25 min on 2 cores).
# Writes target/bench/sizes.tsv: step, function, bootstrap bytes, zip bytes, build seconds.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export PATH="$root/.venv/bin:$PATH"

functions=(status-callback fee-callback sms-callback trigger-verification-call get-call-outcome check-verification)
out=target/bench/sizes.tsv
mkdir -p target/bench
rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || rustup target add aarch64-unknown-linux-gnu

# build <step> <target dir> [VAR=value ...]: builds the five functions, appends one line per function.
build() {
  local step=$1 dir=$2
  shift 2
  local bins=() started
  for f in "${functions[@]}"; do bins+=(--bin "$f"); done
  started=$(date +%s)
  echo "bench-sizes: $step (cargo lambda build --release --arm64, target dir $dir${*:+, $*})" >&2
  # CARGO_TARGET_DIR, not --target-dir: cargo-lambda passes that flag on to `cargo metadata`, which refuses it.
  env CARGO_TARGET_DIR="$dir" "$@" cargo lambda build --release --arm64 --lambda-dir "$dir/lambda" "${bins[@]}" >&2
  local seconds=$(($(date +%s) - started))
  for f in "${functions[@]}"; do
    python3 - "$step" "$f" "$dir/lambda/$f/bootstrap" "$seconds" <<'PY' >>"$out.partial"
import io, os, sys, zipfile
step, function, bootstrap, seconds = sys.argv[1:]
# As sam package does: a deflated zip of the function's folder (here: just `bootstrap`, executable).
buffer = io.BytesIO()
with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
    info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(bootstrap, "rb") as binary:
        archive.writestr(info, binary.read(), compresslevel=9)
print(f"{step}\t{function}\t{os.path.getsize(bootstrap)}\t{len(buffer.getvalue())}\t{seconds}")
PY
  done
}

rm -f "$out.partial"
build "as configured" target
if [ "${BENCH_SIZE_STEPS:-0}" = 1 ]; then
  build 'opt-level "s"' target/bench-size/opt-s CARGO_PROFILE_RELEASE_OPT_LEVEL=s
  build 'opt-level "z"' target/bench-size/opt-z CARGO_PROFILE_RELEASE_OPT_LEVEL=z
  build 'fat LTO' target/bench-size/lto-fat CARGO_PROFILE_RELEASE_LTO=fat
fi
mv "$out.partial" "$out"
column -t -s $'\t' "$out" >&2
