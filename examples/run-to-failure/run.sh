#!/usr/bin/env bash
# The run-to-failure recipe with telltale commands and YAML only:
# generate data, ingest it, train, evaluate at each test unit's last cycle,
# and list the units closest to failure. Usage: run.sh [WORKDIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
TT=${TT:-$here/../../build/cli/telltale}
work=${1:-$here/work}
rm -rf "$work"
mkdir -p "$work"
cp -r "$here/telltale.yaml" "$here/schemas" "$here/features" "$here/models" "$work/"
cd "$work"
python3 "$here/generate.py" data --units "${UNITS:-100}" --test-units "${TEST_UNITS:-40}" --seed 1
"$TT" --log-level warn ingest --no-progress --schema schemas/engines.yaml data/cycles.csv data/failures.csv
"$TT" train models/engine_rul.yaml
test_units=$(cut -d, -f1 data/failures.csv | grep '^test_' | paste -sd,)
"$TT" evaluate --model engine_rul --as-of last --vehicles "$test_units"
"$TT" predict batch --model engine_rul --as-of last --vehicles "$test_units" --limit 10
