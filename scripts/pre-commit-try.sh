#!/usr/bin/env bash
# Proves the pre-commit hook (.pre-commit-hooks.yaml) the way a user meets it: pre-commit
# (from PyPI, in a virtualenv under target/) clones this repository with
# `pre-commit try-repo` into an empty cache, the hook builds scopegate from that clone and
# lints two sample repositories made here: one with a finding (the hook must fail, with
# its SG001 message) and one without (it must pass). Also checks that action.yml is a
# composite action and runs its lint step on the same two repositories (its install step,
# `cargo install`, runs only on GitHub).
#
#   scripts/pre-commit-try.sh
#
#   PRE_COMMIT_TRY_TIMEOUT   seconds each `pre-commit try-repo` may take (default 1800;
#                            the first one compiles scopegate from the clone)
#
# The clone builds into this checkout's target/ (CARGO_TARGET_DIR), dev profile, so the
# dependencies compiled already are reused; it needs no network but PyPI, once.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
limit="${PRE_COMMIT_TRY_TIMEOUT:-1800}"

venv="${PRE_COMMIT_VENV:-target/pre-commit-venv}"
if [ ! -x "$venv/bin/pre-commit" ]; then
  python3 -m venv "$venv"
  timeout 600 "$venv/bin/pip" install --quiet pre-commit
fi
venv="$(cd "$venv" && pwd)"
precommit="$venv/bin/pre-commit"

# PyYAML comes with pre-commit.
"$venv/bin/python" - "$root/action.yml" <<'PY'
import sys, yaml
action = yaml.safe_load(open(sys.argv[1]))
runs = action["runs"]
assert runs["using"] == "composite", runs["using"]
script = "\n".join(step.get("run", "") for step in runs["steps"])
assert "cargo install" in script and "scopegate" in script and " lint " in script, script
for step in runs["steps"]:
    if "run" in step:
        assert "${{ inputs." not in step["run"], "inputs must reach scripts through env"
print("action.yml: a composite action installing scopegate with cargo and running scopegate lint")
PY

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# An empty pre-commit cache: the hook repository is cloned fresh, as a user's first run.
export PRE_COMMIT_HOME="$work/cache"
export CARGO_TARGET_DIR="$root/target"
export SCOPEGATE_HOOK_PROFILE=dev
export GIT_AUTHOR_NAME=ci GIT_AUTHOR_EMAIL=ci@example.invalid
export GIT_COMMITTER_NAME=ci GIT_COMMITTER_EMAIL=ci@example.invalid

sample() {
  local dir="$work/$1"
  mkdir -p "$dir"
  git -C "$dir" init --quiet
  cat >"$dir/README.md" <<'MD'
A sample repository for scopegate's pre-commit hook.
MD
  cat >"$dir/manifest.toml"
  git -C "$dir" add --all
  git -C "$dir" commit --quiet -m sample
  echo "$dir"
}

# A mutation that a read-only scope can call, with no note: SG001.
with_finding="$(sample with-finding <<'TOML'
[permissions.ProjectPermission]
object = "project"
scope_map = { GET = ["project:read"], PUT = ["project:read", "project:write"] }

[[endpoints]]
name = "app.ProjectDetailsEndpoint"
path = "/projects/{project}/"
permissions = ["ProjectPermission"]
publish_status = { GET = "public", PUT = "public" }
TOML
)"
# The same endpoint with the read-only scope removed from its mutation.
clean="$(sample clean <<'TOML'
[permissions.ProjectPermission]
object = "project"
scope_map = { GET = ["project:read"], PUT = ["project:write"] }

[[endpoints]]
name = "app.ProjectDetailsEndpoint"
path = "/projects/{project}/"
permissions = ["ProjectPermission"]
publish_status = { GET = "public", PUT = "public" }
TOML
)"

try() {
  (cd "$1" && timeout "$limit" "$precommit" try-repo "$root" scopegate-lint --all-files --color never)
}

echo "== pre-commit try-repo on a repository with a finding (must fail)"
if out="$(try "$with_finding" 2>&1)"; then
  echo "$out"
  echo "FAIL: the hook passed on a manifest with an SG001 finding"
  exit 1
fi
echo "$out" | tail -n 6
if ! grep -q "app.ProjectDetailsEndpoint PUT accepts readonly scopes" <<<"$out"; then
  echo "FAIL: the hook failed, but not with the expected finding"
  exit 1
fi

echo "== pre-commit try-repo on a repository without one (must pass)"
if ! out="$(try "$clean" 2>&1)"; then
  echo "$out"
  echo "FAIL: the hook failed on a clean manifest"
  exit 1
fi
echo "$out" | tail -n 2
grep -q "^scopegate lint.*Passed" <<<"$out" || { echo "$out"; echo "FAIL: the hook did not run"; exit 1; }
echo "pre-commit hook: fails with a finding, passes without"

# The Action's lint step (its `run` script, as GitHub would run it with the inputs in env),
# with the scopegate the hook just built on PATH; its install step needs GitHub.
"$venv/bin/python" -c '
import sys, yaml
steps = yaml.safe_load(open(sys.argv[1]))["runs"]["steps"]
print(next(s["run"] for s in steps if s.get("id") == "lint"))
' "$root/action.yml" >"$work/lint-step.sh"
action_lint() {
  (cd "$1" && PATH="$CARGO_TARGET_DIR/debug:$PATH" GITHUB_OUTPUT="$work/output" \
    LINT_PATHS="manifest.toml" LINT_ARGS="--select SG001" LINT_FORMAT=github \
    bash "$work/lint-step.sh")
}
echo "== action.yml's lint step on the same two repositories"
: >"$work/output"
if action_lint "$with_finding" >"$work/annotations" 2>&1; then
  echo "FAIL: the Action's lint step passed on a finding"; exit 1
fi
grep -q "^::error file=manifest.toml" "$work/annotations" \
  || { cat "$work/annotations"; echo "FAIL: no annotation"; exit 1; }
grep -qx "exit-code=1" "$work/output" || { cat "$work/output"; echo "FAIL: exit-code output"; exit 1; }
action_lint "$clean" >/dev/null || { echo "FAIL: the Action's lint step failed on a clean manifest"; exit 1; }
grep -qx "exit-code=0" "$work/output" || { cat "$work/output"; echo "FAIL: exit-code output"; exit 1; }
echo "action.yml lint step: annotations and exit 1 with a finding, exit 0 without"
