#!/usr/bin/env bash
# The pre-commit hook `scopegate-lint` (.pre-commit-hooks.yaml): builds scopegate from the
# checkout this script sits in, then runs `scopegate lint` with the hook's `args` and the
# files pre-commit passes. pre-commit runs it in the repository being checked.
#
#   SCOPEGATE_HOOK_PROFILE   cargo profile to build with (default `release`)
#   CARGO_TARGET_DIR         where cargo builds (default: target/ of this checkout)
#
# Exits as `scopegate lint` does: 0 clean, 1 findings, 2 bad input.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
profile="${SCOPEGATE_HOOK_PROFILE:-release}"
target="${CARGO_TARGET_DIR:-$here/target}"
if ! command -v cargo >/dev/null 2>&1; then
  echo "scopegate-lint: cargo not found; the hook builds scopegate with a Rust toolchain (https://rustup.rs)" >&2
  exit 2
fi
CARGO_TARGET_DIR="$target" cargo build --quiet --locked --profile "$profile" \
  --manifest-path "$here/Cargo.toml" -p scopegate >&2
case "$profile" in dev | test) dir=debug ;; bench) dir=release ;; *) dir="$profile" ;; esac
exec "$target/$dir/scopegate" lint "$@"
