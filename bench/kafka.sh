#!/usr/bin/env bash
# Kafka benchmark: telemetry messages in the dev broker (librdkafka's mock
# cluster, `telltale dev kafka`), consumed to the end by kcat into /dev/null
# (the upper bound for a Kafka consumer on this machine) and by
# `telltale ingest kafka://…` (validating every record and writing zstd
# Parquet, exactly once), on the same topic in the same run; then, when
# redis-server is installed, by `telltale features stream --source
# kafka://…` (the 31 features of bench/features_bench.yaml into Redis,
# exactly once). Prints messages/s of each and the ratios to kcat (ingest
# goal: >= 0.5).
#   BENCH_KAFKA_MESSAGES (default 5000000 × BENCH_SCALE), BENCH_KAFKA_PARTITIONS
#   (default 256: the mock keeps only ~5 MB per partition), BENCH_VEHICLES
#   (default 1000), BENCH_DIR (scratch space, default a new /tmp dir removed after)
set -euo pipefail
cd "$(dirname "$0")/.."
tt=${TT:-$PWD/build/cli/telltale}
build=$(dirname "$(dirname "$tt")")
n=${BENCH_KAFKA_MESSAGES:-$(awk -v s="${BENCH_SCALE:-1}" 'BEGIN { printf "%d", 5000000 * s }')}
parts=${BENCH_KAFKA_PARTITIONS:-256}
vehicles=${BENCH_VEHICLES:-1000}
command -v kcat >/dev/null || { echo "kcat is not installed (Debian package kcat)" >&2; exit 1; }
if [ -n "${BENCH_DIR:-}" ]; then dir=$BENCH_DIR; mkdir -p "$dir"; else
  dir=$(mktemp -d /tmp/telltale-bench-kafka.XXXXXX)
fi
devpid=
cleanup() {
  [ -n "$devpid" ] && kill "$devpid" 2>/dev/null && wait "$devpid" 2>/dev/null
  [ -z "${BENCH_DIR:-}" ] && rm -rf "$dir"
  return 0
}
trap cleanup EXIT
now() { date +%s.%N; }

csv=$dir/telemetry-kafka.csv
if [ ! -s "$csv" ] || [ "$(cat "$dir/telemetry-kafka.rows" 2>/dev/null)" != "$n" ]; then
  echo "generating $n telemetry rows ($vehicles vehicles)…"
  "$build/bench/bench_gen_telemetry" "$n" "$vehicles" > "$csv"
  echo "$n" > "$dir/telemetry-kafka.rows"
fi

rm -f "$dir/addr"
"$tt" dev kafka --brokers 1 --topic bench --partitions "$parts" --address-file "$dir/addr" \
  > /dev/null 2> "$dir/dev.log" &
devpid=$!
for _ in $(seq 200); do [ -s "$dir/addr" ] && break; sleep 0.05; done
addr=$(cat "$dir/addr")

t0=$(now)
"$tt" --log-level warn replay --to "kafka://$addr/bench" "$csv" > /dev/null
t1=$(now)

# The mock broker drops the oldest messages of a full partition silently:
# every partition's low watermark must still be 0 and the high ones must
# add up to n, or the comparison below would be on different data.
q=()
for p in $(seq 0 $((parts - 1))); do q+=(-t "bench:$p:-2"); done
lows=$(kcat -Q -b "$addr" "${q[@]}" 2>/dev/null | awk '{ s += $NF } END { print s + 0 }')
q=()
for p in $(seq 0 $((parts - 1))); do q+=(-t "bench:$p:-1"); done
highs=$(kcat -Q -b "$addr" "${q[@]}" 2>/dev/null | awk '{ s += $NF } END { print s + 0 }')
if [ "$lows" != 0 ] || [ "$highs" != "$n" ]; then
  echo "the dev broker did not keep every message (low watermarks sum $lows, high $highs," \
       "want 0 and $n): use more partitions (BENCH_KAFKA_PARTITIONS)" >&2
  exit 1
fi

t2=$(now)
kcat -C -b "$addr" -t bench -e -o beginning -q > /dev/null
t3=$(now)

proj=$dir/project
rm -rf "$proj"
"$tt" init "$proj" > /dev/null
sync
t4=$(now)
out=$("$tt" -C "$proj" --log-level warn ingest "kafka://$addr/bench" --group bench \
        --schema "$proj/schemas/fleet.yaml" --output json)
t5=$(now)
rows=$(echo "$out" | sed -n 's/.*"rows":\([0-9]*\).*/\1/p')
[ "$rows" = "$n" ] || { echo "telltale landed $rows rows, expected $n: $out" >&2; exit 1; }
inlake=$("$tt" -C "$proj" lake query --output csv "SELECT count(*) AS n FROM telemetry" | tail -1)
[ "$inlake" = "$n" ] || { echo "lake holds $inlake rows, expected $n" >&2; exit 1; }

# The online store: the same topic through the feature engine into Redis.
f=0
if command -v redis-server > /dev/null; then
  cp bench/features_bench.yaml "$proj/features/bench_health.yaml"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  (cd "$dir" && exec redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
     --logfile redis.log) &
  rpid=$!
  for _ in $(seq 100); do redis-cli -p "$port" ping > /dev/null 2>&1 && break; sleep 0.1; done
  t6=$(now)
  sout=$("$tt" -C "$proj" --log-level warn --set "online_store=redis://127.0.0.1:$port" \
           --set "kafka.schema=$proj/schemas/fleet.yaml" features stream --set bench_health \
           --source "kafka://$addr/bench" --output json)
  t7=$(now)
  kill "$rpid"
  wait "$rpid" 2> /dev/null || true
  ev=$(echo "$sout" | sed -n 's/.*"events":\([0-9]*\).*/\1/p')
  inv=$(echo "$sout" | sed -n 's/.*"invalid":\([0-9]*\).*/\1/p')
  [ "$((ev + inv))" = "$n" ] || { echo "features stream folded $ev (+$inv invalid), expected $n: $sout" >&2; exit 1; }
  f=$(echo "$t7 - $t6" | bc)
fi

awk -v n="$n" -v p="$parts" -v r="$(echo "$t1 - $t0" | bc)" -v k="$(echo "$t3 - $t2" | bc)" \
    -v t="$(echo "$t5 - $t4" | bc)" -v f="$f" 'BEGIN {
  printf "topic: %d telemetry messages (JSON), %d partitions, dev broker\n", n, p
  printf "%-40s %10.0f msg/s  %7.2f s\n", "telltale replay (CSV -> Kafka)", n / r, r
  printf "%-40s %10.0f msg/s  %7.2f s\n", "kcat -C -e -o beginning > /dev/null", n / k, k
  printf "%-40s %10.0f msg/s  %7.2f s\n", "telltale ingest kafka:// -> Parquet", n / t, t
  printf "ratio telltale/kcat: %.2f (goal >= 0.5)\n", k / t
  if (f > 0) {
    printf "%-40s %10.0f msg/s  %7.2f s\n", "telltale features stream kafka:// -> Redis", n / f, f
    printf "ratio features stream/kcat: %.2f\n", k / f
  }
}'
