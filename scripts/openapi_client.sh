#!/usr/bin/env bash
# The OpenAPI document is enough to call the decision API: generates a Python client with
# openapi-python-client (from PyPI) from /api/openapi.json of a fresh `scopegate serve
# --demo`, and calls /v1/check through it with a service token (scripts/openapi_client.py);
# then reads /metrics from the --metrics-listen listener with Python prometheus_client's
# strict OpenMetrics parser.
#
# Needs python3; installs into a virtualenv under target/ on first use. Bounded: each step
# has a timeout.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${OPENAPI_CLIENT_VENV:-target/openapi-client-venv}"
if [ ! -x "$venv/bin/openapi-python-client" ] || ! "$venv/bin/python" -c 'import prometheus_client' 2>/dev/null; then
  python3 -m venv "$venv"
  timeout 600 "$venv/bin/pip" install --quiet openapi-python-client prometheus_client
fi

cargo build --quiet --locked -p scopegate
work="$(mktemp -d)"
out="$work/serve.out"
db="sqlite://$work/client.db"
./target/debug/scopegate serve --demo --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 \
  --database-url "$db" >"$out" 2>"$work/serve.err" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do grep -q '^metrics on ' "$out" && break; sleep 0.1; done
base="$(awk '/^listening on /{print $3}' "$out")"
metrics="$(awk '/^metrics on /{print $3}' "$out")"
owner="$(awk '$1 == "owner" {print $3; exit}' "$out")"
member="$(awk '$1 == "member" {print $3; exit}' "$out")"
[ -n "$base" ] && [ -n "$owner" ] && [ -n "$member" ] && [ -n "$metrics" ] \
  || { echo "the server did not start"; cat "$work/serve.err"; exit 2; }
service="$(./target/debug/scopegate token create --service --name openapi-client \
  --database-url "$db" | awk '/shown once/{print $NF}')"

(cd "$work" && timeout 300 "$OLDPWD/$venv/bin/openapi-python-client" generate \
  --url "$base/api/openapi.json" --meta none --output-path "$work/scopegate_client")
timeout 120 "$venv/bin/python" scripts/openapi_client.py "$work" "$base" "$service" "$owner" \
  "$member" "$metrics"
