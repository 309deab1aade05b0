# telltale registry: info and search across kinds.
$ telltale init p >/dev/null && telltale -C p schema register >/dev/null && telltale -C p registry info | grep -v '^$'
url              sqlite:telltale.db
backend          sqlite
layout version   2
KIND                NAMES  VERSIONS
schema                  1         1

$ telltale -C p registry search CRANKING | cut -c1-45
KIND         NAME                     VERSION
schema       fleet                    1      

$ telltale -C p registry search cranking --kind model
KIND         NAME                     VERSION REGISTERED           BY           DESCRIPTION

$ telltale -C p registry search fleet --output json | grep -c '"kind": "schema"'
1

$ telltale -C p registry info extra
telltale: registry info takes no arguments
? 64

$ telltale -C p registry frob
telltale: unknown registry verb 'frob' (see `telltale registry --help`)
? 64

$ telltale -C p --set 'registry=postgresql://u:hunter2@127.0.0.1:1/db?connect_timeout=2' registry info 2>&1 | grep -c hunter2
0
? 1
