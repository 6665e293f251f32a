#!/usr/bin/env bash
# Lint benchmarks (product.md §8): whole-process timings with hyperfine, recorded in
# BENCHMARKS.md (## Lint). Needs: cargo, python3, hyperfine (apt-get install hyperfine),
# node + npm (for Spectral), and ../shared/corpora/sentry/openapi.json beside the repository.
# BEFORE=/path/to/an/older/scopegate adds that binary to both hyperfine runs, side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=bench/out
mkdir -p "$out"
openapi=${OPENAPI:-../shared/corpora/sentry/openapi.json}

cargo build --release -p scopegate
bin=$root/target/release/scopegate

# Spectral, with an equivalent custom rule.
if [ ! -x bench/spectral/node_modules/.bin/spectral ]; then
  (cd bench/spectral && npm install --no-audit --no-fund)
fi
spectral=$root/bench/spectral/node_modules/.bin/spectral

# 1. Findings equal: Spectral's custom rule and scopegate on Sentry's openapi.json.
"$spectral" lint "$openapi" --ruleset bench/spectral/ruleset.yaml --format json \
  --output "$out/spectral.json" --quiet || true
"$bin" lint "$openapi" --scope-list any --readonly-scope '*:read' --format json \
  > "$out/scopegate.json" || true
python3 bench/check_spectral.py "$out/spectral.json" "$out/scopegate.json"
"$spectral" --version
uptime

before_openapi=()
before_manifest=()
if [ -n "${BEFORE:-}" ]; then
  before_openapi=(-n scopegate-before "$BEFORE lint $openapi --scope-list any --readonly-scope *:read")
  before_manifest=(-n scopegate-100k-before "$BEFORE lint $out/manifest-100k.json")
fi

# 2. Sentry's openapi.json, side by side.
hyperfine -N --warmup 3 --ignore-failure --export-json "$out/openapi.json" \
  -n scopegate "$bin lint $openapi --scope-list any --readonly-scope *:read" \
  "${before_openapi[@]}" \
  -n spectral "$spectral lint $openapi --ruleset bench/spectral/ruleset.yaml --quiet"
uptime

# 3. A generated manifest of 100k endpoint methods: time and peak memory.
python3 bench/gen_manifest.py 100000 > "$out/manifest-100k.json"
hyperfine -N --warmup 2 --ignore-failure --export-json "$out/manifest.json" \
  -n scopegate-100k "$bin lint $out/manifest-100k.json" "${before_manifest[@]}"
uptime
/usr/bin/time -v "$bin" lint "$out/manifest-100k.json" > /dev/null 2> "$out/time-100k.txt" || true
grep -E 'Maximum resident set size' "$out/time-100k.txt"
/usr/bin/time -v "$bin" lint "$openapi" --scope-list any --readonly-scope '*:read' > /dev/null 2> "$out/time-openapi.txt" || true
grep -E 'Maximum resident set size' "$out/time-openapi.txt"

python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
for name in ["openapi", "manifest"]:
    for r in json.load(open(f"{out}/{name}.json"))["results"]:
        cpu = (r["user"] + r["system"]) * 1000
        print(f'{r["command"]}: median {r["median"]*1000:.1f} ms (mean {r["mean"]*1000:.1f} ± {r["stddev"]*1000:.1f} ms, {len(r["times"])} runs), CPU {cpu:.1f} ms (user {r["user"]*1000:.1f} + sys {r["system"]*1000:.1f})')
PY
