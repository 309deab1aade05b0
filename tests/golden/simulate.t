# telltale simulate: files, summary, manifest, bad arguments.
$ telltale simulate --vehicles 3 --days 2 --seed 1 --out fleet --no-progress
simulated 3 vehicles over 2 days into fleet
  telemetry rows                   2479  (2479 valid, 0 out of range)
  dtc rows                            0
  maintenance rows                    0  (0 scheduled services)
  failures rows                       0  (battery 0, cooling 0, brakes 0, tyres 0)
  vehicles rows                       3
imperfections: 0 silent vehicles (0 silent vehicle-days), 0 dropout values, 1 spikes (0 out of range), 0 duplicates, 0 late rows
.* s, .* telemetry rows/s (re)

$ ls fleet; ls fleet/telemetry
dtc.csv
failures.csv
maintenance.csv
simulation.json
telemetry
vehicles.csv
telemetry-2026-01-01.csv
telemetry-2026-01-02.csv

$ cat fleet/vehicles.csv
vehicle_id,valid_from,model,engine_type,build_year,fleet,region
V00001,2026-01-01T00:00:00Z,box-truck,diesel,2026,coastal-delivery,mediterranean
V00002,2026-01-01T00:00:00Z,compact-car,hybrid,2023,southern-services,southern
V00003,2026-01-01T00:00:00Z,box-truck,diesel,2021,nordic-freight,nordic

$ head -1 fleet/telemetry/telemetry-2026-01-01.csv; head -1 fleet/failures.csv
vehicle_id,ts,odometer_km,engine_running,engine_rpm,speed_kmh,coolant_temp_c,oil_pressure_kpa,battery_voltage_v,cranking_voltage_v,brake_pad_mm,tyre_pressure_fl_kpa,tyre_pressure_fr_kpa,tyre_pressure_rl_kpa,tyre_pressure_rr_kpa,ambient_temp_c,fuel_level_pct
vehicle_id,ts,component

$ sed -n 5p fleet/simulation.json
  "counts": {"telemetry": 2479, "telemetry_valid": 2479, "telemetry_out_of_range": 0, "dtc": 0, "maintenance": 0, "failures": 0, "vehicles": 3, "telemetry_files": 2},

# Another format replaces the files of the earlier run.
$ telltale simulate --vehicles 3 --days 1 --seed 1 --out fleet --format jsonl --no-progress --output json | grep -o '"telemetry":[0-9]*,"telemetry_valid":[0-9]*'; ls fleet/telemetry
"telemetry":1104,"telemetry_valid":1104
telemetry-2026-01-01.jsonl

$ telltale simulate --vehicles 3 --days 2 --out fleet
telltale: simulate needs --vehicles, --days, --seed and --out (see --help)
? 64

$ telltale simulate --vehicles 3 --days 2 --seed 1 --out fleet --interval 90m
telltale: field 'interval': interval must be whole seconds from 1s to 1h (e.g. 60s)
? 64

$ telltale simulate --vehicles 0 --days 2 --seed 1 --out fleet
telltale: --vehicles wants a positive integer, got '0'
? 64
