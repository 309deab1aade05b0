/* tt_sim_run: the simulation loop and the files.
 *
 * Day by day, vehicles are simulated in groups; within a group each worker
 * thread takes a contiguous slice of vehicles and formats their rows into its
 * own buffer, and the buffers are written in vehicle order while the next
 * group is computed (run_days). A vehicle's random
 * stream and state belong to it alone, so the bytes written do not depend on
 * the number of threads. Events stay in each vehicle's buffers until the end
 * and are written in vehicle order (each vehicle's in time order). Every file
 * is written under a .tmp name and renamed when complete; the manifest comes
 * last, so a directory with simulation.json is a finished simulation. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "sim/model.h"

/* Aim for about this much formatted output per group of vehicles. */
#define GROUP_BYTES ((size_t)64 << 20)
#define MAX_VEHICLES INT64_C(1000000)
#define MAX_DAYS INT64_C(3660)
#define MAX_THREADS 256

void tt_sim_options_init(tt_sim_options *o) {
  memset(o, 0, sizeof *o);
  o->vehicles = 10;
  o->days = 7;
  o->seed = 1;
  o->interval_us = 60 * TT_USEC_PER_SEC;
  o->start = tt_time_from_civil(2026, 1, 1);
  o->format = TT_SIM_CSV;
}

static const char *ext_of(tt_sim_format f) { return f == TT_SIM_JSONL ? "jsonl" : "csv"; }

static tt_err check_options(const tt_sim_options *o, tt_error *err) {
  const char *field = NULL;
  if (o->vehicles < 1 || o->vehicles > MAX_VEHICLES) {
    field = "vehicles";
    tt_error_set(err, TT_INVALID, "vehicles must be between 1 and %lld, got %lld",
                 (long long)MAX_VEHICLES, (long long)o->vehicles);
  } else if (o->days < 1 || o->days > MAX_DAYS) {
    field = "days";
    tt_error_set(err, TT_INVALID, "days must be between 1 and %lld, got %lld", (long long)MAX_DAYS,
                 (long long)o->days);
  } else if (o->interval_us < TT_USEC_PER_SEC || o->interval_us > TT_USEC_PER_HOUR ||
             o->interval_us % TT_USEC_PER_SEC) {
    field = "interval";
    tt_error_set(err, TT_INVALID, "interval must be whole seconds from 1s to 1h (e.g. 60s)");
  } else if (o->start % TT_USEC_PER_DAY) {
    field = "start";
    tt_error_set(err, TT_INVALID, "start must be a date (midnight UTC), e.g. 2026-01-01");
  } else if (o->start < tt_time_from_civil(1995, 1, 1) ||
             o->start > tt_time_from_civil(2090, 1, 1)) {
    /* vehicles are up to 15 years old: build years stay in the schema's
     * 1980..2100 */
    field = "start";
    tt_error_set(err, TT_INVALID, "start must be between 1995-01-01 and 2090-01-01");
  } else if (o->format != TT_SIM_CSV && o->format != TT_SIM_JSONL) {
    field = "format";
    tt_error_set(err, TT_INVALID, "format must be csv or jsonl");
  } else if (!o->out_dir || !*o->out_dir) {
    field = "out";
    tt_error_set(err, TT_INVALID, "an output directory is required");
  } else if (o->threads < 0 || o->threads > MAX_THREADS) {
    field = "threads";
    tt_error_set(err, TT_INVALID, "threads must be between 0 and %d", MAX_THREADS);
  }
  if (!field) return TT_OK;
  return tt_error_at(err, NULL, 0, field);
}

/* An output file being written under path.tmp. */
typedef struct out_file {
  char path[4096], tmp[4200];
  int fd;
} out_file;

static tt_err out_open(out_file *f, const char *path, tt_error *err) {
  f->fd = -1;
  if (snprintf(f->path, sizeof f->path, "%s", path) >= (int)sizeof f->path) {
    tt_error_at(err, NULL, 0, "out");
    return tt_error_set(err, TT_INVALID, "output path too long");
  }
  snprintf(f->tmp, sizeof f->tmp, "%s.tmp", path);
  f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (f->fd < 0) {
    tt_error_at(err, f->tmp, 0, NULL);
    return tt_error_set(err, TT_IO, "cannot create: %s", strerror(errno));
  }
  return TT_OK;
}

static tt_err out_write(out_file *f, const char *p, size_t n, tt_error *err) {
  while (n) {
    ssize_t w = write(f->fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      tt_error_at(err, f->tmp, 0, NULL);
      return tt_error_set(err, TT_IO, "write failed: %s", w < 0 ? strerror(errno) : "short write");
    }
    p += w;
    n -= (size_t)w;
  }
  return TT_OK;
}

static tt_err out_commit(out_file *f, tt_error *err) {
  int rc = close(f->fd);
  f->fd = -1;
  if (rc) {
    tt_error_at(err, f->tmp, 0, NULL);
    return tt_error_set(err, TT_IO, "close failed: %s", strerror(errno));
  }
  if (rename(f->tmp, f->path)) {
    tt_error_at(err, f->path, 0, NULL);
    return tt_error_set(err, TT_IO, "rename failed: %s", strerror(errno));
  }
  return TT_OK;
}

static void out_abort(out_file *f) {
  if (f->fd >= 0) close(f->fd);
  f->fd = -1;
  unlink(f->tmp);
}

/* Remove telemetry day files and event files a previous run left behind
 * (other days, other format), so the directory holds one simulation. Only
 * in a directory that holds a simulation (simulation.json): files of the
 * same names in any other directory are the user's, and left alone. */
static void remove_stale(const char *dir) {
  char path[4200];
  snprintf(path, sizeof path, "%s/simulation.json", dir);
  if (!tt_path_exists(path)) return;
  snprintf(path, sizeof path, "%s/telemetry", dir);
  DIR *d = opendir(path);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
      const char *n = e->d_name;
      size_t len = strlen(n);
      int is_day = !strncmp(n, "telemetry-", 10) && ((len == 24 && !strcmp(n + 20, ".csv")) ||
                                                     (len == 26 && !strcmp(n + 20, ".jsonl")));
      if (!is_day) continue;
      char f[4500];
      snprintf(f, sizeof f, "%s/%s", path, n);
      unlink(f);
    }
    closedir(d);
  }
  static const char *const names[] = {"dtc", "maintenance", "failures", "vehicles"};
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 2; j++) {
      snprintf(path, sizeof path, "%s/%s.%s", dir, names[i], j ? "jsonl" : "csv");
      unlink(path);
    }
  snprintf(path, sizeof path, "%s/simulation.json", dir);
  unlink(path);
}

typedef struct job {
  tt__vehicle *vehicles;
  int64_t from, to;
  const tt__sim_ctx *ctx;
  tt_time day_start;
  tt__buf out;
  int64_t rows;
  int failed;
} job;

static void *job_run(void *arg) {
  job *j = arg;
  for (int64_t i = j->from; i < j->to; i++)
    if (tt__vehicle_day(&j->vehicles[i], j->ctx, j->day_start, &j->out, &j->rows)) j->failed = 1;
  return NULL;
}

/* Every field of tt_sim_counts is an int64_t, so vehicles' counts are summed
 * as arrays; the assertion catches a field of another type. */
_Static_assert(sizeof(tt_sim_counts) % sizeof(int64_t) == 0, "tt_sim_counts: int64_t fields only");

static void add_counts(tt_sim_counts *a, const tt_sim_counts *b) {
  int64_t *x = (int64_t *)a;
  const int64_t *y = (const int64_t *)b;
  for (size_t i = 0; i < sizeof *a / sizeof(int64_t); i++)
    x[i] += y[i];
}

static int default_threads(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

/* The telemetry of all days. Work comes in units, one group of vehicles on
 * one day, in order. Worker threads compute unit u into one of two job sets
 * while this thread writes unit u-1's buffers from the other set, so
 * formatting and writing overlap; the bytes go out in unit and slice order,
 * exactly as if done one after the other. Only one unit is computed at a
 * time, so no two threads ever touch the same vehicle. */
static tt_err run_days(tt__vehicle *vehicles, tt__sim_ctx *ctx, job *jobs, int nthreads,
                       int64_t group, int64_t *day_rows, tt_error *err) {
  const tt_sim_options *o = ctx->opt;
  int64_t per_day = (o->vehicles + group - 1) / group;
  int64_t units = o->days * per_day;
  job *sets[2] = {jobs, jobs + nthreads};
  int nset[2] = {0, 0};
  pthread_t tids[MAX_THREADS];
  int started[MAX_THREADS];
  out_file f = {.fd = -1};
  tt_err rc = TT_OK;

  for (int64_t u = 0; u <= units; u++) {
    /* 1. start computing unit u */
    job *cur = sets[u & 1];
    int n = 0;
    if (u < units) {
      int64_t d = u / per_day, g0 = (u % per_day) * group;
      int64_t g1 = g0 + group < o->vehicles ? g0 + group : o->vehicles;
      ctx->last_day = d + 1 == o->days; /* read by this unit's workers only */
      n = nthreads < g1 - g0 ? nthreads : (int)(g1 - g0);
      nset[u & 1] = n;
      for (int k = 0; k < n; k++) {
        job *j = &cur[k];
        j->vehicles = vehicles;
        j->from = g0 + (g1 - g0) * k / n;
        j->to = g0 + (g1 - g0) * (k + 1) / n;
        j->ctx = ctx;
        j->day_start = o->start + d * TT_USEC_PER_DAY;
        j->rows = 0;
        j->failed = 0;
        tt__buf_reset(&j->out);
        /* a worker that cannot start runs on this thread at the join */
        started[k] = !pthread_create(&tids[k], NULL, job_run, j);
      }
    }
    /* 2. meanwhile write unit u-1: open its day's file before its first
     * group, commit it after its last */
    if (u > 0 && !rc) {
      job *prev = sets[(u - 1) & 1];
      int64_t d = (u - 1) / per_day;
      if ((u - 1) % per_day == 0) {
        char date[16], path[4200];
        tt_time_format_date(o->start + d * TT_USEC_PER_DAY, date, sizeof date);
        snprintf(path, sizeof path, "%s/telemetry/telemetry-%s.%s", o->out_dir, date,
                 ext_of(o->format));
        rc = out_open(&f, path, err);
        if (!rc && o->format == TT_SIM_CSV) {
          tt__buf h = {0};
          tt__fmt_telemetry_header(&h);
          rc = h.failed ? tt_error_set(err, TT_NOMEM, "out of memory")
                        : out_write(&f, h.p, h.len, err);
          tt__buf_free(&h);
        }
      }
      for (int k = 0; k < nset[(u - 1) & 1] && !rc; k++) {
        if (prev[k].failed)
          rc = tt_error_set(err, TT_NOMEM, "out of memory formatting rows");
        else
          rc = out_write(&f, prev[k].out.p, prev[k].out.len, err);
        day_rows[d] += prev[k].rows;
      }
      if (!rc && (u - 1) % per_day == per_day - 1) {
        rc = out_commit(&f, err);
        if (!rc && o->progress) o->progress(o->progress_ud, d + 1, o->days);
      }
    }
    /* 3. wait for unit u */
    for (int k = 0; k < n; k++) {
      if (started[k])
        pthread_join(tids[k], NULL);
      else
        job_run(&cur[k]);
    }
    if (rc) break;
  }
  if (rc && f.fd >= 0) out_abort(&f);
  return rc;
}

static tt_err write_events(tt__vehicle *vehicles, const tt_sim_options *o, const char *table,
                           const char *header, size_t buf_offset, tt_error *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s.%s", o->out_dir, table, ext_of(o->format));
  out_file f;
  tt_err rc = out_open(&f, path, err);
  if (rc) return rc;
  if (o->format == TT_SIM_CSV) rc = out_write(&f, header, strlen(header), err);
  for (int64_t i = 0; i < o->vehicles && !rc; i++) {
    const tt__buf *b = (const tt__buf *)((const char *)&vehicles[i] + buf_offset);
    if (b->failed)
      rc = tt_error_set(err, TT_NOMEM, "out of memory formatting events");
    else if (b->len)
      rc = out_write(&f, b->p, b->len, err);
  }
  if (rc) {
    out_abort(&f);
    return rc;
  }
  return out_commit(&f, err);
}

static tt_err write_vehicles(tt__vehicle *vehicles, const tt_sim_options *o, tt_error *err) {
  tt__buf b = {0};
  int csv = o->format == TT_SIM_CSV;
  if (csv) tt__buf_puts(&b, "vehicle_id,valid_from,model,engine_type,build_year,fleet,region\n");
  for (int64_t i = 0; i < o->vehicles; i++) {
    const tt__vehicle *v = &vehicles[i];
    const char *vals[] = {v->spec->name, v->engine_type, NULL, tt__fleets[v->fleet].name,
                          tt__regions[v->region].name};
    static const char *const keys[] = {"model", "engine_type", "build_year", "fleet", "region"};
    if (csv) {
      tt__buf_puts(&b, v->id);
      tt__buf_putc(&b, ',');
      tt__fmt_time(&b, o->start);
    } else {
      tt__buf_puts(&b, "{\"vehicle_id\":\"");
      tt__buf_puts(&b, v->id);
      tt__buf_puts(&b, "\",\"valid_from\":\"");
      tt__fmt_time(&b, o->start);
      tt__buf_putc(&b, '"');
    }
    for (int k = 0; k < 5; k++) {
      if (csv)
        tt__buf_putc(&b, ',');
      else {
        tt__buf_puts(&b, ",\"");
        tt__buf_puts(&b, keys[k]);
        tt__buf_puts(&b, "\":");
      }
      if (!vals[k])
        tt__fmt_fixed(&b, v->build_year, 0);
      else if (csv)
        tt__buf_puts(&b, vals[k]);
      else {
        tt__buf_putc(&b, '"');
        tt__buf_puts(&b, vals[k]);
        tt__buf_putc(&b, '"');
      }
    }
    tt__buf_puts(&b, csv ? "\n" : "}\n");
  }
  tt_err rc;
  if (b.failed) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory formatting vehicles");
  } else {
    char path[4200];
    snprintf(path, sizeof path, "%s/vehicles.%s", o->out_dir, ext_of(o->format));
    out_file f;
    rc = out_open(&f, path, err);
    if (!rc) rc = out_write(&f, b.p, b.len, err);
    if (!rc)
      rc = out_commit(&f, err);
    else if (f.fd >= 0)
      out_abort(&f);
  }
  tt__buf_free(&b);
  return rc;
}

/* simulation.json: the arguments, the counts and every file with its rows.
 * Deterministic too: no timings, no thread count, no absolute paths. */
static tt_err write_manifest(const tt_sim_options *o, const tt_sim_counts *c,
                             const int64_t *day_rows, tt_error *err) {
  tt__buf b = {0};
  char tmp[256], ts[40];
  const char *ext = ext_of(o->format);
  tt__buf_puts(&b, "{\n  \"simulator\": \"telltale simulate\",\n  \"schema\": \"fleet\",\n");
  snprintf(tmp, sizeof tmp,
           "  \"arguments\": {\"vehicles\": %lld, \"days\": %lld, \"seed\": %llu, "
           "\"interval_seconds\": %lld, \"start\": \"%s\", \"format\": \"%s\"},\n",
           (long long)o->vehicles, (long long)o->days, (unsigned long long)o->seed,
           (long long)(o->interval_us / TT_USEC_PER_SEC), tt_time_format(o->start, ts, sizeof ts),
           ext);
  tt__buf_puts(&b, tmp);
  snprintf(tmp, sizeof tmp,
           "  \"counts\": {\"telemetry\": %lld, \"telemetry_valid\": %lld, "
           "\"telemetry_out_of_range\": %lld, \"dtc\": %lld, \"maintenance\": %lld, ",
           (long long)c->telemetry, (long long)c->telemetry_valid,
           (long long)c->telemetry_out_of_range, (long long)c->dtc, (long long)c->maintenance);
  tt__buf_puts(&b, tmp);
  snprintf(tmp, sizeof tmp, "\"failures\": %lld, \"vehicles\": %lld, \"telemetry_files\": %lld},\n",
           (long long)c->failures, (long long)c->vehicles, (long long)c->telemetry_files);
  tt__buf_puts(&b, tmp);
  tt__buf_puts(&b, "  \"failures_by_component\": {");
  for (int i = 0; i < TT_SIM_NCOMPONENTS; i++) {
    snprintf(tmp, sizeof tmp, "%s\"%s\": %lld", i ? ", " : "", tt_sim_component_name(i),
             (long long)c->failures_by_component[i]);
    tt__buf_puts(&b, tmp);
  }
  snprintf(tmp, sizeof tmp, "},\n  \"scheduled_services\": %lld,\n",
           (long long)c->scheduled_services);
  tt__buf_puts(&b, tmp);
  snprintf(tmp, sizeof tmp,
           "  \"imperfections\": {\"silent_vehicles\": %lld, \"silent_vehicle_days\": %lld, "
           "\"dropout_values\": %lld, \"spikes\": %lld, ",
           (long long)c->silent_vehicles, (long long)c->silent_vehicle_days,
           (long long)c->dropout_values, (long long)c->spikes);
  tt__buf_puts(&b, tmp);
  snprintf(tmp, sizeof tmp,
           "\"spikes_out_of_range\": %lld, \"duplicates\": %lld, \"late\": %lld},\n",
           (long long)c->spikes_out_of_range, (long long)c->duplicates, (long long)c->late);
  tt__buf_puts(&b, tmp);
  tt__buf_puts(&b, "  \"files\": [\n");
  static const char *const tables[] = {"vehicles", "dtc", "maintenance", "failures"};
  const int64_t table_rows[] = {c->vehicles, c->dtc, c->maintenance, c->failures};
  for (int i = 0; i < 4; i++) {
    snprintf(tmp, sizeof tmp, "    {\"path\": \"%s.%s\", \"table\": \"%s\", \"rows\": %lld},\n",
             tables[i], ext, tables[i], (long long)table_rows[i]);
    tt__buf_puts(&b, tmp);
  }
  for (int64_t d = 0; d < o->days; d++) {
    char date[16];
    tt_time_format_date(o->start + d * TT_USEC_PER_DAY, date, sizeof date);
    snprintf(tmp, sizeof tmp,
             "    {\"path\": \"telemetry/telemetry-%s.%s\", \"table\": \"telemetry\", "
             "\"rows\": %lld}%s\n",
             date, ext, (long long)day_rows[d], d + 1 < o->days ? "," : "");
    tt__buf_puts(&b, tmp);
  }
  tt__buf_puts(&b, "  ]\n}\n");
  tt_err rc;
  if (b.failed) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
  } else {
    char path[4200];
    snprintf(path, sizeof path, "%s/simulation.json", o->out_dir);
    out_file f;
    rc = out_open(&f, path, err);
    if (!rc) rc = out_write(&f, b.p, b.len, err);
    if (!rc)
      rc = out_commit(&f, err);
    else if (f.fd >= 0)
      out_abort(&f);
  }
  tt__buf_free(&b);
  return rc;
}

tt_err tt_sim_run(const tt_sim_options *o, tt_sim_counts *counts, tt_error *err) {
  tt_err rc = check_options(o, err);
  if (rc) return rc;
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/telemetry", o->out_dir);
  if ((rc = tt_mkdirs(dir, err))) return rc;
  remove_stale(o->out_dir);

  int nthreads = o->threads ? o->threads : default_threads();
  tt__vehicle *vehicles = calloc((size_t)o->vehicles, sizeof *vehicles);
  int64_t *day_rows = calloc((size_t)o->days, sizeof *day_rows);
  job *jobs = calloc(2 * (size_t)nthreads, sizeof *jobs); /* two sets: see run_days */
  if (!vehicles || !day_rows || !jobs) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory for %lld vehicles", (long long)o->vehicles);
    goto out;
  }
  for (int64_t i = 0; i < o->vehicles; i++)
    tt__vehicle_init(&vehicles[i], o, i);

  /* group size: a running engine writes a row per interval for ~a third of
   * the day, ~200 bytes each */
  int64_t interval_s = o->interval_us / TT_USEC_PER_SEC;
  size_t per_vehicle = (size_t)(200 * 86400 / 3 / interval_s) + 4096;
  int64_t group = (int64_t)(GROUP_BYTES / per_vehicle);
  if (group < 4 * nthreads) group = 4 * nthreads;
  tt__sim_ctx ctx = {.opt = o, .interval_s = interval_s, .last_day = 0};

  if ((rc = run_days(vehicles, &ctx, jobs, nthreads, group, day_rows, err))) goto out;

  if ((rc = write_events(vehicles, o, "dtc", "vehicle_id,ts,code,severity\n",
                         offsetof(tt__vehicle, dtc), err)) ||
      (rc = write_events(vehicles, o, "maintenance", "vehicle_id,ts,component,action\n",
                         offsetof(tt__vehicle, maintenance), err)) ||
      (rc = write_events(vehicles, o, "failures", "vehicle_id,ts,component\n",
                         offsetof(tt__vehicle, failures), err)) ||
      (rc = write_vehicles(vehicles, o, err)))
    goto out;

  tt_sim_counts total;
  memset(&total, 0, sizeof total);
  for (int64_t i = 0; i < o->vehicles; i++)
    add_counts(&total, &vehicles[i].counts);
  total.vehicles = o->vehicles;
  total.telemetry_files = o->days;
  if ((rc = write_manifest(o, &total, day_rows, err))) goto out;
  if (counts) *counts = total;

out:
  if (vehicles)
    for (int64_t i = 0; i < o->vehicles; i++)
      tt__vehicle_free(&vehicles[i]);
  if (jobs)
    for (int k = 0; k < 2 * nthreads; k++)
      tt__buf_free(&jobs[k].out);
  free(jobs);
  free(day_rows);
  free(vehicles);
  return rc;
}
