#!/usr/bin/env bash
# Feature benchmark: offline features of ~30 features over windows from 1h to
# 30d (bench/features_bench.yaml) at daily spine points for every vehicle,
#   - by `telltale features build` (the tile engine),
#   - by DuckDB SQL (window functions with RANGE frames over the events with
#     the spine rows unioned in; bench/features_duckdb.c),
#   - by pandas (time-based rolling windows; bench/features_pandas.py), on a
#     subset of vehicles (pandas is slow) and scaled linearly by rows,
# on the same lake, checking that the three agree; then streaming update
# throughput into the online store (memory, Redis) and bytes per vehicle.
#   BENCH_ROWS (default 10000000 × BENCH_SCALE), BENCH_VEHICLES (1000),
#   BENCH_PANDAS_VEHICLES (50), BENCH_DIR (scratch; default a temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
tt=${TT:-$PWD/build/cli/telltale}
build=$(dirname "$(dirname "$tt")")
helper=$build/bench/features_duckdb
py=/usr/bin/python3 # Debian's, with python3-pandas
rows=${BENCH_ROWS:-$(awk -v s="${BENCH_SCALE:-1}" 'BEGIN { printf "%d", 10000000 * s }')}
vehicles=${BENCH_VEHICLES:-1000}
pveh=${BENCH_PANDAS_VEHICLES:-50}
if [ -n "${BENCH_DIR:-}" ]; then dir=$BENCH_DIR; else
  dir=$(mktemp -d /tmp/telltale-fbench.XXXXXX)
  trap 'rm -rf "$dir"' EXIT
fi
mkdir -p "$dir"
proj=$dir/project
rm -rf "$proj"
"$tt" init "$proj" > /dev/null
cp bench/features_bench.yaml "$proj/features/bench_health.yaml"
mkdir -p "$proj/lake"
echo "generating $rows telemetry rows ($vehicles vehicles, 60 days) with DuckDB…"
"$helper" gen "$proj/lake" "$rows" "$vehicles"
"$tt" -C "$proj" features show --set bench_health --output json > "$dir/set.json"
start=1767225600000000 # 2026-01-01
day=86400000000
from=$((start + 31 * day)) # every 30-day window full
to=$((start + 60 * day))
echo "spine: every vehicle, daily from day 31 to day 60; load average $(cut -d' ' -f1-3 /proc/loadavg)"

TIMEFORMAT='%R %U %S'
# telltale
{ time "$tt" -C "$proj" --log-level warn features build --set bench_health --every 1d \
    --from "$from" --to "$to" --out "$dir/tt.parquet" --output json > "$dir/tt.out"; } 2> "$dir/tt.time"
read -r t_wall t_user t_sys < "$dir/tt.time"
t_rows=$(sed -n 's/.*"rows_read":\([0-9]*\).*/\1/p' "$dir/tt.out")
t_spine=$(sed -n 's/.*"spine_rows":\([0-9]*\).*/\1/p' "$dir/tt.out")

# DuckDB SQL
{ time "$helper" sql "$dir/set.json" "$proj/lake" "$from" "$to" "$day" "$dir/duck.parquet" > /dev/null; } 2> "$dir/duck.time"
read -r d_wall d_user d_sys < "$dir/duck.time"
read -r d_cmp d_bad < <("$helper" compare "$dir/set.json" "$dir/tt.parquet" "$dir/duck.parquet")

# pandas on a subset of vehicles
sub=$dir/sub
rm -rf "$sub"
mkdir -p "$sub/lake/telemetry"
"$helper" csv "$proj/lake" "$dir/all.csv" 2>/dev/null || true
awk -F, -v n="$pveh" 'NR == 1 { print; next } { v = substr($1, 2) + 0; if (v < n) print }' "$dir/all.csv" > "$dir/sub.csv"
rm -f "$dir/all.csv"
p_rows=$(($(wc -l < "$dir/sub.csv") - 1))
read -r p_load p_comp < <("$py" bench/features_pandas.py "$dir/set.json" "$dir/sub.csv" "$from" "$to" "$day" "$dir/pd.csv")
read -r p_cmp p_bad < <("$helper" compare "$dir/set.json" "$dir/tt.parquet" "$dir/pd.csv")

awk -v r="$t_rows" -v n="$rows" -v sp="$t_spine" -v tw="$t_wall" -v tu="$t_user" -v ts="$t_sys" \
    -v dw="$d_wall" -v du="$d_user" -v ds="$d_sys" -v dc="$d_cmp" -v db="$d_bad" \
    -v pr="$p_rows" -v pl="$p_load" -v pc="$p_comp" -v pcmp="$p_cmp" -v pb="$p_bad" 'BEGIN {
  pscaled = pc * n / pr
  printf "offline features, %d lake rows (%d read), %d spine rows x 31 features\n", n, r, sp
  printf "  %-32s %8.2f s wall %8.2f s cpu\n", "telltale features build", tw, tu + ts
  printf "  %-32s %8.2f s wall %8.2f s cpu   telltale is %.1fx faster (wall), %.1fx (cpu)\n", "duckdb SQL window functions", dw, du + ds, dw / tw, (du + ds) / (tu + ts)
  printf "  %-32s %8.2f s (%d rows, compute only; %.2f s to load) -> %.1f s scaled to %d rows   telltale is %.0fx faster\n", "pandas rolling", pc, pr, pl, pscaled, n, pscaled / tw
  printf "  agreement: duckdb %d rows, %d values differ; pandas %d rows, %d values differ\n", dc, db, pcmp, pb
}'
[ "$d_bad" = 0 ] && [ "$p_bad" = 0 ] || { echo "features: the three computations disagree" >&2; exit 1; }

# Streaming: the subset's events (sorted by time) through the online store.
echo "streaming $p_rows events of $pveh vehicles (CSV source, batches of 2048):"
stream() {
  "$tt" -C "$proj" --log-level warn --set "online_store=$1" features stream --set bench_health \
    --source "$dir/sub.csv" --output json
}
m=$(stream "memory:")
echo "$m" | awk -v v="$pveh" '{ match($0, /"events_per_second":[0-9]+/); eps = substr($0, RSTART + 20, RLENGTH - 20);
  match($0, /"bytes":[0-9]+/); b = substr($0, RSTART + 8, RLENGTH - 8);
  printf "  %-32s %10d events/s   %8d bytes per vehicle\n", "memory store", eps, b / v }'
if command -v redis-server > /dev/null; then
  port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  (cd "$dir" && exec redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --logfile redis.log) &
  rpid=$!
  for _ in $(seq 100); do redis-cli -p "$port" ping > /dev/null 2>&1 && break; sleep 0.1; done
  r=$(stream "redis://127.0.0.1:$port")
  echo "$r" | awk -v v="$pveh" '{ match($0, /"events_per_second":[0-9]+/); eps = substr($0, RSTART + 20, RLENGTH - 20);
    match($0, /"bytes":[0-9]+/); b = substr($0, RSTART + 8, RLENGTH - 8);
    printf "  %-32s %10d events/s   %8d bytes per vehicle (Redis MEMORY USAGE: values + tiles)\n", "redis store", eps, b / v }'
  kill "$rpid"
  wait "$rpid" 2> /dev/null || true
fi
