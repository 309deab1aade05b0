/* Fleet simulator: determinism, counts against the files, schema ranges,
 * imperfections, and degradation before each failure. */
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sim/buf.h"
#include "sim/model.h"
#include "sim/rng.h"
#include "telltale/schema.h"
#include "telltale/sim.h"
#include "telltale/time.h"
#include "tt_test.h"

static void run_sim(const char *dir, int64_t vehicles, int64_t days, uint64_t seed,
                    int64_t interval_s, tt_sim_format f, int threads, tt_sim_counts *c) {
  tt_sim_options o;
  tt_sim_options_init(&o);
  o.vehicles = vehicles;
  o.days = days;
  o.seed = seed;
  o.interval_us = interval_s * TT_USEC_PER_SEC;
  o.format = f;
  o.threads = threads;
  o.out_dir = dir;
  tt_error e;
  tt_error_clear(&e);
  tt_err rc = tt_sim_run(&o, c, &e);
  char buf[1200];
  CHECK_MSG(rc == TT_OK, "tt_sim_run: %s", tt_error_format(&e, buf, sizeof buf));
}

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  CHECK_MSG(f != NULL, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *p = malloc((size_t)n + 1);
  CHECK(p != NULL);
  CHECK(fread(p, 1, (size_t)n, f) == (size_t)n);
  p[n] = 0;
  fclose(f);
  if (len) *len = (size_t)n;
  return p;
}

static json_t *manifest(const char *dir) {
  char path[512];
  snprintf(path, sizeof path, "%s/simulation.json", dir);
  json_error_t je;
  json_t *m = json_load_file(path, 0, &je);
  CHECK_MSG(m != NULL, "simulation.json: %s at line %d", je.text, je.line);
  return m;
}

static long long jint(json_t *m, const char *obj, const char *key) {
  json_t *o = obj ? json_object_get(m, obj) : m;
  json_t *v = json_object_get(o, key);
  CHECK_MSG(json_is_integer(v), "manifest %s.%s missing", obj ? obj : "", key);
  return (long long)json_integer_value(v);
}

TT_TEST(same_arguments_same_bytes_any_threads) {
  tt_sim_counts a, b;
  run_sim("a", 30, 6, 42, 60, TT_SIM_CSV, 1, &a);
  run_sim("b", 30, 6, 42, 60, TT_SIM_CSV, 3, &b);
  CHECK_EQ_INT(a.telemetry, b.telemetry);
  CHECK(a.telemetry > 0);
  CHECK_EQ_INT(tt_test_sh("diff -r a b >/dev/null"), 0);
  /* JSON lines too, and a run into a used directory replaces its files */
  run_sim("a", 30, 4, 42, 60, TT_SIM_JSONL, 2, &a);
  run_sim("b", 30, 4, 42, 60, TT_SIM_JSONL, 1, &b);
  CHECK_EQ_INT(tt_test_sh("diff -r a b >/dev/null"), 0);
  CHECK_EQ_INT(tt_test_sh("ls a/telemetry | grep -c jsonl | grep -qx 4"), 0);
  CHECK_EQ_INT(tt_test_sh("test ! -e a/dtc.csv && test ! -e a/telemetry/telemetry-2026-01-05.csv"),
               0);
  /* another seed gives other data */
  run_sim("c", 30, 4, 43, 60, TT_SIM_JSONL, 2, &b);
  CHECK(
      tt_test_sh(
          "cmp -s a/telemetry/telemetry-2026-01-02.jsonl c/telemetry/telemetry-2026-01-02.jsonl") !=
      0);
}

TT_TEST(vehicle_does_not_depend_on_fleet_size) {
  tt_sim_counts a, b;
  run_sim("small", 3, 3, 7, 60, TT_SIM_CSV, 1, &a);
  run_sim("large", 12, 3, 7, 60, TT_SIM_CSV, 2, &b);
  /* vehicle V00002's rows are the same in both fleets */
  CHECK_EQ_INT(tt_test_sh("for f in small/telemetry/*.csv; do b=$(basename $f); "
                          "grep ^V00002, $f >s.txt; grep ^V00002, large/telemetry/$b >l.txt; "
                          "test -s s.txt && cmp -s s.txt l.txt || exit 1; done"),
               0);
  CHECK_EQ_INT(
      tt_test_sh(
          "grep ^V00002, small/vehicles.csv >s.txt; grep ^V00002, large/vehicles.csv >l.txt; "
          "cmp -s s.txt l.txt"),
      0);
}

/* Ranges of the telemetry table, from the example schema itself (parsed by
 * the schema module), so the simulator's own range table cannot drift. */
typedef struct range {
  char name[64];
  int has_min, has_max;
  double min, max;
} range;

static int load_ranges(range *r, int max) {
  char path[1024];
  snprintf(path, sizeof path, "%s/src/project/example_schema.yaml", tt_test_source_dir());
  tt_schema *s = NULL;
  tt_error e;
  tt_error_clear(&e);
  CHECK_MSG(tt_schema_parse_file(path, &s, &e) == TT_OK, "%s: %s", path, e.msg);
  const tt_table_def *t = tt_schema_table(s, "telemetry");
  CHECK(t != NULL);
  int n = 0;
  for (size_t i = 0; i < t->ncolumns && n < max; i++, n++) {
    const tt_column_def *c = &t->columns[i];
    snprintf(r[n].name, sizeof r[n].name, "%s", c->name);
    r[n].has_min = c->has_min;
    r[n].has_max = c->has_max;
    r[n].min = c->min;
    r[n].max = c->max;
  }
  tt_schema_destroy(s);
  return n;
}

/* Split a CSV line (no quoting in the simulator's output) in place. */
static int split(char *line, char **f, int max) {
  int n = 0;
  f[n++] = line;
  for (char *p = line; *p && n < max; p++)
    if (*p == ',') {
      *p = 0;
      f[n++] = p + 1;
    }
  return n;
}

TT_TEST(counts_match_files_and_ranges_hold) {
  tt_sim_counts c;
  /* enough rows for every kind of imperfection to occur */
  run_sim("out", 60, 12, 5, 60, TT_SIM_CSV, 2, &c);
  json_t *m = manifest("out");
  CHECK_EQ_INT(jint(m, "counts", "telemetry"), c.telemetry);
  CHECK_EQ_INT(jint(m, "counts", "telemetry_valid"), c.telemetry_valid);
  CHECK_EQ_INT(jint(m, "counts", "telemetry_out_of_range"), c.telemetry_out_of_range);
  CHECK_EQ_INT(jint(m, "imperfections", "duplicates"), c.duplicates);
  CHECK_EQ_INT(jint(m, "arguments", "vehicles"), 60);
  CHECK_EQ_INT(c.telemetry, c.telemetry_valid + c.telemetry_out_of_range);
  CHECK_EQ_INT(c.telemetry_out_of_range, c.spikes_out_of_range);
  CHECK(c.spikes > c.spikes_out_of_range && c.spikes_out_of_range > 0);
  CHECK(c.duplicates > 0 && c.late > 0 && c.dropout_values > 0);

  /* every file's data lines equal the manifest's rows */
  json_t *files = json_object_get(m, "files");
  CHECK_EQ_INT(json_array_size(files), 4 + 12);
  long long telemetry_lines = 0;
  for (size_t i = 0; i < json_array_size(files); i++) {
    json_t *fe = json_array_get(files, i);
    const char *rel = json_string_value(json_object_get(fe, "path"));
    char path[512];
    snprintf(path, sizeof path, "out/%s", rel);
    int st;
    char *o = tt_test_sh_out(&st, "tail -n +2 '%s' | wc -l", path);
    CHECK_EQ_INT(st, 0);
    CHECK_EQ_INT(atoll(o), jint(fe, NULL, "rows"));
    if (!strcmp(json_string_value(json_object_get(fe, "table")), "telemetry"))
      telemetry_lines += atoll(o);
    free(o);
  }
  CHECK_EQ_INT(telemetry_lines, c.telemetry);
  CHECK_EQ_INT(jint(m, "counts", "dtc") + 0, c.dtc);
  CHECK_EQ_INT(jint(m, "counts", "vehicles"), 60);

  /* every row against the schema: out-of-range rows are exactly the
   * out-of-range spikes; empty values are exactly the dropouts */
  range r[32];
  int nr = load_ranges(r, 32);
  CHECK_EQ_INT(nr, 17);
  long long out_of_range = 0, empty = 0, rows = 0, late = 0;
  char prev_id[32] = "";
  tt_time prev_ts = 0;
  for (int d = 0; d < 12; d++) {
    char path[512];
    snprintf(path, sizeof path, "out/telemetry/telemetry-2026-01-%02d.csv", d + 1);
    char *text = read_all(path, NULL);
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    char header[1024];
    snprintf(header, sizeof header, "%s", line);
    char *hf[32];
    CHECK_EQ_INT(split(header, hf, 32), nr);
    for (int i = 0; i < nr; i++)
      CHECK_EQ_STR(hf[i], r[i].name);
    tt_time day0 = tt_time_from_civil(2026, 1, (unsigned)d + 1);
    while ((line = strtok_r(NULL, "\n", &save))) {
      char *f[32];
      CHECK_EQ_INT(split(line, f, 32), nr);
      rows++;
      tt_time ts;
      CHECK(tt_time_parse_iso(f[1], strlen(f[1]), &ts) == 0);
      CHECK(strlen(f[1]) == 20 && f[1][19] == 'Z');
      /* a row in an earlier day's partition is a late row */
      if (ts < day0)
        late++;
      else
        CHECK(ts < day0 + TT_USEC_PER_DAY);
      /* each vehicle's rows of this day are in time order */
      if (strcmp(prev_id, f[0])) {
        snprintf(prev_id, sizeof prev_id, "%s", f[0]);
        prev_ts = INT64_MIN;
      }
      if (ts >= day0) {
        CHECK_MSG(ts >= prev_ts, "rows of %s out of order at %s", f[0], f[1]);
        prev_ts = ts;
      }
      CHECK(!strcmp(f[3], "true") || !strcmp(f[3], "false"));
      int bad = 0;
      for (int i = 2; i < nr; i++) {
        if (i == 3) continue;
        if (!*f[i]) {
          empty++;
          continue;
        }
        char *end;
        double x = strtod(f[i], &end);
        CHECK_MSG(*end == 0, "%s: bad number '%s'", r[i].name, f[i]);
        if ((r[i].has_min && x < r[i].min) || (r[i].has_max && x > r[i].max)) bad = 1;
      }
      out_of_range += bad;
      /* physics: a parked engine reports 0 rpm and 0 km/h */
      if (!bad && !strcmp(f[3], "false")) {
        CHECK(!*f[4] || !strcmp(f[4], "0") || !strcmp(f[4], "7900"));
      }
    }
    free(text);
  }
  CHECK_EQ_INT(rows, c.telemetry);
  CHECK_EQ_INT(out_of_range, c.telemetry_out_of_range);
  CHECK_EQ_INT(empty, c.dropout_values);
  CHECK_EQ_INT(late, c.late);
  /* exact duplicate lines */
  int st;
  char *o =
      tt_test_sh_out(&st, "cat out/telemetry/*.csv | grep -v ^vehicle_id | sort | uniq -d | wc -l");
  CHECK_EQ_INT(atoll(o), c.duplicates);
  free(o);
  json_decref(m);
}

TT_TEST(events_and_vehicles_are_well_formed) {
  tt_sim_counts c;
  run_sim("out", 40, 20, 11, 120, TT_SIM_CSV, 0, &c);
  int st;
  char *o = tt_test_sh_out(&st, "head -1 out/vehicles.csv; head -1 out/dtc.csv; head -1 "
                                "out/maintenance.csv; head -1 out/failures.csv");
  CHECK_EQ_STR(o, "vehicle_id,valid_from,model,engine_type,build_year,fleet,region\n"
                  "vehicle_id,ts,code,severity\n"
                  "vehicle_id,ts,component,action\n"
                  "vehicle_id,ts,component\n");
  free(o);
  /* vehicles: build years in the schema's range, five attributes set */
  o = tt_test_sh_out(&st, "tail -n +2 out/vehicles.csv | awk -F, "
                          "'$5<1980||$5>2100||NF!=7||$3==\"\"||$6==\"\"||$7==\"\"' | wc -l");
  CHECK_EQ_INT(atoll(o), 0);
  free(o);
  /* dtc severities 0..3, failure components among the four */
  o = tt_test_sh_out(&st, "tail -n +2 out/dtc.csv | awk -F, '$4<0||$4>3||NF!=4' | wc -l");
  CHECK_EQ_INT(atoll(o), 0);
  free(o);
  o = tt_test_sh_out(
      &st, "tail -n +2 out/failures.csv | grep -cv ',\\(battery\\|cooling\\|brakes\\|tyres\\)$'");
  CHECK_EQ_INT(atoll(o), 0);
  free(o);
  /* each failure is followed by a repair of the same component, unless the
   * simulation ends first (repairs take at most three days) */
  char *fail_text = read_all("out/failures.csv", NULL),
       *maint = read_all("out/maintenance.csv", NULL);
  tt_time end = tt_time_from_civil(2026, 1, 21);
  char *save1 = NULL;
  strtok_r(fail_text, "\n", &save1);
  for (char *line = strtok_r(NULL, "\n", &save1); line; line = strtok_r(NULL, "\n", &save1)) {
    char *f[4];
    CHECK_EQ_INT(split(line, f, 4), 3);
    tt_time t;
    CHECK(tt_time_parse_iso(f[1], strlen(f[1]), &t) == 0);
    int repaired = 0;
    char key[64];
    snprintf(key, sizeof key, "\n%s,", f[0]);
    for (char *p = strstr(maint, key); p && !repaired; p = strstr(p + 1, key)) {
      char ts[32], comp[32];
      if (sscanf(p + strlen(key), "%20[^,],%31[^,]", ts, comp) != 2) continue;
      tt_time mt;
      CHECK(tt_time_parse_iso(ts, strlen(ts), &mt) == 0);
      if (mt >= t && !strcmp(comp, f[2])) repaired = 1;
    }
    CHECK_MSG(repaired || t > end - 3 * TT_USEC_PER_DAY, "%s %s failed at %s, never repaired", f[0],
              f[2], f[1]);
  }
  free(fail_text);
  free(maint);
  /* JSON lines parse, with nulls for dropouts */
  run_sim("js", 10, 2, 11, 60, TT_SIM_JSONL, 0, &c);
  char *text = read_all("js/telemetry/telemetry-2026-01-01.jsonl", NULL);
  long long n = 0;
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    json_error_t je;
    json_t *j = json_loads(line, 0, &je);
    CHECK_MSG(j != NULL, "bad JSON line: %s", je.text);
    CHECK_EQ_INT(json_object_size(j), 17);
    CHECK(json_is_boolean(json_object_get(j, "engine_running")));
    json_decref(j);
    n++;
  }
  free(text);
  CHECK(n > 0);
  text = read_all("js/dtc.jsonl", NULL);
  save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    json_t *j = json_loads(line, 0, NULL);
    CHECK(j && json_is_integer(json_object_get(j, "severity")));
    json_decref(j);
  }
  free(text);
}

/* Per-vehicle series of one signal, for the degradation checks. */
typedef struct series {
  int64_t n, cap;
  tt_time *ts;
  double *x;
} series;

static void series_add(series *s, tt_time t, double x) {
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 1024;
    s->ts = realloc(s->ts, (size_t)s->cap * sizeof *s->ts);
    s->x = realloc(s->x, (size_t)s->cap * sizeof *s->x);
    CHECK(s->ts && s->x);
  }
  s->ts[s->n] = t;
  s->x[s->n++] = x;
}

/* Mean (or min when want_min) of s over [from, to); NAN when empty. */
static double window(const series *s, tt_time from, tt_time to, int want_min) {
  double acc = want_min ? INFINITY : 0;
  int64_t n = 0;
  for (int64_t i = 0; i < s->n; i++)
    if (s->ts[i] >= from && s->ts[i] < to) {
      acc = want_min ? fmin(acc, s->x[i]) : acc + s->x[i];
      n++;
    }
  return n == 0 ? NAN : want_min ? acc : acc / (double)n;
}

TT_TEST_TIMEOUT(failures_are_preceded_by_degradation, 600) {
  enum { NV = 200, DAYS = 90 };
  tt_sim_counts c;
  /* a coarse interval keeps the test quick; cranking voltage is measured at
   * every engine start whatever the interval */
  run_sim("out", NV, DAYS, 2026, 300, TT_SIM_CSV, 0, &c);
  CHECK_MSG(c.failures >= 20 && c.failures <= 120, "failures %lld", (long long)c.failures);
  for (int k = 0; k < TT_SIM_NCOMPONENTS; k++)
    CHECK_MSG(c.failures_by_component[k] > 0, "no %s failure", tt_sim_component_name(k));

  /* crank: cranking voltage (engine running rows); cool: coolant while
   * running; tyre: lowest tyre pressure; pad: brake pad thickness */
  static series crank[NV], cool[NV], tyre[NV], pad[NV];
  static unsigned char seen[NV][DAYS]; /* a row with this vehicle and date */
  for (int d = 0; d < DAYS; d++) {
    char path[512];
    tt_time day = tt_time_from_civil(2026, 1, 1) + d * TT_USEC_PER_DAY;
    char date[16];
    tt_time_format_date(day, date, sizeof date);
    snprintf(path, sizeof path, "out/telemetry/telemetry-%s.csv", date);
    char *text = read_all(path, NULL);
    char *save = NULL;
    strtok_r(text, "\n", &save);
    for (char *line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
      char *f[32];
      CHECK_EQ_INT(split(line, f, 32), 17);
      int v = atoi(f[0] + 1) - 1;
      CHECK(v >= 0 && v < NV);
      tt_time ts;
      CHECK(tt_time_parse_iso(f[1], strlen(f[1]), &ts) == 0);
      int64_t day_index = tt_time_day(ts) - tt_time_day(tt_time_from_civil(2026, 1, 1));
      CHECK(day_index >= 0 && day_index < DAYS);
      seen[v][day_index] = 1;
      int running = !strcmp(f[3], "true");
      /* skip spikes: values the physics never produces */
      double cv = *f[9] ? atof(f[9]) : NAN, ct = *f[6] ? atof(f[6]) : NAN;
      if (running && cv > 3 && cv < 16) series_add(&crank[v], ts, cv);
      if (running && ct > -45 && ct < 146) series_add(&cool[v], ts, ct);
      double mn = INFINITY;
      int ok = 1;
      for (int i = 11; i <= 14; i++) {
        if (!*f[i] || atof(f[i]) < 1 || atof(f[i]) > 1000)
          ok = 0;
        else
          mn = fmin(mn, atof(f[i]));
      }
      if (ok) series_add(&tyre[v], ts, mn);
      if (*f[10] && atof(f[10]) < 29.9) series_add(&pad[v], ts, atof(f[10]));
    }
    free(text);
  }

  /* a vehicle-day without rows is a silent one: parked and broken-down
   * vehicles still report hourly */
  long long empty_days = 0;
  for (int v = 0; v < NV; v++)
    for (int d = 0; d < DAYS; d++)
      empty_days += !seen[v][d];
  CHECK(c.silent_vehicle_days > 0);
  CHECK_EQ_INT(empty_days, c.silent_vehicle_days);

  char *text = read_all("out/failures.csv", NULL);
  char *save = NULL;
  strtok_r(text, "\n", &save);
  int checked[TT_SIM_NCOMPONENTS] = {0};
  for (char *line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *f[4];
    CHECK_EQ_INT(split(line, f, 4), 3);
    int v = atoi(f[0] + 1) - 1;
    tt_time t;
    CHECK(tt_time_parse_iso(f[1], strlen(f[1]), &t) == 0);
    tt_time d3 = t - 3 * TT_USEC_PER_DAY, d30 = t - 30 * TT_USEC_PER_DAY,
            d33 = t - 33 * TT_USEC_PER_DAY;
    if (!strcmp(f[2], "brakes")) {
      /* pads worn below the 3 mm warning limit in the day before */
      double last = window(&pad[v], t - TT_USEC_PER_DAY, t, 1);
      if (isnan(last)) continue;
      CHECK_MSG(last < 3.0, "%s brakes at %s: pad %.2f mm", f[0], f[1], last);
      checked[TT_SIM_BRAKES]++;
      continue;
    }
    if (d33 < tt_time_from_civil(2026, 1, 1)) continue; /* no history 30 days before */
    if (!strcmp(f[2], "battery")) {
      double before = window(&crank[v], d33, d30, 0), now = window(&crank[v], d3, t, 0);
      if (isnan(before) || isnan(now)) continue;
      CHECK_MSG(now < before - 0.5, "%s battery at %s: cranking %.2f V, 30 days before %.2f V",
                f[0], f[1], now, before);
      checked[TT_SIM_BATTERY]++;
    } else if (!strcmp(f[2], "cooling")) {
      double before = window(&cool[v], d33, d30, 0), now = window(&cool[v], d3, t, 0);
      if (isnan(before) || isnan(now)) continue;
      CHECK_MSG(now > before + 3, "%s cooling at %s: coolant %.1f, 30 days before %.1f", f[0], f[1],
                now, before);
      checked[TT_SIM_COOLING]++;
    } else if (!strcmp(f[2], "tyres")) {
      double before = window(&tyre[v], d33, d30, 1), now = window(&tyre[v], d3, t, 1);
      if (isnan(before) || isnan(now)) continue;
      CHECK_MSG(now < before * 0.85, "%s tyres at %s: %.1f kPa, 30 days before %.1f", f[0], f[1],
                now, before);
      checked[TT_SIM_TYRES]++;
    }
  }
  free(text);
  for (int k = 0; k < TT_SIM_NCOMPONENTS; k++)
    CHECK_MSG(checked[k] > 0, "no %s failure could be checked", tt_sim_component_name(k));
  for (int v = 0; v < NV; v++) {
    free(crank[v].ts), free(crank[v].x), free(cool[v].ts), free(cool[v].x);
    free(tyre[v].ts), free(tyre[v].x), free(pad[v].ts), free(pad[v].x);
  }
}

TT_TEST(cli_simulate_and_bad_arguments) {
  int st;
  char *o = tt_test_sh_out(&st, "%s simulate --vehicles 5 --days 2 --seed 9 --out o --output json",
                           tt_test_cli());
  CHECK_EQ_INT(st, 0);
  json_error_t je;
  json_t *j = json_loads(o, 0, &je);
  CHECK_MSG(j != NULL, "not JSON: %s", o);
  CHECK(json_integer_value(json_object_get(j, "telemetry")) > 0);
  CHECK_EQ_INT(json_integer_value(json_object_get(j, "vehicles")), 5);
  json_decref(j);
  free(o);
  CHECK_EQ_INT(
      tt_test_sh("test -s o/simulation.json && test -s o/telemetry/telemetry-2026-01-02.csv"), 0);
  o = tt_test_sh_out(&st, "%s simulate --help", tt_test_cli());
  CHECK_EQ_INT(st, 0);
  CHECK_STR_CONTAINS(o, "--interval");
  free(o);
  /* usage errors exit 64 and say what is wrong */
  o = tt_test_sh_out(&st, "%s simulate --vehicles 5 --days 2 --seed 1 2>&1", tt_test_cli());
  CHECK_EQ_INT(st, 64);
  CHECK_STR_CONTAINS(o, "--out");
  free(o);
  o = tt_test_sh_out(&st,
                     "%s simulate --vehicles 5 --days 2 --seed 1 --out x --interval 500ms 2>&1",
                     tt_test_cli());
  CHECK_EQ_INT(st, 64);
  CHECK_STR_CONTAINS(o, "interval");
  free(o);
  o = tt_test_sh_out(
      &st, "%s simulate --vehicles 5 --days 2 --seed 1 --out x --start 2026-01-01T06:00:00Z 2>&1",
      tt_test_cli());
  CHECK_EQ_INT(st, 64);
  CHECK_STR_CONTAINS(o, "start");
  free(o);
  o = tt_test_sh_out(&st, "%s simulate --vehicles many --days 2 --seed 1 --out x 2>&1",
                     tt_test_cli());
  CHECK_EQ_INT(st, 64);
  CHECK_STR_CONTAINS(o, "--vehicles");
  free(o);
  o = tt_test_sh_out(&st, "%s simulate --vehicles 1 --days 1 --seed 1 --format xml --out x 2>&1",
                     tt_test_cli());
  CHECK_EQ_INT(st, 64);
  free(o);
  /* an output directory that cannot be created: I/O error naming it */
  tt_test_write_file("file", "x");
  o = tt_test_sh_out(&st, "%s simulate --vehicles 1 --days 1 --seed 1 --out file/sub 2>&1",
                     tt_test_cli());
  CHECK(st != 0 && st != 64);
  CHECK_STR_CONTAINS(o, "file/sub");
  free(o);
}

TT_TEST(library_rejects_bad_options) {
  tt_sim_options o;
  tt_sim_options_init(&o);
  tt_error e;
  tt_sim_counts c;
  o.out_dir = "x";
  o.vehicles = 0;
  CHECK_EQ_INT(tt_sim_run(&o, &c, &e), TT_INVALID);
  CHECK_EQ_STR(e.field, "vehicles");
  tt_sim_options_init(&o);
  o.out_dir = "x";
  o.interval_us = 1500000;
  tt_error_clear(&e);
  CHECK_EQ_INT(tt_sim_run(&o, &c, &e), TT_INVALID);
  CHECK_EQ_STR(e.field, "interval");
  tt_sim_options_init(&o);
  tt_error_clear(&e);
  CHECK_EQ_INT(tt_sim_run(&o, &c, &e), TT_INVALID);
  CHECK_EQ_STR(e.field, "out");
  CHECK(access("x", F_OK) != 0);
}

/* The contract with ingest: after ingesting the simulated files the lake
 * holds telemetry_valid telemetry rows and the dead-letter table
 * telemetry_out_of_range, and every event row. */
static long long lake_count(const char *proj, const char *sql) {
  int st;
  char *o = tt_test_sh_out(&st, "%s -C %s lake query --output csv \"%s\" | tail -1", tt_test_cli(),
                           proj, sql);
  CHECK_MSG(st == 0, "lake query failed: %s", sql);
  long long n = atoll(o);
  free(o);
  return n;
}

static void check_ingest(const char *proj, tt_sim_format f) {
  tt_sim_counts c;
  char dir[256];
  const char *ext = f == TT_SIM_CSV ? "csv" : "jsonl";
  CHECK_EQ_INT(tt_test_sh("%s init %s >/dev/null", tt_test_cli(), proj), 0);
  snprintf(dir, sizeof dir, "%s/fleet", proj);
  run_sim(dir, 40, 8, 17, 60, f, 0, &c);
  CHECK(c.telemetry_out_of_range > 0 && c.dtc > 0 && c.maintenance > 0);
  int st;
  char *o = tt_test_sh_out(&st,
                           "%s -C %s --log-level warn ingest --no-progress --output json "
                           "--schema %s/schemas/fleet.yaml %s/telemetry %s/*.%s",
                           tt_test_cli(), proj, proj, dir, dir, ext);
  CHECK_MSG(st == 0, "ingest failed: %s", o);
  json_t *j = json_loads(o, 0, NULL);
  CHECK_MSG(j != NULL, "not JSON: %s", o);
  long long read = json_integer_value(json_object_get(j, "read"));
  long long events = c.dtc + c.maintenance + c.failures + c.vehicles;
  CHECK_EQ_INT(read, c.telemetry + events);
  CHECK_EQ_INT(json_integer_value(json_object_get(j, "deadlettered")), c.telemetry_out_of_range);
  json_decref(j);
  free(o);
  CHECK_EQ_INT(lake_count(proj, "SELECT count(*) FROM telemetry"), c.telemetry_valid);
  CHECK_EQ_INT(lake_count(proj, "SELECT count(*) FROM _deadletter"), c.telemetry_out_of_range);
  CHECK_EQ_INT(lake_count(proj, "SELECT count(*) FROM dtc"), c.dtc);
  CHECK_EQ_INT(lake_count(proj, "SELECT count(*) FROM maintenance"), c.maintenance);
  CHECK_EQ_INT(lake_count(proj, "SELECT count(*) FROM vehicles"), c.vehicles);
  if (c.failures) CHECK_EQ_INT(lake_count(proj, "SELECT count(*) FROM failures"), c.failures);
}

TT_TEST(ingest_counts_match_the_manifest) {
  check_ingest("csv", TT_SIM_CSV);
  check_ingest("jsonl", TT_SIM_JSONL);
}

/* Internal pieces: the fixed-point writer against printf, the random
 * streams' moments. */

TT_TEST(fixed_point_matches_printf) {
  tt__rng r;
  tt__rng_seed(&r, 99, 0);
  tt__buf b = {0};
  for (int i = 0; i < 200000; i++) {
    int dec = (int)tt__rng_below(&r, 4);
    double mag = pow(10, tt__rng_range(&r, -3, 7));
    double x = (tt__rng_uniform(&r) - 0.5) * 2 * mag;
    if (i < 8) x = (double[]){0, -0.0, -0.04, 0.05, -0.05, 9.995, 1e6, -123.456}[i];
    double scaled = fabs(x) * pow(10, dec);
    double frac = scaled - floor(scaled);
    if (fabs(frac - 0.5) < 1e-6) continue; /* a tie: printf rounds the exact binary value */
    tt__buf_reset(&b);
    tt__fmt_fixed(&b, x, dec);
    tt__buf_putc(&b, 0);
    char want[64];
    snprintf(want, sizeof want, "%.*f", dec, x);
    /* printf writes "-0.0" for tiny negatives; telemetry never shows a minus zero */
    const char *w = want;
    if (want[0] == '-' && strspn(want + 1, "0.") == strlen(want + 1)) w = want + 1;
    CHECK_MSG(!b.failed && !strcmp(b.p, w), "%.17g with %d decimals: got %s, printf %s", x, dec,
              b.p, want);
  }
  tt__buf_free(&b);
}

TT_TEST(random_streams) {
  tt__rng a, b, a2;
  tt__rng_seed(&a, 1, 0);
  tt__rng_seed(&a2, 1, 0);
  tt__rng_seed(&b, 1, 1);
  double sum = 0, sum2 = 0, cross = 0, umin = 1, umax = 0;
  enum { N = 1000000 };
  for (int i = 0; i < N; i++) {
    double x = tt__rng_normal(&a), y = tt__rng_normal(&b);
    CHECK(x == tt__rng_normal(&a2)); /* same seed and stream: same sequence */
    sum += x;
    sum2 += x * x;
    cross += x * y;
    CHECK(fabs(x) <= 3.47);
    double u = tt__rng_uniform(&b);
    umin = fmin(umin, u);
    umax = fmax(umax, u);
    CHECK(u >= 0 && u < 1);
  }
  CHECK_NEAR(sum / N, 0, 0.005);
  CHECK_NEAR(sum2 / N, 1, 0.01);
  CHECK_NEAR(cross / N, 0, 0.005); /* neighbouring streams are uncorrelated */
  CHECK(umin < 1e-5 && umax > 1 - 1e-5);
  for (int i = 0; i < 1000; i++)
    CHECK(tt__rng_below(&a, 7) < 7);
}

TT_TEST(foreign_files_are_left_alone) {
  /* a directory without simulation.json is not ours: other files stay */
  tt_test_write_file("d/dtc.jsonl", "mine\n");
  tt_test_write_file("d/telemetry/telemetry-2020-01-01.csv", "mine\n");
  tt_sim_counts c;
  run_sim("d", 2, 1, 1, 60, TT_SIM_CSV, 1, &c);
  CHECK_EQ_INT(
      tt_test_sh("grep -qx mine d/dtc.jsonl && grep -qx mine d/telemetry/telemetry-2020-01-01.csv"),
      0);
  CHECK_EQ_INT(tt_test_sh("test -s d/dtc.csv && test -s d/simulation.json"), 0);
  /* a second run into a simulation directory replaces the earlier run's files */
  run_sim("d", 2, 1, 1, 60, TT_SIM_JSONL, 1, &c);
  CHECK_EQ_INT(
      tt_test_sh("test ! -e d/dtc.csv && test -e d/dtc.jsonl && ! grep -q mine d/dtc.jsonl"), 0);
  CHECK_EQ_INT(tt_test_sh("test ! -e d/telemetry/telemetry-2020-01-01.csv"), 0);
}

TT_TEST(write_failure_names_the_file) {
  /* a file size limit makes write(2) fail with EFBIG part-way through the
   * first day's file (this test runs in its own process) */
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit rl = {.rlim_cur = 200000, .rlim_max = 200000};
  CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
  tt_sim_options o;
  tt_sim_options_init(&o);
  o.vehicles = 20;
  o.days = 2;
  o.out_dir = "full";
  tt_error e;
  tt_error_clear(&e);
  tt_sim_counts c;
  CHECK_EQ_INT(tt_sim_run(&o, &c, &e), TT_IO);
  CHECK_STR_CONTAINS(e.file, "full/telemetry/telemetry-2026-01-01.csv.tmp");
  CHECK_STR_CONTAINS(e.msg, "write failed");
  /* no half-written file under a final name, no manifest */
  CHECK_EQ_INT(tt_test_sh("test ! -e full/telemetry/telemetry-2026-01-01.csv && "
                          "test ! -e full/telemetry/telemetry-2026-01-01.csv.tmp && "
                          "test ! -e full/simulation.json"),
               0);
}
