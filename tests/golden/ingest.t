# File ingest, dead letters, idempotent re-runs, lake query and stats.
$ telltale init proj
created project in proj

$ printf 'vehicle_id;ts;code;severity\nV1;2026-01-01T10:00:00Z;P0300;2\nV2;2026-01-02T08:00:00Z;P0420;9\nV3;1767312000;P0171;\n' > proj/dtc-2026-01.csv

$ cd proj && telltale --log-level warn ingest --no-progress --schema schemas/fleet.yaml dtc-2026-01.csv
files          1 (0.0 MB)
read           3
written        2
dead-lettered  1
  out_of_range     1
rate .* (re)

$ cd proj && telltale --log-level warn ingest --no-progress --output json --schema schemas/fleet.yaml dtc-2026-01.csv | grep -o '"read":.*"chunks_skipped":1'
"read":3,"written":2,"deadlettered":1,"already_ingested":3,"chunks":0,"chunks_skipped":1

$ cd proj && telltale lake query --output csv "SELECT vehicle_id, ts, code, severity, date FROM dtc ORDER BY ts"
vehicle_id,ts,code,severity,date
V1,2026-01-01 10:00:00,P0300,2,2026-01-01
V3,2026-01-02 00:00:00,P0171,,2026-01-02

$ cd proj && telltale lake query --output json "SELECT reason, field, line, raw, table_name FROM _deadletter"
[
{"reason":"out_of_range","field":"severity","line":3,"raw":"V2;2026-01-02T08:00:00Z;P0420;9","table_name":"dtc"}
]

$ cd proj && telltale lake stats
table                    rows   files        bytes partitions  from                  to                    vehicles
_deadletter                 1       1 .* (re)
dtc                         2       2 .*  2026-01-01T10:00:00Z  2026-01-02T00:00:00Z         2 (re)

$ cd proj && telltale ingest --no-progress --schema schemas/fleet.yaml nothing.csv 2>&1 >/dev/null
.*ingest: nothing.csv: cannot read: No such file or directory (re)
telltale: nothing.csv: cannot read: No such file or directory
? 66

$ cd proj && telltale lake query "SELEC 1"
telltale: Parser Error: syntax error at or near "SELEC".* (re)
? 1
