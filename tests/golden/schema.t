# telltale schema: validate, register, evolve, show, diff.
$ telltale init p
created project in p

$ telltale -C p schema validate

$ telltale -C p schema register
p/schemas/fleet.yaml: fleet version 1 (registered)

$ telltale -C p schema register
p/schemas/fleet.yaml: fleet version 1 (unchanged)

$ telltale -C p schema list | cut -c1-32
NAME                     VERSION
fleet                    1      

$ telltale -C p schema show fleet | grep -A3 '^table dtc'
table dtc (events): entity vehicle_id, time ts (timestamp, us)
  Diagnostic trouble codes raised by the vehicle
  COLUMN                   TYPE       UNIT     REQUIRED  MIN          MAX          DESCRIPTION
  vehicle_id               string              yes                                 

$ sed -i 's/  - {name: region, type: string}/&\n      - {name: depot, type: string}/' p/schemas/fleet.yaml && telltale -C p schema register
p/schemas/fleet.yaml: fleet version 2 (registered)
  + table vehicles column depot (string, optional)

$ sed -i 's/{name: severity, type: int64/{name: severity, type: double/' p/schemas/fleet.yaml && telltale -C p schema register
telltale: p/schemas/fleet.yaml: incompatible change to schema fleet (latest version 2); see the diff, or register with force
  ~ table dtc column severity type int64 -> double  [incompatible]
? 65

$ telltale -C p schema diff fleet
~ table dtc column severity type int64 -> double  [incompatible]
? 65

$ telltale -C p schema diff fleet:1 fleet:2
+ table vehicles column depot (string, optional)

$ telltale -C p schema show fleet:7
telltale: schema fleet:7 not found
? 66

$ printf 'name: x\ntables:\n  t:\n    kind: events\n    entity: v\n    time: ts\n    columns:\n      - {name: v, type: string}\n' > bad.yaml && telltale -C p schema validate bad.yaml
telltale: bad.yaml:6: field 'tables.t.time.column': time column 'ts' is not among the columns
? 65
