# Core CLI behaviour: init, config, usage errors and exit codes.
$ telltale init proj
created project in proj

$ telltale -C proj config show --output json | grep -o '"name":"lake","value":"lake","source":"file"'
"name":"lake","value":"lake","source":"file"

$ TELLTALE_LAKE=/srv/lake telltale -C proj config show | grep '^lake '
lake                     /srv/lake                        env

$ telltale -C proj --set lake=/x config show | grep '^lake '
lake                     /x                               flag

$ telltale frobnicate
telltale: unknown command 'frobnicate' (see `telltale --help`)
? 64

$ telltale --set ingest.threads=lots config show
telltale: field 'ingest.threads': 'lots' is not an integer
? 78

$ printf 'lake: [oops\n' > bad.yaml && mkdir -p badproj && mv bad.yaml badproj/telltale.yaml && telltale -C badproj config show
telltale: badproj/telltale.yaml:2: YAML: .* (re)
? 78

$ telltale --version
telltale [0-9]+\.[0-9]+\.[0-9]+ (re)
