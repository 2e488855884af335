#!/usr/bin/env bash
# Container attribution benchmark (issue 13; a benchmark, not a test).
#
#   sudo scripts/bench-containers.sh
#
# The getppid loop of scripts/bench-live.sh (crates/probe/examples/syscall_loop.rs,
# bind-mounted with the host's /lib and /lib64 into a podman container made from a
# busybox rootfs) runs on the host and inside the container, each under:
#
#   a        no capture
#   c        `sonde > /dev/null` (full capture, printed; containers attributed)
#   c-off    the same with SONDE_NO_CONTAINERS=1 (no attribution: what sonde did
#            before; the difference to c is the attribution's cost)
#   c-base   the same with BASE_BIN (default /work/baseline/sonde when present),
#            the build without container support
#
# and prints ns per getppid (median and min-max of BENCH_REPS runs of BENCH_CALLS
# calls, the loop's own timing). Other load on the machine skews the numbers; the
# load average is printed with them. Needs root, podman, busybox and the release
# build of sonde and of the probe's examples (`cargo build --release -p sonde
# -p sonde-probe --examples`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${BENCH_CALLS:-2000000}"
REPS="${BENCH_REPS:-5}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
SONDE="${SONDE_BIN:-$TARGET/release/sonde}"
BASE="${BASE_BIN:-/work/baseline/sonde}"
LOOP="$TARGET/release/examples/syscall_loop"

die() { echo "bench-containers: $*" >&2; exit 2; }
[[ $EUID -eq 0 ]] || die "needs root"
command -v podman >/dev/null || die "podman is missing"
[[ -x "$SONDE" && -x "$LOOP" ]] || die "build first: cargo build --release -p sonde -p sonde-probe --examples"

DIR="$(mktemp -d /tmp/bench-ctr.XXXXXX)"
TRACER=""
cleanup() {
    if [[ -n "$TRACER" ]]; then kill -INT "$TRACER" 2>/dev/null || true; wait "$TRACER" 2>/dev/null || true; fi
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$DIR/rootfs/bin" "$DIR/rootfs/lib" "$DIR/rootfs/lib64" "$DIR/rootfs/etc"
cp "$(command -v busybox)" "$DIR/rootfs/bin/"
ln -s busybox "$DIR/rootfs/bin/sh"

# one run of the loop: prints ns per call
host_run() { "$LOOP" getppid "$N" | awk '{print $4}'; }
ctr_run() {
    unshare --mount --propagation private sh -c "umount /sys/fs/cgroup/unified 2>/dev/null; \
        podman run --rm --network=none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
        -v /lib:/lib:ro -v /lib64:/lib64:ro -v $LOOP:/syscall_loop:ro \
        --rootfs $DIR/rootfs /syscall_loop getppid $N" | awk '{print $4}'
}
# REPS runs of $1 (host_run or ctr_run): "median min-max"
series() {
    local i v=()
    for ((i = 0; i < REPS; i++)); do v+=("$($1)"); done
    printf '%s\n' "${v[@]}" | sort -g | awk '{a[NR] = $1} END {
        m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
        printf "%.0f (%.0f-%.0f)", m, a[1], a[NR]}'
}
# with_tracer ENV BIN: starts `BIN > /dev/null` with ENV, waits for it
start_tracer() {
    env $1 "$2" >/dev/null 2>"$DIR/tracer.err" &
    TRACER=$!
    sleep 3
}
stop_tracer() {
    kill -INT "$TRACER" 2>/dev/null || true
    wait "$TRACER" 2>/dev/null || true
    TRACER=""
}

ctr_run >/dev/null # warm up (podman's first run is slower)
echo "getppid, ns per call: median (min-max) of $REPS x $N calls; load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %-22s %-22s\n' config host container
printf '%-8s %-22s %-22s\n' a "$(series host_run)" "$(series ctr_run)"
configs=("c|SONDE_X=1|$SONDE" "c-off|SONDE_NO_CONTAINERS=1|$SONDE")
[[ -x "$BASE" ]] && configs+=("c-base|SONDE_X=1|$BASE")
for c in "${configs[@]}"; do
    IFS='|' read -r tag envv bin <<<"$c"
    start_tracer "$envv" "$bin"
    h="$(series host_run)"
    k="$(series ctr_run)"
    stop_tracer
    printf '%-8s %-22s %-22s\n' "$tag" "$h" "$k"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
