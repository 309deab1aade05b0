#!/usr/bin/env bash
# Registry: versions registered per second through tt_registry_put (lock the
# name, next version, sha256 dedup lookup, insert — one transaction each),
# side by side with what a user would write by hand: one plain INSERT per
# row in its own transaction, same table shape and the same durability
# settings (Python's sqlite3 module with WAL + synchronous=NORMAL; psql over
# one connection). The ratio is the registry's overhead for its guarantees.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
put=${BENCH_BUILD:-$here/build}/bench/registry_put
n=$(python3 -c "print(max(50, int(2000 * float('${BENCH_SCALE:-1}'))))")
work=$(mktemp -d)
# Stop the server before removing the directory that says where it is.
trap '"$here/tests/services/postgres" stop "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
cd "$work"

content_py='
def content(i):
    f = ",".join("{\"agg\":\"mean\",\"window\":\"7d\",\"x\":%d}" % k for k in range(40))
    return "{\"i\":%d,\"features\":[%s]}" % (i, f)
'

# SQLite
read -r _ t_reg < <("$put" sqlite:reg.db "$n")
t_raw=$(python3 - "$n" <<PY
import sqlite3, sys, time, hashlib
$content_py
n = int(sys.argv[1])
db = sqlite3.connect("raw.db", isolation_level=None)
db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=NORMAL")
db.execute("CREATE TABLE objects (kind TEXT, name TEXT, version BIGINT, content TEXT, sha256 TEXT, created_at BIGINT, created_by TEXT, description TEXT, tags TEXT, PRIMARY KEY (kind, name, version))")
t0 = time.monotonic()
for i in range(n):
    c = content(i)
    db.execute("BEGIN")
    db.execute("INSERT INTO objects VALUES (?,?,?,?,?,?,?,?,?)", ("feature_set", "bench", i + 1, c, hashlib.sha256(c.encode()).hexdigest(), 0, "me", "benchmark", "[]"))
    db.execute("COMMIT")
print("%.6f" % (time.monotonic() - t0))
PY
)
python3 - "$n" "$t_reg" "$t_raw" <<'PY'
import sys
n, a, b = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
print(f"registry sqlite:     {n} versions, telltale {n/a:8.0f}/s, plain INSERT (python sqlite3) {n/b:8.0f}/s, ratio telltale/plain {(n/a)/(n/b):.2f}")
PY

# PostgreSQL
url=$("$here/tests/services/postgres" start "$work/pg" $$)
read -r _ t_reg < <("$put" "$url" "$n")
python3 - "$n" <<PY > raw.sql
import sys, hashlib
$content_py
n = int(sys.argv[1])
print("CREATE TABLE raw (kind TEXT, name TEXT, version BIGINT, content TEXT, sha256 TEXT, created_at BIGINT, created_by TEXT, description TEXT, tags TEXT, PRIMARY KEY (kind, name, version));")
print("\\\\timing on")
for i in range(n):
    c = content(i)
    print("INSERT INTO raw VALUES ('feature_set','bench',%d,'%s','%s',0,'me','benchmark','[]');" % (i + 1, c, hashlib.sha256(c.encode()).hexdigest()))
PY
t0=$(date +%s.%N)
psql -qX "$url" -f raw.sql >/dev/null
t1=$(date +%s.%N)
python3 - "$n" "$t_reg" "$t0" "$t1" <<'PY'
import sys
n, a, b = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[4]) - float(sys.argv[3])
print(f"registry postgresql: {n} versions, telltale {n/a:8.0f}/s, plain INSERT (psql)           {n/b:8.0f}/s, ratio telltale/plain {(n/a)/(n/b):.2f}")
PY
