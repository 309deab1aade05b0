/* Feature store: definitions and the aggregation engine.
 *
 * Every aggregation is checked against a plain reference computation over
 * the raw events of the exact window (README: window boundaries), in
 * randomised tests with gaps, NaNs, nulls, duplicates, late events,
 * single-event and empty windows; arrival order must not change a bit. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "telltale/batch.h"
#include "telltale/features.h"
#include "telltale/project.h"
#include "tt_test.h"

#define H TT_USEC_PER_HOUR

static tt_feature_set *parse(const char *yaml, tt_error *e) {
  tt_feature_set *fs = NULL;
  tt_error_clear(e);
  if (tt_feature_set_parse_string(yaml, strlen(yaml), "fs.yaml", NULL, &fs, e) != TT_OK)
    return NULL;
  return fs;
}

TT_TEST(defs_example_parses) {
  tt_error e;
  tt_feature_set *fs = parse(tt_project_example_features(), &e);
  char buf[1200];
  CHECK_MSG(fs, "%s", tt_error_format(&e, buf, sizeof buf));
  CHECK_EQ_STR(tt_feature_set_name(fs), "vehicle_health");
  CHECK_EQ_INT(tt_feature_set_count(fs), 32 + 5); /* 32 aggregations, 5 vehicle attributes */
  CHECK_EQ_INT(tt_feature_set_tile(fs), H);
  CHECK_EQ_INT(tt_feature_set_max_window(fs), 30 * 24 * H);
  CHECK_EQ_INT(tt_feature_set_table_count(fs), 3); /* telemetry, dtc, vehicles */
  CHECK(tt_feature_set_at(fs, (size_t)tt_feature_set_find(fs, "engine_type"))->attribute ==
        TT_ATTR_CATEGORY);
  CHECK(tt_feature_set_at(fs, (size_t)tt_feature_set_find(fs, "age_years"))->attribute ==
        TT_ATTR_AGE);
  CHECK_EQ_STR(tt_feature_set_filter(fs)->text, "engine_running = true");
  CHECK_EQ_INT(strlen(tt_feature_set_version(fs)), 64);
  int i = tt_feature_set_find(fs, "dtc_p0562_count_30d");
  CHECK(i >= 0);
  CHECK_EQ_STR(tt_feature_set_at(fs, (size_t)i)->code, "P0562");
  tt_feature_set_destroy(fs);
}

TT_TEST(defs_version_is_content_hash) {
  tt_error e;
  const char *a =
      "name: s\nsource: t\ntile: 1h\nfeatures:\n  - {name: f, column: v, agg: mean, window: 2h}\n";
  /* Same definition, other formatting and key order: same version. */
  const char *b = "# comment\nsource: t\nname: s\ntile: 60m\nfeatures:\n- window: 120m\n  agg: "
                  "mean\n  column: v\n  name: f\n";
  const char *c =
      "name: s\nsource: t\ntile: 1h\nfeatures:\n  - {name: f, column: v, agg: mean, window: 3h}\n";
  tt_feature_set *fa = parse(a, &e), *fb = parse(b, &e), *fc = parse(c, &e);
  CHECK(fa && fb && fc);
  CHECK_EQ_STR(tt_feature_set_json(fa), tt_feature_set_json(fb));
  CHECK_EQ_STR(tt_feature_set_version(fa), tt_feature_set_version(fb));
  CHECK(strcmp(tt_feature_set_version(fa), tt_feature_set_version(fc)) != 0);
  CHECK_STR_CONTAINS(tt_feature_set_json(fa), "\"window\":7200000000");
  tt_feature_set_destroy(fa);
  tt_feature_set_destroy(fb);
  tt_feature_set_destroy(fc);
}

static void expect_error(const char *yaml, long line, const char *field, const char *msg) {
  tt_error e;
  tt_feature_set *fs = parse(yaml, &e);
  char buf[1200];
  CHECK_MSG(!fs, "accepted:\n%s", yaml);
  CHECK_MSG(e.line == line, "line %ld != %ld: %s", e.line, line,
            tt_error_format(&e, buf, sizeof buf));
  CHECK_EQ_STR(e.file, "fs.yaml");
  CHECK_EQ_STR(e.field, field);
  CHECK_STR_CONTAINS(e.msg, msg);
}

TT_TEST(defs_bad_files_name_file_line_field) {
  const char *head = "name: s\nsource: t\ntile: 1h\nfeatures:\n";
  char y[1024];
  snprintf(y, sizeof y, "%s  - {name: f, column: v, agg: median, window: 1h}\n", head);
  expect_error(y, 5, "agg", "unknown aggregation 'median'");
  snprintf(y, sizeof y, "%s  - {name: f, column: v, agg: mean, window: 0h}\n", head);
  expect_error(y, 5, "f.window", "greater than zero");
  snprintf(y, sizeof y, "%s  - {name: f, column: v, agg: mean, window: 30m}\n", head);
  expect_error(y, 5, "f.window", "tile (1h) is larger than the window (30m)");
  snprintf(y, sizeof y, "%s  - {name: f, column: v, agg: mean, window: 90m}\n", head);
  expect_error(y, 5, "f.window", "not a multiple of the tile");
  snprintf(y, sizeof y, "%s  - {name: f, column: v, agg: mean, window: 1d, tile: 90m}\n", head);
  expect_error(y, 5, "f.tile", "not a multiple of the set's tile");
  snprintf(y, sizeof y, "%s  - {name: f, column: v, agg: mean, window: 1d, tile: 2d}\n", head);
  expect_error(y, 5, "f.window", "tile (2d) is larger than the window (1d)");
  snprintf(y, sizeof y, "%s  - {name: f, column: v, agg: mean, window: 7}\n", head);
  expect_error(y, 5, "f.window", "bad window");
  snprintf(y, sizeof y, "%s  - {name: f, agg: mean, window: 1h}\n", head);
  expect_error(y, 5, "f.column", "needs a column");
  snprintf(y, sizeof y, "%s  - {name: f, column: v, agg: mean, window: 1h, colour: red}\n", head);
  expect_error(y, 5, "colour", "unknown key");
  snprintf(y, sizeof y,
           "%s  - {name: f, column: v, agg: mean, window: 1h}\n  - {name: f, column: v, agg: max, "
           "window: 1h}\n",
           head);
  expect_error(y, 6, "name", "duplicate feature name 'f'");
  expect_error("name: s\nsource: t\nfeatures:\n  - {name: f, column: v, agg: mean, window: 1h}\n",
               1, "tile", "no tile");
  expect_error("name: s\nsource: t\ntile: 1h\nfilter: speed ~ 3\nfeatures:\n  - {name: f, column: "
               "v, agg: mean, window: 1h}\n",
               4, "filter", "cannot parse filter");
  expect_error("name: s\nsource: t\ntile: 1h\nfeatures: [\n", 5, "", "");
}

TT_TEST(defs_checked_against_schema) {
  tt_schema *schema = NULL;
  tt_error e;
  const char *sy = tt_project_example_schema();
  CHECK_OK(tt_schema_parse_string(sy, strlen(sy), "fleet.yaml", &schema, &e));
  tt_feature_set *fs = NULL;
  const char *y = "name: s\nsource: telemetry\ntile: 1h\nfeatures:\n  - {name: f, column: no_such, "
                  "agg: mean, window: 1h}\n";
  CHECK(tt_feature_set_parse_string(y, strlen(y), "fs.yaml", schema, &fs, &e) != TT_OK);
  CHECK_EQ_INT(e.line, 5);
  CHECK_STR_CONTAINS(e.msg, "unknown column 'no_such' in table 'telemetry'");
  const char *ex = tt_project_example_features();
  CHECK_OK(tt_feature_set_parse_string(ex, strlen(ex), "ex.yaml", schema, &fs, &e));
  tt_feature_set_destroy(fs);
  tt_schema_destroy(schema);
}

/* ---------------------------------------------------------------------- */
/* Randomised engine tests                                                */

static uint64_t rng = 88172645463325252ULL;
static uint64_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}
static double urand(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }

typedef struct ev {
  int64_t t;
  double v;
  int valid; /* 0 = null */
  int run;   /* filter column */
  const char *code;
} ev;

static const char *RANDOM_SET =
    "name: r\nsource: tel\ntile: 1h\nfilter: run = true\nfeatures:\n"
    "  - {name: c1, column: v, agg: count, window: 1h}\n"
    "  - {name: rows3, agg: count, window: 3h}\n"
    "  - {name: s3, column: v, agg: sum, window: 3h}\n"
    "  - {name: m1, column: v, agg: mean, window: 1h}\n"
    "  - {name: m24, column: v, agg: mean, window: 1d}\n"
    "  - {name: mn3, column: v, agg: min, window: 3h}\n"
    "  - {name: mx24, column: v, agg: max, window: 1d}\n"
    "  - {name: sd3, column: v, agg: std, window: 3h}\n"
    "  - {name: f3, column: v, agg: first, window: 3h}\n"
    "  - {name: l1, column: v, agg: last, window: 1h}\n"
    "  - {name: d24, column: v, agg: delta, window: 1d}\n"
    "  - {name: sl3, column: v, agg: slope, window: 3h}\n"
    "  - {name: sl24, column: v, agg: slope, window: 1d, per: 1d}\n"
    "  - {name: r3, column: v, agg: rate, window: 3h}\n"
    "  - {name: ts24, agg: time_since, window: 1d}\n"
    "  - {name: codeA, code: A, agg: count, window: 1d}\n"
    "  - {name: codeAmean, column: v, code: A, agg: mean, window: 3h}\n"
    /* features with a coarser tile of their own (inputs of their own) */
    "  - {name: m24t3, column: v, agg: mean, window: 1d, tile: 3h}\n"
    "  - {name: sl24t6, column: v, agg: slope, window: 1d, tile: 6h}\n"
    "  - {name: mx24t6, column: v, agg: max, window: 1d, tile: 6h}\n"
    "  - {name: f24t12, column: v, agg: first, window: 1d, tile: 12h}\n"
    "  - {name: rows24t2, agg: count, window: 1d, tile: 2h}\n";

/* The plain reference: the events of the window, straight from the
 * documented definition. */
static double reference(const tt_feature_def *f, int64_t tile, const ev *evs, size_t n, int64_t t) {
  tile = f->tile; /* the feature's own tile (the set's unless it says otherwise) */
  /* Tiles are (kT - T, kT]; as of t the window covers (lo, t] with
   * lo = (ceil(t / T) - W/T) · T. */
  int64_t k = t > 0 ? (t + tile - 1) / tile : -((-t) / tile);
  int64_t lo = (k - f->window / tile) * tile;
  double xs[4096];
  int64_t ts[4096];
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    const ev *e = &evs[i];
    if (e->t <= lo || e->t > t || !e->run) continue;
    if (*f->code && strcmp(e->code, f->code)) continue;
    if (*f->column && (!e->valid || isnan(e->v))) continue;
    xs[m] = *f->column ? e->v + 0.0 : 1.0;
    ts[m] = e->t;
    m++;
  }
  double s = 0, mean, var = 0, mn = INFINITY, mx = -INFINITY, fx = 0, lx = 0;
  int64_t ft = INT64_MAX, lt = INT64_MIN;
  for (size_t i = 0; i < m; i++) {
    s += xs[i];
    if (xs[i] < mn) mn = xs[i];
    if (xs[i] > mx) mx = xs[i];
    if (ts[i] < ft || (ts[i] == ft && xs[i] < fx)) ft = ts[i], fx = xs[i];
    if (ts[i] > lt || (ts[i] == lt && xs[i] > lx)) lt = ts[i], lx = xs[i];
  }
  mean = m ? s / (double)m : NAN;
  for (size_t i = 0; i < m; i++)
    var += (xs[i] - mean) * (xs[i] - mean);
  switch (f->agg) {
  case TT_AGG_COUNT:
    return (double)m;
  case TT_AGG_SUM:
    return s;
  case TT_AGG_MEAN:
    return mean;
  case TT_AGG_MIN:
    return m ? mn : NAN;
  case TT_AGG_MAX:
    return m ? mx : NAN;
  case TT_AGG_STD:
    return m ? sqrt(var / (double)m) : NAN;
  case TT_AGG_FIRST:
    return m ? fx : NAN;
  case TT_AGG_LAST:
    return m ? lx : NAN;
  case TT_AGG_DELTA:
    return m ? lx - fx : NAN;
  case TT_AGG_RATE:
    return (double)m * (double)f->per / (double)f->window;
  case TT_AGG_TIME_SINCE:
    return m ? (double)(t - lt) / (double)f->per : NAN;
  case TT_AGG_SLOPE: {
    if (m < 2) return NAN;
    double mt = 0;
    for (size_t i = 0; i < m; i++)
      mt += (double)(ts[i] - lo);
    mt /= (double)m;
    double sxx = 0, sxy = 0;
    for (size_t i = 0; i < m; i++) {
      double dt = (double)(ts[i] - lo) - mt;
      sxx += dt * dt;
      sxy += dt * (xs[i] - mean);
    }
    if (sxx == 0) return NAN;
    return sxy / sxx * (double)f->per;
  }
  default:
    return NAN;
  }
}

static void check_value(const tt_feature_def *f, double got, double ref, int64_t t) {
  if (isnan(ref) || isnan(got)) {
    CHECK_MSG(isnan(ref) && isnan(got), "%s as of %lld: got %.17g, reference %.17g", f->name,
              (long long)t, got, ref);
    return;
  }
  double tol = 0;
  switch (f->agg) {
  case TT_AGG_SUM:
  case TT_AGG_MEAN:
    tol = 1e-6 * (1 + fabs(ref));
    break;
  case TT_AGG_STD:
    tol = 1e-5 * (1 + fabs(ref));
    break;
  case TT_AGG_SLOPE:
    tol = 1e-6 * (1 + fabs(ref));
    break;
  default:
    tol = 0; /* counts, min, max, first, last, delta, rate, time_since: exact */
  }
  CHECK_MSG(fabs(got - ref) <= tol, "%s (%s) as of %lld: got %.17g, reference %.17g", f->name,
            tt_agg_name(f->agg), (long long)t, got, ref);
}

static const char *names[] = {"vehicle_id", "ts", "v", "code", "run"};
static const tt_type types[] = {TT_TYPE_STRING, TT_TYPE_TIMESTAMP, TT_TYPE_DOUBLE, TT_TYPE_STRING,
                                TT_TYPE_BOOL};

static void fold_events(const tt_fengine *eng, tt_fstate *st, const ev *evs, const size_t *order,
                        size_t n) {
  tt_batch *b = tt_batch_new(5, names, types, 64);
  CHECK(b);
  size_t i = 0;
  while (i < n) {
    tt_batch_reset(b);
    size_t chunk = 1 + rnd() % 40;
    for (size_t j = 0; j < chunk && i < n; j++, i++) {
      const ev *e = &evs[order ? order[i] : i];
      size_t r = tt_batch_add_row(b);
      CHECK_OK(tt_batch_set_string(b, 0, r, "veh", 3));
      tt_batch_set_int64(b, 1, r, e->t);
      if (e->valid) tt_batch_set_double(b, 2, r, e->v);
      CHECK_OK(tt_batch_set_string(b, 3, r, e->code, strlen(e->code)));
      tt_batch_set_bool(b, 4, r, e->run);
    }
    tt_error err;
    CHECK_OK(tt_fengine_fold(eng, st, "tel", b, 0, b->nrows, &err));
  }
  tt_batch_destroy(b);
}

static int cmp_ev(const void *a, const void *b) {
  const ev *x = a, *y = b;
  return x->t < y->t ? -1 : x->t > y->t;
}

static size_t gen_events(ev *evs, size_t max) {
  size_t n = 1 + rnd() % max;
  int64_t base = (int64_t)(rnd() % 1000) * H - 500 * H; /* also negative times */
  static const char *codes[] = {"A", "B", "C"};
  for (size_t i = 0; i < n; i++) {
    ev *e = &evs[i];
    /* Clustered times: gaps of empty tiles, duplicates on the same µs. */
    if (i && rnd() % 5 == 0)
      e->t = evs[i - 1].t;
    else
      e->t = base + (int64_t)(rnd() % 6) * 8 * H + (int64_t)(rnd() % (3 * H));
    e->v = (double)(int64_t)(rnd() % 2001 - 1000) / 8.0 + (rnd() % 3 ? urand() : 0);
    if (rnd() % 4 == 0 && i) e->v = evs[i - 1].v; /* duplicate values */
    e->valid = rnd() % 10 != 0;
    if (rnd() % 15 == 0) e->v = NAN;
    if (rnd() % 40 == 0) e->v = -0.0;
    e->run = rnd() % 6 != 0;
    e->code = codes[rnd() % 3];
  }
  return n;
}

TT_TEST(engine_matches_reference_randomised) {
  tt_error e;
  tt_feature_set *fs = parse(RANDOM_SET, &e);
  CHECK(fs);
  tt_fengine *eng;
  CHECK_OK(tt_fengine_new(fs, &eng, &e));
  size_t nf = tt_fengine_feature_count(eng);
  static ev evs[600];
  double *got = malloc(nf * sizeof *got);
  for (int round = 0; round < 150; round++) {
    size_t n = gen_events(evs, round < 20 ? 3 : 600); /* small rounds: single-event windows */
    qsort(evs, n, sizeof *evs, cmp_ev);
    tt_fstate *st = tt_fstate_new(eng);
    /* Offline style: fold events in time order, evaluate at spine points
     * between them (including empty windows far after the last event). */
    size_t i = 0;
    int64_t t = evs[0].t - H;
    while (i < n || t < evs[n - 1].t + 2 * 24 * H) {
      t += (int64_t)(rnd() % (5 * H)) + (rnd() % 3 == 0 ? 0 : 1);
      size_t j = i;
      while (j < n && evs[j].t <= t)
        j++;
      fold_events(eng, st, evs + i, NULL, j - i);
      i = j;
      if (tt_fstate_latest(st) > t) continue;
      CHECK_OK(tt_fengine_eval(eng, st, t, got, &e));
      for (size_t f = 0; f < nf; f++)
        check_value(tt_feature_set_at(fs, f), got[f],
                    reference(tt_feature_set_at(fs, f), H, evs, i, t), t);
    }
    tt_fstate_destroy(st);
  }
  free(got);
  tt_fengine_destroy(eng);
  tt_feature_set_destroy(fs);
}

TT_TEST(engine_arrival_order_is_bit_identical) {
  tt_error e;
  tt_feature_set *fs = parse(RANDOM_SET, &e);
  CHECK(fs);
  tt_fengine *eng;
  CHECK_OK(tt_fengine_new(fs, &eng, &e));
  size_t nf = tt_fengine_feature_count(eng);
  static ev evs[600];
  static size_t order[600];
  double *a = malloc(nf * sizeof *a), *b = malloc(nf * sizeof *b);
  for (int round = 0; round < 100; round++) {
    size_t n = gen_events(evs, 600);
    qsort(evs, n, sizeof *evs, cmp_ev);
    /* Arrival: mostly in order, with late events up to a day behind. */
    for (size_t i = 0; i < n; i++)
      order[i] = i;
    for (size_t i = 0; i < n; i++) {
      size_t j = i + rnd() % 30;
      if (j < n && rnd() % 3 == 0) {
        size_t x = order[i];
        order[i] = order[j];
        order[j] = x;
      }
    }
    tt_fstate *sorted = tt_fstate_new(eng), *late = tt_fstate_new(eng),
              *restored = tt_fstate_new(eng);
    fold_events(eng, sorted, evs, NULL, n);
    fold_events(eng, late, evs, order, n);
    /* A restarted process resumes from the saved state. */
    unsigned char *buf;
    size_t len;
    CHECK_OK(tt_fstate_save(eng, late, &buf, &len, &e));
    CHECK_OK(tt_fstate_load(eng, restored, buf, len, &e));
    free(buf);
    CHECK_EQ_INT(tt_fstate_latest(sorted), tt_fstate_latest(late));
    for (int k = 0; k < 4; k++) {
      int64_t t = evs[n - 1].t + (int64_t)(rnd() % (30 * H)) * (k > 0);
      CHECK_OK(tt_fengine_eval(eng, sorted, t, a, &e));
      CHECK_OK(tt_fengine_eval(eng, late, t, b, &e));
      CHECK(memcmp(a, b, nf * sizeof *a) == 0);
      CHECK_OK(tt_fengine_eval(eng, restored, t, b, &e));
      CHECK(memcmp(a, b, nf * sizeof *a) == 0);
      for (size_t f = 0; f < nf; f++)
        check_value(tt_feature_set_at(fs, f), a[f],
                    reference(tt_feature_set_at(fs, f), H, evs, n, t), t);
    }
    tt_fstate_destroy(sorted);
    tt_fstate_destroy(late);
    tt_fstate_destroy(restored);
  }
  free(a);
  free(b);
  tt_fengine_destroy(eng);
  tt_feature_set_destroy(fs);
}

TT_TEST(engine_no_look_ahead) {
  tt_error e;
  tt_feature_set *fs = parse(RANDOM_SET, &e);
  tt_fengine *eng;
  CHECK_OK(tt_fengine_new(fs, &eng, &e));
  size_t nf = tt_fengine_feature_count(eng);
  double *a = malloc(nf * sizeof *a), *b = malloc(nf * sizeof *b);
  ev evs[2] = {{10 * H + 5, 1.0, 1, 1, "A"}, {10 * H + 10, 100.0, 1, 1, "A"}};
  tt_fstate *st = tt_fstate_new(eng);
  fold_events(eng, st, evs, NULL, 1);
  CHECK_OK(tt_fengine_eval(eng, st, 10 * H + 9, a, &e));
  fold_events(eng, st, evs + 1, NULL, 1);
  /* The state refuses to answer for a time before an event it holds. */
  CHECK(tt_fengine_eval(eng, st, 10 * H + 9, b, &e) == TT_INVALID);
  CHECK_STR_CONTAINS(e.msg, "look-ahead");
  CHECK_OK(tt_fengine_eval(eng, st, 10 * H + 10, b, &e));
  int l1 = tt_feature_set_find(fs, "l1");
  CHECK(a[l1] == 1.0 && b[l1] == 100.0);
  tt_fstate_destroy(st);
  free(a);
  free(b);
  tt_fengine_destroy(eng);
  tt_feature_set_destroy(fs);
}

TT_TEST(engine_state_load_rejects_garbage) {
  tt_error e;
  tt_feature_set *fs = parse(RANDOM_SET, &e);
  tt_fengine *eng;
  CHECK_OK(tt_fengine_new(fs, &eng, &e));
  tt_fstate *st = tt_fstate_new(eng);
  ev evs[3] = {{5, 1.0, 1, 1, "A"}, {H + 5, 2.0, 1, 1, "B"}, {2 * H, 3.0, 1, 1, "A"}};
  fold_events(eng, st, evs, NULL, 3);
  unsigned char *buf;
  size_t len;
  CHECK_OK(tt_fstate_save(eng, st, &buf, &len, &e));
  for (size_t cut = 0; cut < len; cut += 7)
    CHECK(tt_fstate_load(eng, st, buf, cut, &e) != TT_OK);
  buf[10] ^= 1;
  CHECK(tt_fstate_load(eng, st, buf, len, &e) == TT_INCOMPATIBLE);
  free(buf);
  tt_fstate_destroy(st);
  tt_fengine_destroy(eng);
  tt_feature_set_destroy(fs);
}

/* ---------------------------------------------------------------------- */
/* Attributes from entity tables                                          */

#define D (24 * H)
static const char *ATTR_SET =
    "name: s\nsource: tel\ntile: 1h\nfeatures:\n"
    "  - {name: v_mean, column: v, agg: mean, window: 1d}\n"
    "attributes:\n"
    "  - {name: model, table: veh, column: model, encode: category}\n"
    "  - {name: year, table: veh, column: build_year}\n"
    "  - {name: age_years, table: veh, column: build_year, encode: age}\n";

TT_TEST(attr_parse_json_and_errors) {
  tt_error e;
  tt_feature_set *fs = parse(ATTR_SET, &e);
  char buf[1200];
  CHECK_MSG(fs, "%s", tt_error_format(&e, buf, sizeof buf));
  CHECK_EQ_INT(tt_feature_set_count(fs), 4);
  CHECK_EQ_INT(tt_feature_set_table_count(fs), 2);
  const tt_feature_def *m = tt_feature_set_at(fs, (size_t)tt_feature_set_find(fs, "model"));
  CHECK(m->attribute == TT_ATTR_CATEGORY);
  CHECK_EQ_STR(m->time_column, "valid_from");
  CHECK_EQ_INT(m->line, 7);
  CHECK_STR_CONTAINS(tt_feature_set_json(fs),
                     ",\"attributes\":[{\"name\":\"model\",\"table\":\"veh\",\"column\":\"model\","
                     "\"time\":\"valid_from\",\"encode\":\"category\",\"description\":\"\"}");
  /* A set without attributes has no "attributes" key: its version is unchanged. */
  tt_feature_set *plain = parse("name: s\nsource: tel\ntile: 1h\nfeatures:\n  - {name: v_mean, "
                                "column: v, agg: mean, window: 1d}\n",
                                &e);
  CHECK(plain && !strstr(tt_feature_set_json(plain), "attributes"));
  CHECK(strcmp(tt_feature_set_version(plain), tt_feature_set_version(fs)) != 0);
  tt_feature_set_destroy(plain);
  tt_feature_set_destroy(fs);
  const char *head = "name: s\nsource: tel\ntile: 1h\nfeatures:\n"
                     "  - {name: f, column: v, agg: mean, window: 1h}\nattributes:\n";
  char y[1024];
  snprintf(y, sizeof y, "%s  - {name: m, table: veh, column: model, encode: onehot}\n", head);
  expect_error(y, 7, "encode", "unknown encode 'onehot'");
  snprintf(y, sizeof y, "%s  - {name: m, table: veh, column: model, window: 1d}\n", head);
  expect_error(y, 7, "window", "unknown key 'window'");
  snprintf(y, sizeof y, "%s  - {name: m, column: model}\n", head);
  expect_error(y, 7, "m.table", "has no table");
  snprintf(y, sizeof y, "%s  - {name: m, table: veh}\n", head);
  expect_error(y, 7, "m.column", "has no column");
  snprintf(y, sizeof y, "%s  - {name: m, table: tel, column: model}\n", head);
  expect_error(y, 7, "m.table", "read by feature 'f'");
  snprintf(y, sizeof y, "%s  - {name: f, table: veh, column: model}\n", head);
  expect_error(y, 7, "name", "duplicate feature name 'f'");
  snprintf(y, sizeof y,
           "%s  - {name: a, table: veh, column: x}\n  - {name: b, table: veh, "
           "column: y, time: since}\n",
           head);
  expect_error(y, 8, "b.table", "disagree on its time column");
  snprintf(y, sizeof y, "%s  {name: m}\n", head);
  expect_error(y, 7, "attributes", "must be a list");
  expect_error("name: s\nsource: tel\naxis: counter\ntile: 10\nfeatures:\n  - {name: f, column: v, "
               "agg: mean, window: 10}\nattributes:\n  - {name: a, table: veh, column: y, encode: "
               "age}\n",
               8, "a.encode", "needs a timestamp time axis");
}

TT_TEST(attr_checked_against_schema) {
  tt_schema *schema = NULL;
  tt_error e;
  const char *sy = tt_project_example_schema();
  CHECK_OK(tt_schema_parse_string(sy, strlen(sy), "fleet.yaml", &schema, &e));
  const char *head = "name: s\nsource: telemetry\ntile: 1h\nfeatures:\n"
                     "  - {name: f, column: speed_kmh, agg: mean, window: 1h}\nattributes:\n";
  struct {
    const char *attr, *field, *msg;
  } bad[] = {
      {"{name: m, table: vehicles, column: colour, encode: category}", "m.table",
       "unknown column 'colour' in table 'vehicles'"},
      {"{name: m, table: vehicles, column: build_year, encode: category}", "m.column",
       "needs a string column"},
      {"{name: m, table: vehicles, column: model}", "m.table", "is string, not numeric"},
      {"{name: m, table: vehicles, column: model, encode: category, time: ts}", "m.time",
       "has time column 'valid_from'"},
      {"{name: m, table: garage, column: model, encode: category}", "table", "unknown table"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char y[1024];
    snprintf(y, sizeof y, "%s  - %s\n", head, bad[i].attr);
    tt_feature_set *fs = NULL;
    CHECK_MSG(tt_feature_set_parse_string(y, strlen(y), "fs.yaml", schema, &fs, &e) != TT_OK,
              "accepted %s", bad[i].attr);
    CHECK_EQ_INT(e.line, 7);
    CHECK_EQ_STR(e.field, bad[i].field);
    CHECK_STR_CONTAINS(e.msg, bad[i].msg);
  }
  tt_schema_destroy(schema);
}

TT_TEST(attr_category_code_is_stable) {
  /* Pinned literally: these codes are part of every trained model. */
  CHECK(tt_features_category_code("", 0) == 12454995.0);
  CHECK(tt_features_category_code("A", 1) == 16695561.0);
  CHECK(tt_features_category_code("van-l2", 6) == 5988010.0);
  CHECK(tt_features_category_code("diesel", 6) == 14585002.0);
  for (int i = 0; i < 1000; i++) {
    char s[16];
    int n = snprintf(s, sizeof s, "v%d", i);
    double c = tt_features_category_code(s, (size_t)n);
    CHECK(c >= 0 && c < 16777216.0 && c == (double)(float)c);
  }
}

static const char *veh_names[] = {"vehicle_id", "valid_from", "model", "build_year"};
static const tt_type veh_types[] = {TT_TYPE_STRING, TT_TYPE_TIMESTAMP, TT_TYPE_STRING,
                                    TT_TYPE_INT64};
typedef struct vrow {
  int64_t t;
  const char *model; /* NULL = null */
  int64_t year;
} vrow;

static void fold_veh(const tt_fengine *eng, tt_fstate *st, const vrow *rows, size_t n) {
  tt_batch *b = tt_batch_new(4, veh_names, veh_types, 16);
  CHECK(b);
  for (size_t i = 0; i < n; i++) {
    size_t r = tt_batch_add_row(b);
    CHECK_OK(tt_batch_set_string(b, 0, r, "veh", 3));
    tt_batch_set_int64(b, 1, r, rows[i].t);
    if (rows[i].model) CHECK_OK(tt_batch_set_string(b, 2, r, rows[i].model, strlen(rows[i].model)));
    tt_batch_set_int64(b, 3, r, rows[i].year);
  }
  tt_error err;
  CHECK_OK(tt_fengine_fold(eng, st, "veh", b, 0, b->nrows, &err));
  tt_batch_destroy(b);
}

/* As of t: the row with the greatest valid_from <= t; none -> missing;
 * any arrival order gives the same bits; a saved state resumes exactly. */
TT_TEST(attr_as_of_point_in_time) {
  tt_error e;
  tt_feature_set *fs = parse(ATTR_SET, &e);
  CHECK(fs);
  tt_fengine *eng;
  CHECK_OK(tt_fengine_new(fs, &eng, &e));
  size_t nf = tt_fengine_feature_count(eng);
  int im = tt_feature_set_find(fs, "model"), iy = tt_feature_set_find(fs, "year"),
      ia = tt_feature_set_find(fs, "age_years");
  double v[8];
  /* 2024-01-01 = 19723 days after 1970-01-01. */
  int64_t y2024 = 19723 * D;
  vrow rows[3] = {
      {y2024 + 10 * D, "A", 2019}, {y2024 + 40 * D, "B", 2020}, {y2024 + 70 * D, NULL, 2021}};
  const double cA = tt_features_category_code("A", 1), cB = tt_features_category_code("B", 1);
  int64_t times[] = {y2024,          y2024 + 10 * D - 1, y2024 + 10 * D, y2024 + 39 * D,
                     y2024 + 40 * D, y2024 + 69 * D,     y2024 + 70 * D, y2024 + 400 * D};
  double want_m[] = {NAN, NAN, cA, cA, cB, cB, NAN, NAN};
  double want_y[] = {NAN, NAN, 2019, 2019, 2020, 2020, 2021, 2021};
  for (int order = 0; order < 2; order++) {
    tt_fstate *st = tt_fstate_new(eng);
    for (size_t k = 0; k < sizeof times / sizeof *times; k++) {
      /* Fold the rows valid by then (in order, or all in reverse at once). */
      if (order == 0) {
        tt_fstate_reset(st);
        size_t n = 0;
        while (n < 3 && rows[n].t <= times[k])
          n++;
        fold_veh(eng, st, rows, n);
      } else {
        tt_fstate_reset(st);
        for (size_t r = 3; r-- > 0;)
          if (rows[r].t <= times[k]) fold_veh(eng, st, &rows[r], 1);
      }
      CHECK_OK(tt_fengine_eval(eng, st, times[k], v, &e));
      CHECK_MSG(isnan(want_m[k]) ? isnan(v[im]) : v[im] == want_m[k], "k %zu model %g", k, v[im]);
      CHECK_MSG(isnan(want_y[k]) ? isnan(v[iy]) : v[iy] == want_y[k], "k %zu year %g", k, v[iy]);
      CHECK(isnan(want_y[k]) ? isnan(v[ia]) : v[ia] > 0);
    }
    tt_fstate_destroy(st);
  }
  /* Age: build year 2019, as of 2024-01-01 + 40 days (2019-01-01 is 1826
   * days earlier: 5 years with one leap day). */
  tt_fstate *st = tt_fstate_new(eng);
  fold_veh(eng, st, rows, 1);
  CHECK_OK(tt_fengine_eval(eng, st, y2024 + 40 * D, v, &e));
  CHECK(v[ia] == (double)((1826 + 40) * D) / (365.25 * (double)D));
  /* A later row is never used before its time: the state refuses. */
  fold_veh(eng, st, rows + 1, 1);
  CHECK(tt_fengine_eval(eng, st, y2024 + 39 * D, v, &e) == TT_INVALID);
  /* Save and load: the same values. */
  double a[8], b[8];
  CHECK_OK(tt_fengine_eval(eng, st, y2024 + 50 * D, a, &e));
  unsigned char *buf;
  size_t len;
  CHECK_OK(tt_fstate_save(eng, st, &buf, &len, &e));
  tt_fstate *st2 = tt_fstate_new(eng);
  CHECK_OK(tt_fstate_load(eng, st2, buf, len, &e));
  CHECK_OK(tt_fengine_eval(eng, st2, y2024 + 50 * D, b, &e));
  CHECK(memcmp(a, b, nf * sizeof *a) == 0);
  CHECK(a[im] == cB);
  free(buf);
  tt_fstate_destroy(st2);
  tt_fstate_destroy(st);
  tt_fengine_destroy(eng);
  tt_feature_set_destroy(fs);
}

TT_TEST(attr_diff_names_attribute_changes) {
  tt_error e;
  tt_feature_set *a = parse(ATTR_SET, &e);
  char y[2048];
  /* year dropped, age_years reads another column, fleet added. */
  snprintf(y, sizeof y,
           "name: s\nsource: tel\ntile: 1h\nfeatures:\n"
           "  - {name: v_mean, column: v, agg: mean, window: 1d}\n"
           "attributes:\n"
           "  - {name: model, table: veh, column: model, encode: category}\n"
           "  - {name: age_years, table: veh, column: built, encode: age}\n"
           "  - {name: fleet, table: veh, column: fleet, encode: category}\n");
  tt_feature_set *b = parse(y, &e);
  CHECK(a && b);
  char *rep = NULL;
  CHECK_OK(tt_feature_set_diff(tt_feature_set_json(a), tt_feature_set_json(b), &rep, &e));
  CHECK_STR_CONTAINS(rep, "- attribute year: number of veh.build_year as of valid_from\n");
  CHECK_STR_CONTAINS(rep, "~ attribute age_years: column \"build_year\" -> \"built\"\n");
  CHECK_STR_CONTAINS(rep, "+ attribute fleet: category of veh.fleet as of valid_from\n");
  CHECK(!strstr(rep, "model"));
  free(rep);
  tt_feature_set_destroy(a);
  tt_feature_set_destroy(b);
}
