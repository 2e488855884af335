#!/usr/bin/env bash
# Benchmarks chisels: sonde against sysdig 0.29.3 on a large capture, both
# running the same Lua files (sysdig's, from /usr/share/sysdig/chisels),
# with hyperfine (not part of the tests).
#
#   scripts/bench-chisels.sh [MIN_EVENTS]      (default 1000000)
#
# Environment: SONDE_TRACES (default ../shared/traces beside the repo),
# BENCH_TRACE (default curl_google.scap), BENCH_DIR (default a temp dir),
# ROUNDS (default 11) and RUNS_PER_ROUND (default 1). Needs sysdig and
# hyperfine.
#
# Builds BIG as scripts/bench.sh does (crates/scap/examples/scapgen.rs), then
# for topprocs_cpu, topfiles_bytes, fdbytes_by, spy_users and echo_fds times
# `sonde -r BIG -c CHISEL` and `sysdig -r BIG -c CHISEL` (output to
# /dev/null), and the five at once, in paired rounds (see `pair`); prints
# the medians of all runs and the median of the rounds' ratios.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MIN_EVENTS="${1:-1000000}"
TRACES="${SONDE_TRACES:-$ROOT/../shared/traces}"
TRACE="$TRACES/${BENCH_TRACE:-curl_google.scap}"
ROUNDS="${ROUNDS:-11}"
RUNS_PER_ROUND="${RUNS_PER_ROUND:-1}"
SYSDIG="${SYSDIG:-sysdig}"
CHISELS="${CHISELS_DIR:-/usr/share/sysdig/chisels}"
if [[ -n "${BENCH_DIR:-}" ]]; then
    DIR="$BENCH_DIR"
    mkdir -p "$DIR"
else
    DIR="$(mktemp -d)"
    trap 'rm -rf "$DIR"' EXIT
fi
BIG="$DIR/big.scap"

[[ -r "$TRACE" ]] || { echo "bench: no trace at $TRACE (set SONDE_TRACES)" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "bench: hyperfine not found" >&2; exit 2; }
command -v "$SYSDIG" >/dev/null || { echo "bench: $SYSDIG not found" >&2; exit 2; }
[[ -d "$CHISELS" ]] || { echo "bench: no chisels in $CHISELS" >&2; exit 2; }

cd "$ROOT"
echo "== building (release)" >&2
cargo build --release --quiet -p sonde -p sonde-scap --bins --examples
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
SONDE="$TARGET/release/sonde"

if [[ ! -s "$BIG" ]]; then
    echo "== generating $BIG from $(basename "$TRACE")" >&2
    "$TARGET/release/examples/scapgen" "$TRACE" "$BIG" "$MIN_EVENTS" >&2
fi
EVENTS=$("$TARGET/release/examples/scapdump" "$BIG" | tail -n 1 | awk '{print $2}')

# name | arguments (one word, as both tools take it)
CASES=("topprocs_cpu|" "topfiles_bytes|" "fdbytes_by|fd.name" "spy_users|" "echo_fds|")

# Paired runs: ROUNDS rounds, each a hyperfine run of both commands
# (RUNS_PER_ROUND runs each, after a warmup), so the two are timed close
# together and a machine that drifts between rounds moves both alike. One
# run per round (the default) interleaves the two tools run by run: on a
# machine whose speed changes by the second, the fairest pairing.
# `pair NAME CMD1 CMD2` leaves $DIR/NAME.r*.json.
pair() {
    local name="$1"; shift
    rm -f "$DIR/$name".r*.json
    for ((i = 0; i < ROUNDS; i++)); do
        hyperfine --style none --runs "$RUNS_PER_ROUND" --warmup 1 \
            --export-json "$DIR/$name.r$i.json" "$@" >/dev/null 2>&1
    done
}
# `stats NAME` -> "sonde_median sysdig_median paired_ratio": the medians
# of all runs of each command, and the median over rounds of the ratio of
# the round's medians (sysdig / sonde)
stats() {
    python3 - "$DIR/$1" <<'PY'
import glob, json, statistics as st, sys
rounds = [json.load(open(f))["results"] for f in sorted(glob.glob(sys.argv[1] + ".r*.json"))]
a = [t for r in rounds for t in r[0]["times"]]
b = [t for r in rounds for t in r[1]["times"]]
ratio = st.median(st.median(r[1]["times"]) / st.median(r[0]["times"]) for r in rounds)
print(f"{st.median(a):.4f} {st.median(b):.4f} {ratio:.2f}")
PY
}

echo "capture: $(basename "$TRACE") x N = $EVENTS events; $(nproc) cores; $ROUNDS rounds of $RUNS_PER_ROUND paired runs"
echo
echo "| chisel | sonde (s) | sysdig (s) | sysdig / sonde |"
echo "|---|---|---|---|"
min=""
all_sonde=(); all_sysdig=()
for c in "${CASES[@]}"; do
    name="${c%%|*}"
    arg="${c#*|}"
    q=""
    [[ -n "$arg" ]] && q=" '$arg'"
    all_sonde+=(-c "$CHISELS/$name.lua")
    all_sysdig+=(-c "$name")
    [[ -n "$arg" ]] && { all_sonde+=("$arg"); all_sysdig+=("$arg"); }
    pair "$name" "$SONDE -r $BIG -c $CHISELS/$name.lua$q > /dev/null" \
        "$SYSDIG -r $BIG -c $name$q > /dev/null"
    read -r s y r < <(stats "$name")
    printf '| %s | %.3f | %.3f | %sx |\n' "$name" "$s" "$y" "$r"
    if [[ -z "$min" ]] || python3 -c "import sys; sys.exit(0 if $r < $min else 1)"; then min="$r"; fi
done
# the five at once, and sonde's five one by one
one_by_one=0
for c in "${CASES[@]}"; do
    name="${c%%|*}"
    one_by_one=$(python3 -c "print($one_by_one + $(stats "$name" | cut -d' ' -f1))")
done
quote() { printf "'%s' " "$@"; }
pair all "$SONDE -r $BIG $(quote "${all_sonde[@]}") > /dev/null" \
    "$SYSDIG -r $BIG $(quote "${all_sysdig[@]}") > /dev/null"
read -r s y r < <(stats all)
printf '| all five at once | %.3f | %.3f | %sx |\n' "$s" "$y" "$r"
echo
echo "minimum ratio over the five: ${min}x"
printf 'sonde, five at once: %.3f s; one by one: %.3f s\n' "$s" "$one_by_one"
