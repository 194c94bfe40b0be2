#!/usr/bin/env bash
# The test command: installs what the tests need into .venv, then lint, type-check and test.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
# A real Ethereum node for the anchoring tests: Anvil, from the npm registry.
[ -x .deploy/anvil/node_modules/.bin/anvil ] ||
  npm install --silent --no-audit --no-fund --prefix .deploy/anvil @foundry-rs/anvil
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
echo "== pytest on SQLite (the embedded default)"
.venv/bin/python -m pytest -q "$@"
echo "== pytest on PostgreSQL (a local cluster from deploy/postgres.sh)"
bash deploy/postgres.sh start
CREDLEDGER_TEST_STORE=postgres .venv/bin/python -m pytest -q "$@"
