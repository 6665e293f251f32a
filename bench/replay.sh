#!/usr/bin/env bash
# Replaying a decision log of 1,000,000 decisions (BENCHMARKS.md, "Replay", issue 18: ≤ 5 s).
#
# - World, manifest and requests: the engine bench's (`scopegate-bench --dump`): 1,000
#   organizations, 100,000 members, 10,000 teams, 20,000 projects; 8,000 requests of every
#   principal kind.
# - The log: N lines (default 1,000,000) in the decision log's format (schema version 1),
#   request i mod 8,000 with its real decision (`scopegate check`), a unique UUIDv7-shaped id
#   and increasing timestamps, split into 5 rotated parts (`decisions.log.4` … `decisions.log`)
#   as `serve --decision-log` leaves them.
# - The candidate: the bench manifest with `IncidentPermission`'s GET narrowed to the write
#   scopes (some decisions flip).
# - Timed: the whole `scopegate replay` process (read the world document and index it, read
#   and parse every line, decide each twice, group, print JSON), with hyperfine when present,
#   else `time`. RUNS runs (default 5).
#
# - Threads: BIN with its default `--jobs` (the available parallelism) and with `--jobs 1`;
#   BASE_BIN=… (another build, e.g. main's, without `--jobs`) is timed in the same run.
#
#   bench/replay.sh                 # N=1000000 RUNS=5
#   BASE_BIN=/work/main/target/release/scopegate bench/replay.sh   # before and after
# A benchmark, not a test: the machine is shared, so quote medians and the load (uptime).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-1000000}
RUNS=${RUNS:-5}
if [ -z "${BENCH_DIR:-}" ]; then
  cargo build --release -p scopegate-bench >&2
  BENCH_DIR=target/release
fi
if [ -z "${BIN:-}" ]; then
  cargo build --release -p scopegate >&2
  BIN=target/release/scopegate
fi
tmp=${KEEP_DIR:-$(mktemp -d)}
mkdir -p "$tmp"
"$BENCH_DIR/scopegate-bench" --dump "$tmp/w" >&2
W=$tmp/w
"$BIN" check --manifest "$W/manifest.json" --world "$W/world.json" --requests "$W/requests.jsonl" \
  >"$tmp/decisions.jsonl" || true   # exit 1: some requests are denied
python3 - "$W/manifest.json" "$tmp/candidate.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
cls = m["permissions"]["sentry.api.bases.incident.IncidentPermission"]
cls["scope_map"]["GET"] = ["org:write", "org:admin", "project:write", "project:admin"]
json.dump(m, open(sys.argv[2], "w"), indent=1)
PY
gen() { # $1: lines, $2: policy version, $3: directory
python3 - "$W/requests.jsonl" "$tmp/decisions.jsonl" "$1" "$2" "$3" <<'PY'
import json, sys, datetime
reqs = [l.rstrip("\n") for l in open(sys.argv[1])]
decs = []
for l in open(sys.argv[2]):
    d = json.loads(l); d.pop("line", None); decs.append(json.dumps(d, separators=(",", ":")))
n, version, out = int(sys.argv[3]), sys.argv[4], sys.argv[5]
parts = 5
per = (n + parts - 1) // parts
t0 = datetime.datetime(2026, 12, 6, 12, 0, 0, tzinfo=datetime.timezone.utc)
head = '{"schema_version":1,"decision_id":"%s","timestamp":"%s","api":"check","request_id":null,"caller":{"token_id":"1","name":"gateway"},"revision":1,"policy_version":"' + version + '","request":'
i = 0
for p in range(parts - 1, -1, -1):
    name = f"{out}/decisions.log" + (f".{p}" if p else "")
    with open(name, "w") as f:
        lines = []
        for _ in range(per):
            if i >= n: break
            ms = i // 10
            ts = (t0 + datetime.timedelta(milliseconds=ms)).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
            did = f"01a24c00-{(i >> 48) & 0xffff:04x}-7{(i >> 36) & 0xfff:03x}-8{(i >> 24) & 0xfff:03x}-{i & 0xffffffffffff:012x}"
            k = i % len(reqs)
            lines.append(head % (did, ts) + reqs[k] + ',"bearer":null,"decision":' + decs[k] + "}\n")
            i += 1
        f.write("".join(lines))
PY
}
# The current pair's policy version, from a one-line replay.
mkdir -p "$tmp/probe" "$tmp/log"
gen 1 0000000000000000 "$tmp/probe"
VERSION=$("$BIN" replay "$tmp/probe/decisions.log" --current-manifest "$W/manifest.json" \
  --manifest "$tmp/candidate.json" --world "$W/world.json" --format json --fail-on none \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["inputs"]["current_policy_version"])')
gen "$N" "$VERSION" "$tmp/log"
echo "log: $(cat "$tmp"/log/decisions.log* | wc -l) lines, $(du -ch "$tmp"/log/decisions.log* | tail -1 | cut -f1) in $(ls "$tmp"/log | wc -l) parts" >&2
CMD="$BIN replay $tmp/log/decisions.log --current-manifest $W/manifest.json --manifest $tmp/candidate.json --world $W/world.json --format json --fail-on none"
uptime >&2
$CMD >"$tmp/report.json"
python3 - "$tmp/report.json" <<'PY' >&2
import json, sys
r = json.load(open(sys.argv[1])); t = r["totals"]
print(f"replayed {t['replayed']}: lost {t['lost']}, gained {t['gained']}, unchanged {t['unchanged']}, groups {len(r['groups'])}, unreadable {r['reading']['unreadable']}, other policy version {t['other_policy_version']}")
PY
CMDS=()
[ -z "${BASE_BIN:-}" ] || CMDS+=("${CMD/#$BIN/$BASE_BIN}")
CMDS+=("$CMD --jobs 1" "$CMD")
if [ "$RUNS" -gt 0 ] && command -v hyperfine >/dev/null; then
  hyperfine --runs "$RUNS" --warmup 1 --export-json "$tmp/hyperfine.json" "${CMDS[@]/%/ >/dev/null}"
  python3 - "$tmp/hyperfine.json" <<'PY' >&2
import json, statistics, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"{r['command'][-60:]}: median wall {r['median']:.2f} s, mean CPU {r['user'] + r['system']:.2f} s (user {r['user']:.2f}, sys {r['system']:.2f})")
PY
else
  for c in "${CMDS[@]}"; do
    for _ in $(seq "$RUNS"); do /usr/bin/time -f "%e s wall, %U s user, %S s sys, %M KiB max RSS: $c" $c >/dev/null; done
  done
fi
# The world alone (read and indexed once: both engines share it without a candidate policy): a 1-line log.
echo "world only (1-line log):" >&2
/usr/bin/time -f "%e s wall, %U s user, %M KiB max RSS" "$BIN" replay "$tmp/probe/decisions.log" \
  --current-manifest "$W/manifest.json" --manifest "$tmp/candidate.json" --world "$W/world.json" \
  --format json --fail-on none >/dev/null
uptime >&2
[ -n "${KEEP_DIR:-}" ] || rm -rf "$tmp"
