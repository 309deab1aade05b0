#!/usr/bin/env bash
# Training benchmark: on a simulated fleet (default 1000 vehicles × 90 days),
# the time telltale takes to build the battery model's training set (spine,
# labels, point-in-time features from the lake) beside the time XGBoost
# itself takes to train on those rows (DMatrix + boosting, measured around
# the C API calls), as a ratio. Also reports the test metrics.
#   BENCH_VEHICLES (default 1000 × BENCH_SCALE, at least 50), BENCH_DAYS (90),
#   BENCH_INTERVAL (sampling interval while driving, default 300s),
#   BENCH_TRAIN_THREADS (XGBoost nthread, default 0 = every core),
#   BENCH_DIR (scratch space, default a new /tmp/telltale-bench.* removed after)
set -euo pipefail
cd "$(dirname "$0")/.."
tt=${TT:-$PWD/build/cli/telltale}
vehicles=${BENCH_VEHICLES:-$(awk -v s="${BENCH_SCALE:-1}" 'BEGIN { v = int(1000 * s); print (v < 50 ? 50 : v) }')}
days=${BENCH_DAYS:-90}
interval=${BENCH_INTERVAL:-300s}
if [ -n "${BENCH_DIR:-}" ]; then dir=$BENCH_DIR; else
  dir=$(mktemp -d /tmp/telltale-bench.XXXXXX)
  trap 'rm -rf "$dir"' EXIT
fi
proj=$dir/train-project
rm -rf "$proj"
"$tt" init "$proj" > /dev/null
cd "$proj"
echo "simulating $vehicles vehicles × $days days (interval $interval)…"
"$tt" simulate --vehicles "$vehicles" --days "$days" --seed 42 --interval "$interval" --out sim > /dev/null
"$tt" --log-level warn ingest --no-progress --schema schemas/fleet.yaml \
  sim/telemetry sim/dtc.csv sim/maintenance.csv sim/failures.csv sim/vehicles.csv > /dev/null
rows=$("$tt" lake query --output csv 'SELECT count(*) FROM telemetry' | tail -1)
echo "lake: $rows telemetry rows"
for m in battery_7d cooling_7d brakes_14d; do
  "$tt" --log-level warn --set train.threads="${BENCH_TRAIN_THREADS:-0}" train --output json "models/$m.yaml" > "$m.json"
  python3 - "$m" "$m.json" <<'PY'
import json, sys
name, path = sys.argv[1], sys.argv[2]
r = json.load(open(path))
b, x = r["build_seconds"], r["training"]["xgboost_seconds"]
rows = sum(r["rows"][p] for p in ("train", "validation", "test"))
t = r["metrics"]["test"]
f = lambda v: "n/a" if v is None else f"{v:.3f}"
print(f"{name}: {rows} rows × {len(r['feature_names'])} features; "
      f"build {b:.2f} s, XGBoost {x:.2f} s ({r['training']['rounds_run']} rounds): build/XGBoost = {b / x:.2f}")
print(f"  test: ROC-AUC {f(t['roc_auc'])}, PR-AUC {f(t['pr_auc'])}, precision {f(t['precision'])}, "
      f"recall {f(t['recall'])}, positives {t['positives']} of {t['n']}; fit {r['training']['verdict']}")
PY
done
