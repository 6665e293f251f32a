#!/usr/bin/env bash
# The write path at scale (BENCHMARKS.md, "Write path (issue 13)").
#
# For each world size (SIZES, "ORGS:MEMBERS" pairs; default 1,000 / 100,000 and
# 10,000 / 1,000,000) and each backend (BACKENDS: sqlite, postgres):
# - generates the engine bench's world at that size (`scopegate-bench --dump DIR --orgs N
#   --members M --writers CLIENTS`: one pending owner invite added to each of CLIENTS
#   organizations spread over the size ranking, the first being the largest; writers.json);
# - imports it with `scopegate world import` into a fresh SQLite file or a fresh PostgreSQL
#   database (timed); creates one user per writer (`scopegate user create` with the invite's
#   email), a service token (`scopegate token create --service`), and turns the replay
#   feature on in the writers' organizations (`scopegate org features`);
# - starts `scopegate serve` (release build; `taskset -c $SERVER_CPU`, the client on
#   $CLIENT_CPU) and times it until `/readyz` is 200 (the decision index built at start);
# - accepts every writer's invite through the API (each a timed write), then measures with
#   `writeload` (crates/scopegate-bench/src/bin/writeload/):
#   * single-organization writes, one at a time, round-robin over rename, invite, team
#     create, org auth token create and a granular PUT of 10 members on organization details,
#     in the largest organization and in the middle one of the size ranking: p50/p90/p99;
#   * CLIENTS clients writing to CLIENTS different organizations at once (closed loop, the
#     same five kinds): writes/s, p50/p99, 5xx; with a fixed-rate /v1/check load of
#     CHECK_RATE/s (the engine bench's requests) first alone, then during the writes: p99;
#   * PostgreSQL: a second `scopegate serve` on the same database; a granular PUT on the
#     first, then the decision it changes on the second: with revisions, one
#     `at_least_revision` check (timed); without, polled until the second server's decision
#     changes;
#   * the server's RSS (VmRSS, VmHWM) at the end.
# A write slower than MAX_MS ends the single-write rounds (kinds after it have fewer samples); when the largest organization's
# invite acceptance took longer than CONCURRENT_MAX_MS, the concurrent load is skipped (32
# clients queued behind multi-second writes would run for many minutes) and said so.
#
#   bench/writes.sh                                    # both sizes, both backends
#   QUICK=1 bench/writes.sh                            # < 3 min: 100k only, short runs
#   SIZES=10000:1000000 BACKENDS=postgres bench/writes.sh
#   SAMPLES=2 WARMUP=0 SIZES=10000:1000000 bench/writes.sh   # when a write takes seconds
# Parameters (environment): SIZES BACKENDS SAMPLES (20 rounds of the five kinds) WARMUP (1
# round) MAX_MS CONCURRENT_MAX_MS CLIENTS (32) DURATION (10 s) CHECK_RATE (200/s)
# CHECK_BASELINE (3 s) REPLICA_SAMPLES (20) PG PGDB (sg_bench_writes: two runs at once need two)
# PORT SERVER_CPU CLIENT_CPU WORK OUT BIN.
# A benchmark, not a test: quote the load (uptime) with the figures. Results: one JSON line
# per measurement in $OUT (default target/bench-writes/results-TIME.jsonl) and a table.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${QUICK:-}" ]; then
  : "${SIZES:=1000:100000}" "${SAMPLES:=8}" "${DURATION:=5}" "${REPLICA_SAMPLES:=8}" "${CHECK_BASELINE:=2}"
fi
SIZES=${SIZES:-1000:100000 10000:1000000}
BACKENDS=${BACKENDS:-sqlite postgres}
SAMPLES=${SAMPLES:-20}
WARMUP=${WARMUP:-1}
MAX_MS=${MAX_MS:-15000}
CONCURRENT_MAX_MS=${CONCURRENT_MAX_MS:-2000}
CLIENTS=${CLIENTS:-32}
DURATION=${DURATION:-10}
CHECK_RATE=${CHECK_RATE:-200}
CHECK_BASELINE=${CHECK_BASELINE:-3}
REPLICA_SAMPLES=${REPLICA_SAMPLES:-20}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-18180}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
WORK=${WORK:-target/bench-writes}
OUT=${OUT:-$WORK/results-$(date -u +%Y%m%dT%H%M%S).jsonl}
REPLAY=organizations:granular-replay-permissions
ENDPOINT=sentry.replays.endpoints.organization_replay_index.OrganizationReplayIndexEndpoint

# BIN=path/to/scopegate measures a binary built elsewhere (a before/after comparison).
if [ -z "${NO_BUILD:-}" ]; then
  cargo build --release -p scopegate -p scopegate-bench >&2
fi
BIN=${BIN:-target/release/scopegate}
GEN=target/release/scopegate-bench
LOAD="taskset -c $CLIENT_CPU target/release/writeload"
mkdir -p "$WORK"
: >"$OUT"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

note() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
now_ms() { date +%s%3N; }
# record KEY=VALUE... JSON: appends the JSON object (a tool's line) with the run's context.
record() {
  local json=$1; shift
  python3 - "$json" "$@" >>"$OUT" <<'PY'
import json, sys
d = json.loads(sys.argv[1]) if sys.argv[1].startswith("{") else {"value": sys.argv[1]}
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    try: d[k] = json.loads(v)
    except ValueError: d[k] = v
print(json.dumps(d))
PY
}
# rss PID: `rss_mb=N peak_mb=N` (VmRSS and VmHWM), for record.
rss() { awk '/^VmRSS/ {r = $2} /^VmHWM/ {h = $2} END {printf "rss_mb=%d peak_mb=%d", r / 1024, h / 1024}' "/proc/$1/status"; }

# cpu_ms PID: the process's user + system CPU time so far, in ms (load-independent, unlike
# the wall clock on a shared machine).
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{printf "%d", ($14 + $15) * 1000 / hz}' "/proc/$1/stat"; }

# serve URL PORT: starts a server, waits for /readyz; sets $spid, $ready_ms and $ready_cpu_ms.
serve() {
  local start
  start=$(now_ms)
  RUST_LOG=warn taskset -c "$SERVER_CPU" "$BIN" serve --database-url "$1" --listen "127.0.0.1:$2" \
    --manifest "$dir/manifest.json" >"$WORK/serve-$2.out" 2>"$WORK/serve-$2.err" &
  spid=$!
  pids+=("$spid")
  for _ in $(seq 6000); do
    curl -fs "http://127.0.0.1:$2/readyz" >/dev/null 2>&1 && break
    kill -0 "$spid" 2>/dev/null || { cat "$WORK/serve-$2.err" >&2; return 1; }
    sleep 0.05
  done
  curl -fs "http://127.0.0.1:$2/readyz" >/dev/null || { cat "$WORK/serve-$2.err" >&2; return 1; }
  ready_ms=$(($(now_ms) - start))
  ready_cpu_ms=$(cpu_ms "$spid")
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

uptime >&2
record "{}" event=start "uptime=\"$(uptime | sed 's/.*load average: //')\"" "commit=\"$(git rev-parse --short HEAD)\""
for size in $SIZES; do
  orgs=${size%%:*}; members=${size##*:}
  dir="$WORK/world-$orgs-$members-w$CLIENTS"
  if [ ! -s "$dir/writers.json" ]; then
    note "generating $orgs organizations / $members members"
    "$GEN" --dump "$dir" --orgs "$orgs" --members "$members" --writers "$CLIENTS" >&2
  fi
  nwriters=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "$dir/writers.json")
  mid=$((nwriters / 2))
  for backend in $BACKENDS; do
    ctx=("size=\"$orgs/$members\"" "backend=\"$backend\"")
    case $backend in
      sqlite) rm -f "$WORK"/bench.db*; DB="sqlite://$WORK/bench.db" ;;
      postgres)
        db="${PGDB:-sg_bench_writes}"
        psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >&2
        DB="$PG/$db" ;;
      *) echo "unknown backend $backend" >&2; exit 2 ;;
    esac
    "$BIN" migrate --database-url "$DB" >/dev/null
    note "$backend: importing $orgs/$members"
    t=$(now_ms)
    "$BIN" world import "$dir/world.json" --database-url "$DB" --format json >/dev/null
    record "{}" "${ctx[@]}" phase=import "ms=$(($(now_ms) - t))"
    : >"$WORK/tokens.txt"
    python3 -c "import json,sys; [print(w['email'], w['slug']) for w in json.load(open(sys.argv[1]))]" \
      "$dir/writers.json" | while read -r email slug; do
      "$BIN" user create "$email" --database-url "$DB" --format json \
        | python3 -c "import json,sys; print(json.load(sys.stdin)['token'])" >>"$WORK/tokens.txt"
      "$BIN" org features "$slug" --enable "$REPLAY" --database-url "$DB" >/dev/null
    done
    SERVICE=$("$BIN" token create --service --name bench --database-url "$DB" --format json \
      | python3 -c "import json,sys; print(json.load(sys.stdin)['token'])")

    note "$backend: starting the server"
    serve "$DB" "$PORT"
    main_pid=$spid
    record "{}" "${ctx[@]}" phase=start "ready_ms=$ready_ms" "ready_cpu_ms=$ready_cpu_ms" $(rss "$main_pid")
    note "$backend: ready in $ready_ms ms ($ready_cpu_ms ms of CPU); $(rss "$main_pid")"

    # Accept the invites (writes); the largest organization's first.
    accept() { # index → prints ms
      local email slug member token t code
      read -r slug member < <(python3 -c "import json,sys; w=json.load(open(sys.argv[1]))[int(sys.argv[2])]; print(w['slug'], w['member'])" "$dir/writers.json" "$1")
      token=$(sed -n "$(($1 + 1))p" "$WORK/tokens.txt")
      t=$(now_ms)
      code=$(curl -s -o "$WORK/accept.out" -w '%{http_code}' -X POST -H "Authorization: Bearer $token" \
        "http://127.0.0.1:$PORT/api/0/accept-invite/$slug/$member/")
      [ "$code" = 200 ] || { echo "accept $slug/$member: $code $(cat "$WORK/accept.out")" >&2; return 1; }
      echo $(($(now_ms) - t))
    }
    first=$(accept 0)
    record "{}" "${ctx[@]}" phase=accept writer=0 "ms=$first"
    concurrent=1
    if [ "$first" -gt "$CONCURRENT_MAX_MS" ]; then
      concurrent=
      note "$backend: one write took $first ms: accepting only the middle writer, no concurrent load"
      record "{}" "${ctx[@]}" phase=concurrent "skipped=\"an invite acceptance took $first ms > CONCURRENT_MAX_MS=$CONCURRENT_MAX_MS\""
      record "{}" "${ctx[@]}" phase=accept writer=$mid "ms=$(accept "$mid")"
    else
      for i in $(seq 1 $((nwriters - 1))); do
        record "{}" "${ctx[@]}" phase=accept writer=$i "ms=$(accept "$i")"
      done
    fi

    for w in 0 "$mid"; do
      note "$backend: single-organization writes, writer $w"
      $LOAD single --addr "127.0.0.1:$PORT" --writers "$dir/writers.json" --tokens "$WORK/tokens.txt" \
        --writer "$w" --samples "$SAMPLES" --warmup "$WARMUP" --max-ms "$MAX_MS" >"$WORK/single.out" || true
      while read -r line; do record "$line" "${ctx[@]}" phase=single; done <"$WORK/single.out"
    done
    if [ -n "$concurrent" ]; then
      note "$backend: $CLIENTS clients on $CLIENTS organizations for $DURATION s, /v1/check at $CHECK_RATE/s"
      line=$($LOAD concurrent --addr "127.0.0.1:$PORT" --writers "$dir/writers.json" --tokens "$WORK/tokens.txt" \
        --clients "$CLIENTS" --duration "$DURATION" --check-bodies "$dir/requests.jsonl" \
        --service-token "$SERVICE" --check-rate "$CHECK_RATE" --check-baseline "$CHECK_BASELINE") || true
      record "$line" "${ctx[@]}" phase=concurrent
    fi
    if [ "$backend" = postgres ]; then
      note "postgres: a second server on the same database"
      serve "$DB" $((PORT + 1))
      second=$spid
      record "{}" "${ctx[@]}" phase=start-second "ready_ms=$ready_ms"
      line=$($LOAD replica --addr "127.0.0.1:$PORT" --read-addr "127.0.0.1:$((PORT + 1))" \
        --writers "$dir/writers.json" --tokens "$WORK/tokens.txt" --service-token "$SERVICE" \
        --endpoint "$ENDPOINT" --samples "$REPLICA_SAMPLES") || true
      record "$line" "${ctx[@]}" phase=replica
      stop "$second"
    fi
    record "{}" "${ctx[@]}" phase=end $(rss "$main_pid")
    stop "$main_pid"
    uptime >&2
  done
done
record "{}" event=end "uptime=\"$(uptime | sed 's/.*load average: //')\""
python3 bench/writes_table.py "$OUT"
