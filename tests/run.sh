#!/usr/bin/env bash
# The test command: installs what the tests need into .venv, then lint, type-check and test.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
# OpenSSL's headers for the package's one C part (RDFC-1.0 for the ledger's documents), whose
# build is optional for users but tested here: Debian's libssl-dev when missing.
if [ ! -f /usr/include/openssl/evp.h ]; then
  as_root=""
  [ "$(id -u)" = 0 ] || as_root="sudo"
  $as_root apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq libssl-dev >&2
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
# A real Ethereum node for the anchoring tests: Anvil, from the npm registry.
[ -x .deploy/anvil/node_modules/.bin/anvil ] ||
  npm install --silent --no-audit --no-fund --prefix .deploy/anvil @foundry-rs/anvil
# The Blockcerts reference verifier, for the interoperability tests: its Node bundle needs no
# install (a plain `npm install` of it fails on git dependencies), so the package is unpacked.
if [ ! -f .deploy/cert-verifier-js/package/dist/verifier-node/index.js ]; then
  mkdir -p .deploy/cert-verifier-js
  (cd .deploy/cert-verifier-js &&
    npm pack --silent @blockcerts/cert-verifier-js@6.35.0 >/dev/null &&
    tar xzf blockcerts-cert-verifier-js-6.35.0.tgz)
fi
# axe-core checks the public pages against WCAG 2.1 A/AA rules in the browser tests.
[ -f .deploy/axe/node_modules/axe-core/axe.min.js ] ||
  npm install --silent --no-audit --no-fund --prefix .deploy/axe axe-core@4
# The OpenWallet Foundation's SD-JWT libraries act as the learner's wallet in the interop tests
# (0.19.0: 0.20.0 of @sd-jwt/sd-jwt-vc needs an alpha dependency the registry does not serve).
[ -d .deploy/sd-jwt/node_modules/@sd-jwt/jwt-status-list ] ||
  npm install --silent --no-audit --no-fund --prefix .deploy/sd-jwt @sd-jwt/sd-jwt-vc@0.19.0 \
    @sd-jwt/crypto-nodejs@0.19.0 @sd-jwt/jwt-status-list@0.19.0 @sd-jwt/core@0.19.0
# EU DSS (Java) validates the EDC seals: a small program under tests/interop/dss, built with
# Maven once (its jars from Maven Central, kept in .deploy/m2 with the build in .deploy/dss).
if [ ! -f .deploy/dss/classes/dev/credledger/dss/ValidateSeals.class ]; then
  mvn -q -B -f tests/interop/dss/pom.xml -Dmaven.repo.local="$PWD/.deploy/m2" \
    -DbuildDirectory="$PWD/.deploy/dss" compile dependency:copy-dependencies \
    -DoutputDirectory="$PWD/.deploy/dss/lib" -DincludeScope=runtime >&2
fi
# Go's sumdb code (golang.org/x/mod) reads the log's tiles in the interop tests: a small client
# under tests/interop/tlog, built each run (modules and build cache kept in .deploy/go).
(cd tests/interop/tlog && GOMODCACHE="$PWD/../../../.deploy/go/mod" \
  GOCACHE="$PWD/../../../.deploy/go/cache" GOFLAGS=-modcacherw \
  go build -o ../../../.deploy/tlog/tlogclient .) >&2
# The transparency-dev reference witness (omniwitness) cosigns the log's checkpoints in the
# interop tests: a pinned version from the Go module proxy, built once into .deploy/go/bin.
[ -x .deploy/go/bin/omniwitness ] ||
  GOMODCACHE="$PWD/.deploy/go/mod" GOCACHE="$PWD/.deploy/go/cache" GOFLAGS=-modcacherw \
    GOBIN="$PWD/.deploy/go/bin" go install \
    github.com/transparency-dev/witness/cmd/omniwitness@v0.0.0-20260720115447-2e1c6971d19e >&2
# Debian's Prometheus and promtool for the operations tests, unpacked into .deploy/prometheus.
bash deploy/prometheus.sh install >&2
# Debian's Chromium for the browser tests of the public pages (driven by Playwright's library).
if ! command -v chromium >/dev/null; then
  as_root=""
  [ "$(id -u)" = 0 ] || as_root="sudo"
  $as_root apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq chromium chromium-driver >&2
fi
# The Kafka and scale-out tests run a broker and an Anvil node from deploy/; stop them at the end.
trap 'bash deploy/prometheus.sh stop >/dev/null 2>&1 || true; bash deploy/kafka.sh stop >/dev/null 2>&1 || true; bash deploy/anvil.sh stop >/dev/null 2>&1 || true; bash deploy/postgres.sh stop >/dev/null 2>&1 || true' EXIT
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
# The two passes run side by side (two cores; much of each is waiting on nodes and brokers),
# each in a temporary directory of its own, their lines marked with the pass they come from.
echo "== pytest on SQLite (the embedded default) and on PostgreSQL with Kafka and Anvil for the"
echo "   scale-out tests (all from deploy/), side by side"
bash deploy/postgres.sh start
bash deploy/kafka.sh start
bash deploy/anvil.sh start
basetemp=$(mktemp -d)
pass() {
  local store=$1
  shift
  # The slowest tests are listed at the end: the run has a time limit (40 minutes).
  CREDLEDGER_TEST_STORE=$store .venv/bin/python -m pytest -q -p no:cacheprovider \
    --durations=15 --basetemp "$basetemp/$store" "$@" 2>&1 | sed -u "s/^/[$store] /" |
    tee "$basetemp/$store.out"
}
# CI keeps only the end of what a run prints, where the later pass would hide the other's
# failures: so the end repeats, for a pass that failed, its failures' headings and error lines
# and its summary.
recap() {
  local store=$1
  echo "== what failed in the $store pass"
  grep -E "^\[$store\] (_{3,} |E  )" "$basetemp/$store.out" | head -n 60 || true
  sed -n "/^\[$store\] =* short test summary info/,\$p" "$basetemp/$store.out"
}
pass sqlite "$@" &
sqlite=$!
pass postgres "$@" &
postgres=$!
failed=0
wait "$sqlite" || { failed=1; recap_sqlite=1; }
wait "$postgres" || { failed=1; recap_postgres=1; }
[ -z "${recap_sqlite:-}" ] || recap sqlite
[ -z "${recap_postgres:-}" ] || recap postgres
rm -rf "$basetemp"
exit "$failed"
