#!/usr/bin/env bash
# Fails when a non-test Rust source file is over 1,200 lines (generated
# tables aside). Function length is clippy's too_many_lines (clippy.toml).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bad=$(git ls-files '*.rs' | grep -vE '(^|/)(tests|fuzz|examples)/|_tests\.rs$|generated|registry/table\.rs' |
    xargs wc -l | awk '$2 != "total" && $1 > 1200 {print "  " $2 " (" $1 " lines)"}')
if [[ -n $bad ]]; then
    echo "check-sizes: files over 1,200 lines:" >&2
    echo "$bad" >&2
    exit 1
fi
echo "check-sizes: no source file over 1,200 lines"
