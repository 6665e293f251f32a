#!/usr/bin/env bash
# The decision API under load (BENCHMARKS.md, "HTTP"): builds the release binary, starts
# `scopegate serve` on a fresh SQLite database with the demo organization grown by
# $TEAMS teams and projects (a team each), creates a service token, and runs wrk on
# loopback against POST /v1/check, GET /healthz and POST /v1/check/batch (100 requests a
# call), $RUNS times each, interleaved. Prints every run and the medians.
#
#   bench/http.sh                      # RUNS=3 DURATION=10s CONNS=32 THREADS=2 TEAMS=200
#   RUNS=5 DURATION=20s bench/http.sh
#
# A benchmark, not a test: the machine is shared, so quote medians and say how loaded it was.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
TEAMS=${TEAMS:-200}
PORT=${PORT:-18080}

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
cargo build --release -p scopegate >&2
BIN=target/release/scopegate

tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
DB="sqlite://$tmp/bench.db"
BASE="http://127.0.0.1:$PORT"

# The database, then the service token (the demo seeds an empty database).
"$BIN" migrate --database-url "$DB" >/dev/null
SERVICE=$("$BIN" token create --service --name bench --database-url "$DB" --format json | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
RUST_LOG=warn "$BIN" serve --database-url "$DB" --listen "127.0.0.1:$PORT" --demo >"$tmp/serve.out" 2>"$tmp/serve.err" &
pid=$!
for _ in $(seq 100); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.1; done
OWNER=$(awk '$1 == "owner" {print $3}' "$tmp/serve.out")
ALICE=$(awk '$1 == "member" && $2 ~ /^alice/ {print $3}' "$tmp/serve.out")

# Grow the world through the management API.
for i in $(seq "$TEAMS"); do
  curl -fs -o /dev/null -H "Authorization: Bearer $OWNER" -H 'Content-Type: application/json' \
    -d "{\"slug\": \"team-$i\"}" "$BASE/api/0/organizations/demo/teams/"
  curl -fs -o /dev/null -H "Authorization: Bearer $OWNER" -H 'Content-Type: application/json' \
    -d "{\"slug\": \"project-$i\", \"name\": \"Project $i\"}" "$BASE/api/0/teams/demo/team-$i/projects/"
done

CHECK="{\"principal\": {\"kind\": \"bearer\", \"token\": \"$ALICE\"}, \"endpoint\": \"ProjectDetailsEndpoint\", \"method\": \"GET\", \"organization\": \"demo\", \"project\": \"api\"}"
curl -fs -H "Authorization: Bearer $SERVICE" -d "$CHECK" "$BASE/v1/check" >"$tmp/one.json"
echo "one decision: $(cat "$tmp/one.json")" >&2
BATCH=$(python3 - "$ALICE" <<'PY'
import json, sys
alice = sys.argv[1]
reqs = []
for i in range(100):
    p = {"kind": "bearer", "token": alice} if i % 2 else {"kind": "session", "user": 1 + i % 4}
    reqs.append({"principal": p, "endpoint": "ProjectDetailsEndpoint",
                 "method": ["GET", "PUT", "DELETE"][i % 3], "organization": "demo",
                 "project": ["api", "web", f"project-{1 + i}"][i % 3]})
print(json.dumps({"requests": reqs}))
PY
)
n=$(curl -fs -H "Authorization: Bearer $SERVICE" -d "$BATCH" "$BASE/v1/check/batch" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["decisions"]))')
[ "$n" = 100 ] || { echo "batch answered $n decisions" >&2; exit 1; }

lua() { # $1: body
  python3 - "$1" "$SERVICE" <<'PY'
import json, sys
body, token = sys.argv[1], sys.argv[2]
print('wrk.method = "POST"')
print('wrk.body = ' + json.dumps(body))
print('wrk.headers["Content-Type"] = "application/json"')
print('wrk.headers["Authorization"] = "Bearer ' + token + '"')
PY
}
lua "$CHECK" >"$tmp/check.lua"
lua "$BATCH" >"$tmp/batch.lua"

run() { # $1: name, rest: wrk arguments; prints "req/s p99_ms"
  shift
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$@" >"$tmp/wrk.out"
  local rps p99
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$tmp/wrk.out")
  p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub("us","",v); v/=1000} else if (v ~ /ms$/) {sub("ms","",v)} else if (v ~ /s$/) {sub("s","",v); v*=1000}; print v}' "$tmp/wrk.out")
  if grep -q 'Non-2xx' "$tmp/wrk.out"; then echo "non-2xx answers:" >&2; cat "$tmp/wrk.out" >&2; exit 1; fi
  echo "$rps $p99"
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: >"$tmp/check" ; : >"$tmp/healthz" ; : >"$tmp/batch"
for r in $(seq "$RUNS"); do
  c=$(run check -s "$tmp/check.lua" "$BASE/v1/check"); echo "run $r  /v1/check        $c" >&2; echo "$c" >>"$tmp/check"
  h=$(run healthz "$BASE/healthz");                      echo "run $r  /healthz         $h" >&2; echo "$h" >>"$tmp/healthz"
  b=$(run batch -s "$tmp/batch.lua" "$BASE/v1/check/batch"); echo "run $r  /v1/check/batch  $b" >&2; echo "$b" >>"$tmp/batch"
done

c_rps=$(cut -d' ' -f1 "$tmp/check" | median);   c_p99=$(cut -d' ' -f2 "$tmp/check" | median)
h_rps=$(cut -d' ' -f1 "$tmp/healthz" | median); h_p99=$(cut -d' ' -f2 "$tmp/healthz" | median)
b_rps=$(cut -d' ' -f1 "$tmp/batch" | median);   b_p99=$(cut -d' ' -f2 "$tmp/batch" | median)
echo "medians of $RUNS runs (wrk -t$THREADS -c$CONNS -d$DURATION, $TEAMS extra teams and projects):"
printf '  POST /v1/check        %10.0f req/s  p99 %7.2f ms  (%.2fx /healthz)\n' "$c_rps" "$c_p99" "$(echo "$c_rps / $h_rps" | bc -l)"
printf '  GET  /healthz         %10.0f req/s  p99 %7.2f ms\n' "$h_rps" "$h_p99"
printf '  POST /v1/check/batch  %10.0f req/s  p99 %7.2f ms  = %.0f decisions/s (100 a call)\n' "$b_rps" "$b_p99" "$(echo "$b_rps * 100" | bc -l)"
