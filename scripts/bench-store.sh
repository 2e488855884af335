#!/usr/bin/env bash
# The metrics stores' benchmark (issue 18), both engines in one run:
#
#   scripts/bench-store.sh [HOURS] [SERIES]     (default 6 h x 5000 series)
#
# Writes HOURS of one-second samples of SERIES series (15 tags each, one
# batch per second through Store::write_batch) into a fresh DuckDB file,
# then prints: the ingest rate (goal >= 1M samples/s), bytes per stored
# sample after CHECKPOINT (goal <= 2.5), the median of 5 runs of three
# group-bys over the whole range (goal < 200 ms), and a bare getppid loop
# (ns/call) as the machine's baseline. Then the same workload on a
# two-shard ClickHouse started here (clickhouse-server on loopback, own
# ports and data directories; skipped with a note when it is not
# installed, or with STORE_BENCH_CLICKHOUSE=0). Runs are not tests.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOURS="${1:-6}"
SERIES="${2:-5000}"
DIR="$(mktemp -d "${TMPDIR:-/tmp}/bench-store.XXXXXX")"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$DIR"
}
trap cleanup EXIT
cd "$ROOT"
cargo build --release -q -p sonde-store-duckdb --example bench_store
cargo build --release -q -p sonde-store-clickhouse --example bench_clickhouse
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$TARGET/release/examples/bench_store" "$DIR" "$HOURS" "$SERIES"

CH=$(command -v clickhouse-server || true)
if [[ ${STORE_BENCH_CLICKHOUSE:-1} == 0 || -z $CH ]]; then
    echo "== sonde-store-clickhouse: skipped (clickhouse-server not installed or STORE_BENCH_CLICKHOUSE=0)"
    exit 0
fi
rm -f "$DIR/bench.duckdb" "$DIR/bench.duckdb.wal"
cat >"$DIR/users.xml" <<'XML'
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>8000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
XML
HTTP=(18923 18924)
TCP=(19923 19924)
REMOTE=""
for i in 0 1; do
    REMOTE+="<shard><replica><host>127.0.0.1</host><port>${TCP[$i]}</port></replica></shard>"
done
URLS=""
for i in 0 1; do
    D="$DIR/shard$i"
    mkdir -p "$D/tmp"
    cat >"$D/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$D/server.log</log><errorlog>$D/error.log</errorlog></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${HTTP[$i]}</http_port>
  <tcp_port>${TCP[$i]}</tcp_port>
  <path>$D/</path>
  <tmp_path>$D/tmp/</tmp_path>
  <users_config>$DIR/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>536870912</mark_cache_size>
  <remote_servers><sonde>$REMOTE</sonde></remote_servers>
</yandex>
XML
    "$CH" --config-file="$D/config.xml" >"$D/stdout.log" 2>&1 &
    PIDS+=("$!")
    URLS+="${URLS:+,}http://127.0.0.1:${HTTP[$i]}"
done
for i in 0 1; do
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:${HTTP[$i]}/ping" >/dev/null && break
        sleep 0.1
    done
done
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$TARGET/release/examples/bench_clickhouse" "$URLS" "$HOURS" "$SERIES"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
