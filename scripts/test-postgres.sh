#!/usr/bin/env bash
# `make test-postgres`: the whole suite against a throw-away PostgreSQL server.
set -euo pipefail
cd "$(dirname "$0")/.."
cluster=$(mktemp -d /tmp/parley-pg-test.XXXXXX)
trap 'scripts/postgres.sh stop "$cluster"' EXIT
url=$(scripts/postgres.sh start "$cluster")
echo "PostgreSQL for the tests: $url"
PARLEY_TEST_POSTGRES_URL="$url" .venv/bin/pytest -n auto "$@"
