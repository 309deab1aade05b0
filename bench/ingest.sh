#!/usr/bin/env bash
# Ingest benchmark: telemetry CSV → date-partitioned zstd Parquet, by
# `telltale ingest` (validating every record against the schema) and by
# DuckDB alone (read_csv → COPY … PARTITION_BY (date), bench/duckdb_convert.c),
# on the same file, same machine, same run. Prints rows/s and the ratio.
#   BENCH_ROWS (default 10000000 × BENCH_SCALE), BENCH_VEHICLES (default 1000),
#   BENCH_DIR (scratch space, default a new /tmp/telltale-bench.* removed after)
set -euo pipefail
cd "$(dirname "$0")/.."
tt=${TT:-$PWD/build/cli/telltale}
build=$(dirname "$(dirname "$tt")")
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

# DuckDB alone.
rm -rf "$dir/duckdb-out"
sync
read -r drows dsecs < <("$build/bench/duckdb_convert" "$csv" "$dir/duckdb-out")
[ "$drows" = "$rows" ] || { echo "duckdb wrote $drows rows, expected $rows" >&2; exit 1; }

# telltale, in a fresh project with the example fleet schema.
proj=$dir/project
rm -rf "$proj"
"$tt" init "$proj" > /dev/null
sync
out=$("$tt" -C "$proj" --log-level warn ingest --no-progress --output json \
        --schema "$proj/schemas/fleet.yaml" --table telemetry "$csv")
twritten=$(echo "$out" | sed -n 's/.*"written":\([0-9]*\).*/\1/p')
tsecs=$(echo "$out" | sed -n 's/.*"seconds":\([0-9.]*\).*/\1/p')
[ "$twritten" = "$rows" ] || { echo "telltale wrote $twritten rows, expected $rows: $out" >&2; exit 1; }
inlake=$("$tt" -C "$proj" lake query --output csv "SELECT count(*) AS n FROM telemetry" | tail -1)
[ "$inlake" = "$rows" ] || { echo "lake holds $inlake rows, expected $rows" >&2; exit 1; }

# Re-ingesting the same file must change nothing (and is fast).
again=$("$tt" -C "$proj" --log-level warn ingest --no-progress --output json \
          --schema "$proj/schemas/fleet.yaml" --table telemetry "$csv")
asecs=$(echo "$again" | sed -n 's/.*"seconds":\([0-9.]*\).*/\1/p')
inlake2=$("$tt" -C "$proj" lake query --output csv "SELECT count(*) AS n FROM telemetry" | tail -1)
[ "$inlake2" = "$rows" ] || { echo "re-ingest changed the lake: $inlake2 rows" >&2; exit 1; }

dsize=$(du -sb "$dir/duckdb-out" | cut -f1)
tsize=$(du -sb "$proj/lake/telemetry" | cut -f1)
awk -v r="$rows" -v d="$dsecs" -v t="$tsecs" -v a="$asecs" -v ds="$dsize" -v ts="$tsize" 'BEGIN {
  printf "%-34s %10.0f rows/s  %7.2f s  %6.0f MB parquet\n", "duckdb read_csv -> COPY parquet", r / d, d, ds / 1e6
  printf "%-34s %10.0f rows/s  %7.2f s  %6.0f MB parquet\n", "telltale ingest (validating)", r / t, t, ts / 1e6
  printf "ratio telltale/duckdb (rows/s):    %.2f\n", d / t
  printf "re-ingest of the same file:        %.2f s (nothing written)\n", a
}'
rm -rf "$dir/duckdb-out" "$proj"
