#!/usr/bin/env bash
# Lint bench against two peers (BENCHMARKS.md, "Lint", issue 16 §3): scopegate, Spectral
# (CLI process and warm JS API) and Redocly CLI, each with a rule equivalent to
# `scopegate lint --scope-list any --readonly-scope '*:read'` (SG001), on three inputs:
#   - Sentry's openapi.json (JSON, 3.9 MB, no $ref),
#   - a generated DigitalOcean-shaped split spec ($SPLIT resources, ~6 YAML files each,
#     operation-level and model $refs across files; bench/gen_split_spec.py),
#   - a large single YAML document ($SINGLE resources, internal $refs).
# Findings are checked equal for every peer first (bench/check_findings.py; exit 1 if not).
#
#   bash bench/lint_peers.sh            # SPLIT=600 SINGLE=1500 RUNS=3
# Needs: cargo, python3, hyperfine, node + npm (packages pinned by package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=bench/out/peers
mkdir -p "$out"
SPLIT=${SPLIT:-600}
SINGLE=${SINGLE:-1500}
RUNS=${RUNS:-3}
openapi=${OPENAPI:-../shared/corpora/sentry/openapi.json}

cargo build --release -p scopegate >&2
bin=$root/target/release/scopegate
[ -d bench/spectral/node_modules ] || (cd bench/spectral && npm ci --no-audit --no-fund)
[ -d bench/redocly/node_modules ] || (cd bench/redocly && npm ci --no-audit --no-fund)
spectral=$root/bench/spectral/node_modules/.bin/spectral
redocly=$root/bench/redocly/node_modules/.bin/redocly
echo "spectral $("$spectral" --version), redocly $("$redocly" --version 2>/dev/null | tail -1), node $(node --version)"

rm -rf "$out/split" && python3 bench/gen_split_spec.py split "$out/split" "$SPLIT"
python3 bench/gen_split_spec.py single "$out/single.yaml" "$SINGLE"
echo "split spec: $(find "$out/split" -type f -name '*.yml' -o -name '*.yaml' | wc -l) files, $(du -sh "$out/split" | cut -f1); single: $(du -h "$out/single.yaml" | cut -f1)"

for input in sentry split single; do
  case $input in
    sentry) doc=$openapi ;;
    split) doc=$out/split/openapi.yaml ;;
    single) doc=$out/single.yaml ;;
  esac
  sg="$bin lint $doc --scope-list any --readonly-scope *:read"
  sp="$spectral lint $doc --ruleset bench/spectral/ruleset.yaml --quiet"
  rd="$redocly lint $doc --config bench/redocly/redocly.yaml --max-problems 1000000"
  echo "== $input ($doc)"
  $sg --format json > "$out/$input-scopegate.json" || true
  $sp --format json --output "$out/$input-spectral.json" || true
  $rd --format json > "$out/$input-redocly.json" 2>/dev/null || true
  node bench/spectral/warm.mjs bench/spectral/ruleset.yaml "$doc" "$RUNS" 1 "$out/$input-spectral-warm.json" \
    | tee "$out/$input-spectral-warm.line"
  python3 bench/check_findings.py "$out/$input-scopegate.json" spectral:"$out/$input-spectral.json" \
    spectral:"$out/$input-spectral-warm.json" redocly:"$out/$input-redocly.json"
  uptime
  hyperfine -N --ignore-failure --export-json "$out/$input-scopegate.hf.json" --warmup 3 --min-runs 10 -n scopegate "$sg"
  hyperfine -N --ignore-failure --export-json "$out/$input-peers.hf.json" --warmup 1 --runs "$RUNS" \
    -n spectral-cli "$sp" -n redocly-cli "$rd"
  uptime
done

python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
print(f"{'input':8} {'engine':14} {'median ms':>10} {'cpu ms':>9} {'x scopegate':>11}")
for input in ["sentry", "split", "single"]:
    rows = []
    for f in ["scopegate", "peers"]:
        for r in json.load(open(f"{out}/{input}-{f}.hf.json"))["results"]:
            rows.append((r["command"], r["median"] * 1000, (r["user"] + r["system"]) * 1000))
    warm = json.load(open(f"{out}/{input}-spectral-warm.line"))
    rows.append(("spectral-warm", warm["median_ms"], None))
    base = rows[0][1]
    for name, med, cpu in rows:
        cpu_s = f"{cpu:9.1f}" if cpu is not None else f"{'':>9}"
        print(f"{input:8} {name:14} {med:10.1f} {cpu_s} {med / base:11.1f}")
PY
