#!/usr/bin/env bash
# The example app under load (BENCHMARKS.md, "Tower layer"): builds the release example,
# starts it twice on fresh SQLite databases — protected by scopegate-tower, and
# `--unprotected` (the same routes, no layer) — and runs wrk on loopback against the same
# route with the same token, $RUNS times each, interleaved. Prints every run and the medians.
#
#   bench/tower.sh                      # RUNS=3 DURATION=5s CONNS=32 THREADS=2
#   bench/tower.sh count [N]            # instructions per request in-process (callgrind)
#
# A benchmark, not a test: the machine is shared, so quote medians and say how loaded it was.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = count ]; then
  # bench/tower.sh count [N]: instructions per request in-process (load-independent), from
  # callgrind over benches/layer_count.rs: each mode run with N requests and with 0, the
  # difference divided by N.
  N=${2:-20000}
  command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install -y valgrind" >&2; exit 2; }
  BIN=$(cargo bench -p scopegate-tower --bench layer_count --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*layer_count[^"]*\)".*/\1/p' | tail -1)
  [ -x "$BIN" ] || { echo "no layer_count binary" >&2; exit 2; }
  count() { # mode n → instructions (Ir) of the whole run
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" "$1" "$2" 2>&1 |
      awk '/Collected :/ {print $4}'
  }
  declare -A per
  for mode in bare layered decision; do
    base=$(count "$mode" 0); total=$(count "$mode" "$N")
    per[$mode]=$(( (total - base) / N ))
    echo "$mode: ${per[$mode]} instructions per request ($total - $base over $N)"
  done
  echo "layer alone = layered - bare - decision: $(( per[layered] - per[bare] - per[decision] )) instructions per request"
  exit 0
fi

RUNS=${RUNS:-3}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
PORT=${PORT:-18090}
PATH_UNDER_TEST=${PATH_UNDER_TEST:-/api/0/projects/acme/api/replays/}

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
cargo build --release -p scopegate-example-tower >&2
BIN=target/release/scopegate-example-tower

tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

start() { # name port [--unprotected]
  RUST_LOG=warn "$BIN" --db "sqlite://$tmp/$1.db" --listen "127.0.0.1:$2" "${@:3}" >"$tmp/$1.out" 2>"$tmp/$1.err" &
  pids+=($!)
  for _ in $(seq 100); do grep -q '^listening' "$tmp/$1.out" 2>/dev/null && break; sleep 0.1; done
}
start protected "$PORT"
start bare "$((PORT + 1))" --unprotected
TOKEN=$(awk '$2 == "user=12" {sub("secret=", "", $3); print $3}' "$tmp/protected.out")
BARE_TOKEN=$(awk '$2 == "user=12" {sub("secret=", "", $3); print $3}' "$tmp/bare.out")
for p in "$PORT" "$((PORT + 1))"; do
  t=$TOKEN; [ "$p" != "$PORT" ] && t=$BARE_TOKEN
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $t" "http://127.0.0.1:$p$PATH_UNDER_TEST")
  [ "$code" = 200 ] || { echo "setup: port $p answered $code" >&2; exit 1; }
done

run() { # port token
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -H "Authorization: Bearer $2" \
    "http://127.0.0.1:$1$PATH_UNDER_TEST" |
    awk '/Requests\/sec/ {rps=$2} / 99%/ {p99=$2} END {print rps, p99}'
}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -a P B
for i in $(seq "$RUNS"); do
  P+=("$(run "$PORT" "$TOKEN")"); B+=("$(run "$((PORT + 1))" "$BARE_TOKEN")")
  echo "run $i: protected ${P[-1]} · unprotected ${B[-1]}"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mp=$(printf '%s\n' "${P[@]}" | cut -d' ' -f1 | median)
mb=$(printf '%s\n' "${B[@]}" | cut -d' ' -f1 | median)
echo "median req/s: protected $mp, unprotected $mb"
awk -v p="$mp" -v b="$mb" -v c="$CONNS" 'BEGIN {printf "per request: protected %.2f us, unprotected %.2f us, difference %.2f us (wall clock / throughput, %s connections)\n", 1e6/p, 1e6/b, 1e6/p - 1e6/b, c}'
