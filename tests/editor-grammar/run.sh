#!/bin/sh
# Tests the VS Code extension's TextMate grammar (editors/vscode/syntaxes/vfiopolicy.tmLanguage.json) against the
# scope assertions in editors/vscode/test/*.vfiopolicy with vscode-tmgrammar-test, installed by `npm ci` from the
# committed package-lock.json (node_modules stays out of git).
#
#   tests/editor-grammar/run.sh                # from anywhere
#
# Prints "N passed, N failed" (test files) as its last line, as the CI stages do.
# Exit 0: every assertion holds; 1: an assertion failed; 2: cannot run (no node/npm, or npm could not install).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
extension="$root/editors/vscode"

for tool in node npm npx; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "editor-grammar: $tool is not installed" >&2
    exit 2
  fi
done

log=$(mktemp)
trap 'rm -f "$log"' EXIT
cd "$extension"
# npm ci: exactly the locked versions, so a grammar test never passes or fails because a dependency moved.
if ! npm ci --no-audit --no-fund >"$log" 2>&1; then
  cat "$log" >&2
  echo "editor-grammar: npm ci failed in editors/vscode (is the npm registry reachable?)" >&2
  exit 2
fi

status=0
npx --no-install vscode-tmgrammar-test -g syntaxes/vfiopolicy.tmLanguage.json "test/**/*.vfiopolicy" >"$log" 2>&1 || status=$?
cat "$log"
passed=$(grep -c '^✓' "$log" || true)
failed=$(grep -c '^✖' "$log" || true)
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1 # the runner failed without reporting a file: a broken grammar or glob
fi
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
  echo "editor-grammar: no grammar test files ran" >&2
  failed=1
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] || exit 1
