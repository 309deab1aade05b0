#!/usr/bin/env bash
# Simulator benchmark: `telltale simulate` (physics, failures, imperfections,
# formatting, one file per day) against bench_gen_telemetry, a plain printf
# loop writing the same number of rows of the same columns with random
# values and no physics: what a user would write for test data. Same
# machine, same run; prints rows/s and the ratio.
#   BENCH_SCALE scales the fleet (default 250 vehicles × 90 days ≈ 10 M rows),
#   BENCH_DIR scratch space (default a new /tmp/telltale-bench.* removed after)
set -euo pipefail
cd "$(dirname "$0")/.."
tt=${TT:-$PWD/build/cli/telltale}
build=$(dirname "$(dirname "$tt")")
vehicles=$(awk -v s="${BENCH_SCALE:-1}" 'BEGIN { v = int(250 * s); print (v < 1 ? 1 : v) }')
days=90
if [ -n "${BENCH_DIR:-}" ]; then dir=$BENCH_DIR; else
  dir=$(mktemp -d /tmp/telltale-bench.XXXXXX)
  trap 'rm -rf "$dir"' EXIT
fi
mkdir -p "$dir"
rm -rf "$dir/sim"
sync
out=$("$tt" simulate --vehicles "$vehicles" --days "$days" --seed 1 --out "$dir/sim" \
        --no-progress --output json)
rows=$(echo "$out" | sed -n 's/.*"telemetry":\([0-9]*\),.*/\1/p')
ssecs=$(echo "$out" | sed -n 's/.*"seconds":\([0-9.]*\).*/\1/p')
rm -rf "$dir/sim"
sync
start=$(date +%s.%N)
"$build/bench/bench_gen_telemetry" "$rows" "$vehicles" > "$dir/gen.csv"
end=$(date +%s.%N)
gsecs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
rm -f "$dir/gen.csv"
awk -v r="$rows" -v s="$ssecs" -v g="$gsecs" -v v="$vehicles" -v d="$days" 'BEGIN {
  printf "%-44s %10.0f rows/s  %7.2f s\n", "printf loop, random values (bench_gen_telemetry)", r / g, g
  printf "%-44s %10.0f rows/s  %7.2f s  (%d vehicles x %d days, %d rows)\n", "telltale simulate", r / s, s, v, d, r
  printf "ratio simulate / printf loop: %.2f\n", g / s
}'
