#!/usr/bin/env bash
# Long differential runs against sysdig 0.29.3 (a test, not a benchmark):
# the generators of crates/cli/tests/differential.rs with a random (or
# given) seed and more cases than CI draws.
#
#   scripts/difftest.sh [SEED] [FILTERS] [FORMATS]
#
# Prints the seed first, so a failing run can be repeated exactly.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seed=${1:-$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')}
echo "difftest: SONDE_DIFF_SEED=$seed"
SONDE_DIFF_SEED=$seed SONDE_DIFF_FILTERS=${2:-50000} SONDE_DIFF_FORMATS=${3:-5000} \
    SONDE_DIFF_SHOW=${SONDE_DIFF_SHOW:-100} \
    cargo test --release -p sonde --test differential -- --nocapture
