#!/usr/bin/env bash
# The decision API under a fixed-rate load (BENCHMARKS.md, "HTTP", issue 16 §4).
#
# - The world is the engine bench's: 1,000 organizations, 100,000 members, 10,000 teams,
#   20,000 projects (`scopegate-bench --dump`), imported with `scopegate world import`, and
#   served with the bench's manifest (`serve --manifest`).
# - Requests: the engine bench's 8,000 requests as /v1/check bodies (sessions and user
#   tokens of thousands of distinct users with their own scope sets, org tokens, API keys,
#   integrations, superusers, anonymous callers; hundreds of organizations and thousands of
#   projects), sent round-robin.
# - Server and client on different cores: `taskset -c $SERVER_CPU` for `scopegate serve`,
#   `taskset -c $CLIENT_CPU` for the generator.
# - The generator is `loadgen` (crates/scopegate-bench/src/bin/loadgen.rs): a fixed request
#   rate over keep-alive connections, each latency measured from the request's intended
#   start (wrk2's method: no coordinated omission).
# - Targets: POST /v1/check; POST /v1/bench/noop (the denominator: same body, same
#   service-token check, same layers, no parse and no decision; mounted only with the hidden
#   `serve --bench-noop-route`); GET /healthz. Interleaved, $RUNS times each.
# - Also the server's CPU time per request (utime + stime from /proc/PID/stat over each run
#   ÷ requests answered): the steadier figure on a shared machine.
#
# - DECISION_LOG=1: a second server on PORT+1, the same but with `--decision-log FILE`
#   (drop mode, default queue and rotation), and the target `POST /v1/check (log on)`
#   interleaved with the others: the decision log's cost (BENCHMARKS.md, issue 14 §2).
#   At a RATE above what the server sustains, `achieved/s` is each server's throughput.
#
#   bench/http.sh                          # RATE=5000 DURATION=8 RUNS=3 CONNS=32
#   DECISION_LOG=1 RATE=30000 bench/http.sh
# A benchmark, not a test: the machine is shared, so quote medians and the load (uptime).
set -euo pipefail
cd "$(dirname "$0")/.."

RATE=${RATE:-5000}
DURATION=${DURATION:-8}
RUNS=${RUNS:-3}
CONNS=${CONNS:-32}
PORT=${PORT:-18080}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}

# BIN=path/to/scopegate measures a binary built elsewhere (a before/after comparison);
# BENCH_DIR=dir takes `loadgen` and `scopegate-bench` (the client and the world dump) from dir.
if [ -z "${BENCH_DIR:-}" ]; then
  cargo build --release -p scopegate-bench >&2
  BENCH_DIR=target/release
fi
GEN=$BENCH_DIR/loadgen
DECISION_LOG=${DECISION_LOG:-}
if [ -z "${BIN:-}" ]; then
  cargo build --release -p scopegate >&2
  BIN=target/release/scopegate
fi

tmp=$(mktemp -d)
pid=
lpid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  [ -n "$lpid" ] && kill "$lpid" 2>/dev/null
  wait 2>/dev/null; rm -rf "$tmp"
}
trap cleanup EXIT
DB="sqlite://$tmp/bench.db"
BASE="http://127.0.0.1:$PORT"

"$BENCH_DIR/scopegate-bench" --dump "$tmp/w" >&2
"$BIN" migrate --database-url "$DB" >/dev/null
"$BIN" world import "$tmp/w/world.json" --database-url "$DB" >&2
SERVICE=$("$BIN" token create --service --name bench --database-url "$DB" --format json | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
RUST_LOG=warn taskset -c "$SERVER_CPU" "$BIN" serve --database-url "$DB" --listen "127.0.0.1:$PORT" \
  --manifest "$tmp/w/manifest.json" --bench-noop-route >"$tmp/serve.out" 2>"$tmp/serve.err" &
pid=$!
for _ in $(seq 600); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.1; done
curl -fs "$BASE/healthz" >/dev/null || { cat "$tmp/serve.err" >&2; exit 1; }
LPORT=$((PORT + 1))
if [ -n "$DECISION_LOG" ]; then
  # The same database, world and manifest; the decision log on (a file in $tmp).
  RUST_LOG=warn taskset -c "$SERVER_CPU" "$BIN" serve --database-url "$DB" --listen "127.0.0.1:$LPORT" \
    --manifest "$tmp/w/manifest.json" --decision-log "$tmp/decisions.jsonl" \
    >"$tmp/serve-log.out" 2>"$tmp/serve-log.err" &
  lpid=$!
  for _ in $(seq 600); do curl -fs "http://127.0.0.1:$LPORT/healthz" >/dev/null && break; sleep 0.1; done
  curl -fs "http://127.0.0.1:$LPORT/healthz" >/dev/null || { cat "$tmp/serve-log.err" >&2; exit 1; }
fi
one=$(head -1 "$tmp/w/requests.jsonl")
echo "one decision: $(curl -fs -H "Authorization: Bearer $SERVICE" -d "$one" "$BASE/v1/check")" >&2
echo "no-op: $(curl -fs -H "Authorization: Bearer $SERVICE" -d "$one" "$BASE/v1/bench/noop")" >&2
# Every body decides (200) before anything is timed.
"$GEN" --addr "127.0.0.1:$PORT" --path /v1/check --bodies "$tmp/w/requests.jsonl" --token "$SERVICE" \
  --rate 2000 --duration 4 --warmup 0 --conns 4 >"$tmp/check-all.json" \
  || { echo "a /v1/check body was not answered 200:" >&2; cat "$tmp/check-all.json" >&2; exit 1; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tick=$(getconf CLK_TCK)
run() { # $1: name, rest: loadgen arguments; prints the loadgen line plus server CPU per request
  local name=$1; shift
  local before after line port=$PORT target=$pid
  if [ "$name" = check_log ]; then port=$LPORT; target=$lpid; fi
  before=$(cpu_ticks "$target")
  line=$(taskset -c "$CLIENT_CPU" "$GEN" --addr "127.0.0.1:$port" --token "$SERVICE" --rate "$RATE" \
    --duration "$DURATION" --warmup 1 --conns "$CONNS" "$@")
  after=$(cpu_ticks "$target")
  python3 - "$line" "$before" "$after" "$tick" "$name" <<'PY'
import json, sys
d = json.loads(sys.argv[1]); before, after, tick = map(int, sys.argv[2:5])
d["name"] = sys.argv[5]
d["server_cpu_ms"] = (after - before) * 1000 / tick
print(json.dumps(d))
PY
}

: >"$tmp/results"
uptime >&2
for r in $(seq "$RUNS"); do
  run check --path /v1/check --bodies "$tmp/w/requests.jsonl" >>"$tmp/results"
  if [ -n "$DECISION_LOG" ]; then
    run check_log --path /v1/check --bodies "$tmp/w/requests.jsonl" >>"$tmp/results"
  fi
  run noop --path /v1/bench/noop --bodies "$tmp/w/requests.jsonl" >>"$tmp/results"
  run healthz --path /healthz >>"$tmp/results"
  tail -n "$([ -n "$DECISION_LOG" ] && echo 4 || echo 3)" "$tmp/results" >&2
done
uptime >&2
if [ -n "$DECISION_LOG" ]; then
  echo "decision log: $(wc -l <"$tmp/decisions.jsonl") lines, $(du -h "$tmp/decisions.jsonl" | cut -f1); drops: $(curl -fs "http://127.0.0.1:$LPORT/metrics" | grep '^scopegate_decision_log_drops_total' | tr '\n' ' ')" >&2
fi

python3 - "$tmp/results" "$RATE" "$DURATION" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rate, duration = float(sys.argv[2]), float(sys.argv[3])
by = {}
for r in rows:
    by.setdefault(r["name"], []).append(r)
print(f"fixed rate {rate:.0f} req/s, {duration:.0f} s measured per run (+1 s warm-up), medians of {len(by['check'])} runs")
print(f"{'target':22} {'achieved/s':>10} {'p50 µs':>8} {'p90 µs':>8} {'p99 µs':>8} {'p99.9 µs':>9} {'max µs':>8} {'server CPU µs/req':>18} {'non-200':>7}")
med = lambda rs, k: statistics.median(r[k] for r in rs)
cpu = {}
for name, label in [("check", "POST /v1/check"), ("check_log", "POST /v1/check (log on)"), ("noop", "POST /v1/bench/noop"), ("healthz", "GET /healthz")]:
    rs = by.get(name)
    if not rs:
        continue
    # Requests sent during the run (warm-up second included) = rate x (duration + 1).
    per = statistics.median(r["server_cpu_ms"] * 1000 / (rate * (duration + 1)) for r in rs)
    cpu[name] = per
    print(f"{label:22} {med(rs,'achieved_rate'):10.0f} {med(rs,'p50_us'):8.0f} {med(rs,'p90_us'):8.0f} {med(rs,'p99_us'):8.0f} {med(rs,'p999_us'):9.0f} {med(rs,'max_us'):8.0f} {per:18.1f} {sum(r['non_200'] + r['errors'] for r in rs):7d}")
if "check_log" in cpu:
    t_off, t_on = med(by["check"], "achieved_rate"), med(by["check_log"], "achieved_rate")
    print(f"decision log on / off: server CPU per /v1/check {cpu['check_log'] / cpu['check']:.3f}x "
          f"({cpu['check_log'] - cpu['check']:+.1f} µs); achieved throughput {t_on / t_off:.3f}x ({t_on:.0f} vs {t_off:.0f} req/s)")
print(f"decision (parse + decide + render) = check - noop: {cpu['check'] - cpu['noop']:.1f} µs of server CPU per request; "
      f"check / noop CPU {cpu['check'] / cpu['noop']:.2f}x, check / healthz CPU {cpu['check'] / cpu['healthz']:.2f}x")
PY
