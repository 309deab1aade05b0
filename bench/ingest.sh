#!/usr/bin/env bash
# Ingest benchmark: telemetry CSV → date-partitioned zstd Parquet, by
# `telltale ingest` (validating every record against the schema) and by
# DuckDB alone (read_csv → COPY … PARTITION_BY (date), bench/duckdb_convert.c),
# on the same file, same machine, same run. Prints rows/s and the ratio.
#   BENCH_ROWS (default 10000000 × BENCH_SCALE), BENCH_JSON_ROWS (2000000 × BENCH_SCALE),
#   BENCH_VEHICLES (default 1000),
#   BENCH_DIR (scratch space, default a new /tmp/telltale-bench.* removed after)
set -euo pipefail
cd "$(dirname "$0")/.."
tt=${TT:-$PWD/build/cli/telltale}
build=${BENCH_BUILD:-$(dirname "$(dirname "$tt")")}
rows=${BENCH_ROWS:-$(awk -v s="${BENCH_SCALE:-1}" 'BEGIN { printf "%d", 10000000 * s }')}
vehicles=${BENCH_VEHICLES:-1000}
if [ -n "${BENCH_DIR:-}" ]; then dir=$BENCH_DIR; else
  dir=$(mktemp -d /tmp/telltale-bench.XXXXXX)
  trap 'rm -rf "$dir"' EXIT
fi
mkdir -p "$dir"
csv=$dir/telemetry.csv
if [ ! -s "$csv" ] || [ "$(cat "$dir/telemetry.rows" 2>/dev/null)" != "$rows" ]; then
  # `telltale simulate` makes realistic data but its volume depends on the
  # fleet's trips; the benchmark wants an exact row count, so it uses the
  # generator (same schema, same column order).
  echo "generating $rows telemetry rows ($vehicles vehicles)…"
  "$build/bench/bench_gen_telemetry" "$rows" "$vehicles" > "$csv"
  echo "$rows" > "$dir/telemetry.rows"
fi
bytes=$(stat -c %s "$csv")
echo "input: $csv, $rows rows, $((bytes / 1000000)) MB"

# CPU seconds (user + sys) of a command, with bash's own `time` (no
# package needed): on a shared machine wall time depends on the neighbours,
# CPU time much less, so both are reported.
TIMEFORMAT='%U %S'
cpu_of() { awk '{ printf "%.2f", $1 + $2 }' "$1"; }

# One comparison: INPUT (CSV or .jsonl) of ROWS rows, by DuckDB alone and
# by telltale into a fresh project; then a re-ingest that must change nothing.
compare() {
  local input=$1 nrows=$2 label=$3
  rm -rf "$dir/duckdb-out"
  sync
  { time "$build/bench/duckdb_convert" "$input" "$dir/duckdb-out" > "$dir/duckdb.out"; } 2> "$dir/duckdb.time"
  local drows dsecs dcpu tcpu out twritten tsecs inlake again asecs inlake2 dsize tsize
  read -r drows dsecs < "$dir/duckdb.out"
  dcpu=$(cpu_of "$dir/duckdb.time")
  [ "$drows" = "$nrows" ] || { echo "duckdb wrote $drows rows, expected $nrows" >&2; exit 1; }
  proj=$dir/project
  rm -rf "$proj"
  "$tt" init "$proj" > /dev/null
  sync
  { time "$tt" -C "$proj" --log-level warn ingest --no-progress --output json \
      --schema "$proj/schemas/fleet.yaml" --table telemetry "$input" > "$dir/telltale.out"; } 2> "$dir/telltale.time"
  out=$(cat "$dir/telltale.out")
  tcpu=$(cpu_of "$dir/telltale.time")
  twritten=$(echo "$out" | sed -n 's/.*"written":\([0-9]*\).*/\1/p')
  tsecs=$(echo "$out" | sed -n 's/.*"seconds":\([0-9.]*\).*/\1/p')
  [ "$twritten" = "$nrows" ] || { echo "telltale wrote $twritten rows, expected $nrows: $out" >&2; exit 1; }
  inlake=$("$tt" -C "$proj" lake query --output csv "SELECT count(*) AS n FROM telemetry" | tail -1)
  [ "$inlake" = "$nrows" ] || { echo "lake holds $inlake rows, expected $nrows" >&2; exit 1; }
  again=$("$tt" -C "$proj" --log-level warn ingest --no-progress --output json \
            --schema "$proj/schemas/fleet.yaml" --table telemetry "$input")
  asecs=$(echo "$again" | sed -n 's/.*"seconds":\([0-9.]*\).*/\1/p')
  inlake2=$("$tt" -C "$proj" lake query --output csv "SELECT count(*) AS n FROM telemetry" | tail -1)
  [ "$inlake2" = "$nrows" ] || { echo "re-ingest changed the lake: $inlake2 rows" >&2; exit 1; }
  dsize=$(du -sb "$dir/duckdb-out" | cut -f1)
  tsize=$(du -sb "$proj/lake/telemetry" | cut -f1)
  echo "$label: $nrows rows; machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  awk -v r="$nrows" -v d="$dsecs" -v t="$tsecs" -v a="$asecs" -v ds="$dsize" -v ts="$tsize" \
      -v dc="$dcpu" -v tc="$tcpu" -v what="$label" 'BEGIN {
    printf "%-34s %10s %8s %8s %14s %8s\n", "", "rows/s", "wall s", "CPU s", "rows/CPU-s", "MB"
    printf "%-34s %10.0f %8.2f %8.2f %14.0f %8.0f\n", "duckdb " what " -> COPY parquet", r / d, d, dc, r / dc, ds / 1e6
    printf "%-34s %10.0f %8.2f %8.2f %14.0f %8.0f\n", "telltale ingest (validating)", r / t, t, tc, r / tc, ts / 1e6
    printf "ratio telltale/duckdb: rows/s %.2f, rows per CPU-second %.2f\n", d / t, dc / tc
    printf "re-ingest of the same file: %.2f s (nothing written)\n\n", a
  }'
  rm -rf "$dir/duckdb-out" "$proj"
}

compare "$csv" "$rows" "read_csv"

# JSON lines: the first rows of the same data, written as JSONL by DuckDB.
jrows=${BENCH_JSON_ROWS:-$(awk -v s="${BENCH_SCALE:-1}" 'BEGIN { printf "%d", 2000000 * s }')}
jsonl=$dir/telemetry.jsonl
if [ ! -s "$jsonl" ] || [ "$(cat "$dir/telemetry.jrows" 2>/dev/null)" != "$jrows" ]; then
  "$tt" --set lake="$dir/tmp-lake" lake query \
    "COPY (SELECT * FROM read_csv('$csv', header = true) LIMIT $jrows) TO '$jsonl' (FORMAT json)" > /dev/null
  rm -rf "$dir/tmp-lake"
  echo "$jrows" > "$dir/telemetry.jrows"
fi
compare "$jsonl" "$jrows" "read_json"

