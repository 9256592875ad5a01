#!/usr/bin/env bash
# The one launcher of AWS's DynamoDB Local (the jar `make setup` unpacks into .cache/dynamodb-local), used by
# `make run`, `make test-api` and the Rust test harness. Runs in the foreground (exec: the caller's pid is the
# JVM's, so stopping it stops DynamoDB Local).
#   scripts/dynamodb-local.sh PORT            in memory
#   scripts/dynamodb-local.sh PORT DB_DIR     on disk in DB_DIR (survives a restart)
# DYNAMODB_LOCAL_DIR overrides the folder that holds DynamoDBLocal.jar.
set -euo pipefail
port=${1:?usage: scripts/dynamodb-local.sh PORT [DB_DIR]}
db_dir=${2:-}
root=$(cd "$(dirname "$0")/.." && pwd)
jar_dir=${DYNAMODB_LOCAL_DIR:-}
if [ -z "$jar_dir" ]; then
  jar=$(ls "$root"/.cache/dynamodb-local/package/lib/*/DynamoDBLocal.jar 2>/dev/null | head -1 || true)
  [ -n "$jar" ] || { echo "DynamoDB Local is not installed: run make setup" >&2; exit 1; }
  jar_dir=$(dirname "$jar")
fi
storage=(-inMemory)
if [ -n "$db_dir" ]; then
  mkdir -p "$db_dir"
  storage=(-dbPath "$(cd "$db_dir" && pwd)")
fi
cd "$jar_dir"
# Tiered level 1 and the serial GC: fastest start-up on 2 cores, and enough for loopback tests.
exec java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m -Djava.library.path=./DynamoDBLocal_lib \
  -jar DynamoDBLocal.jar -sharedDb -disableTelemetry -port "$port" "${storage[@]}"
