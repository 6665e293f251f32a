#!/usr/bin/env bash
# Property-based API tests: schemathesis (from PyPI) against /api/openapi.json of a fresh
# `scopegate serve --demo` on a temporary SQLite database, authenticated as the demo owner.
# Fails on any 5xx and on any response the document does not describe. Deleting the demo
# organization and the owner's own token are left out: either ends every later test in 404/401.
#
#   scripts/schemathesis.sh [MAX_EXAMPLES]    # test cases per operation, default 50
#
# The seed is fixed (SCHEMATHESIS_SEED, default 1) so that a run is reproducible.
#
# Needs python3; installs schemathesis into a virtualenv under target/ on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
max_examples="${1:-50}"

venv="${SCHEMATHESIS_VENV:-target/schemathesis-venv}"
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet schemathesis
fi

cargo build --quiet -p scopegate
work="$(mktemp -d)"
out="$work/serve.out"
./target/debug/scopegate serve --demo --listen 127.0.0.1:0 \
  --database-url "sqlite://$work/st.db" >"$out" 2>"$work/serve.err" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do grep -q '^listening on ' "$out" && break; sleep 0.1; done
base="$(awk '/^listening on /{print $3}' "$out")"
owner="$(awk '$1 == "owner" {print $3; exit}' "$out")"
[ -n "$base" ] && [ -n "$owner" ] || { echo "the server did not start"; cat "$work/serve.err"; exit 2; }

"$venv/bin/schemathesis" --config-file scripts/schemathesis.toml run "$base/api/openapi.json" \
  --header "Authorization: Bearer $owner" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --phases examples,coverage,fuzzing \
  --max-examples "$max_examples" \
  --seed "${SCHEMATHESIS_SEED:-1}" \
  --workers 1 \
  --exclude-operation-id ApiTokenDetailsEndpoint.delete \
  --exclude-operation-id OrganizationDetailsEndpoint.delete
