/* Registry backend: PostgreSQL via libpq (`postgresql://user@host:port/db`).
 *
 * Parameters go as text with their types given for integers (int8), so the
 * server never has to guess. Transactions run at READ COMMITTED: the
 * registry serialises writers to one name by locking that name's row in
 * `names` (see registry.c), which works the same on both backends. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/backend.h"

#define INT8OID 20
#define MAX_PARAMS 32

typedef struct pg_db {
  tt__regdb base;
  PGconn *conn;
} pg_db;

/* libpq prints NOTICEs ("relation already exists, skipping") on stderr by
 * default; they are not for the user. */
static void quiet_notices(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

/* libpq messages span lines ("…refused\n\tIs the server running…"); an
 * error is one line here. */
static void one_line(char *buf) {
  size_t n = strlen(buf);
  while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
    buf[--n] = '\0';
  for (char *p = buf; *p; p++)
    if (*p == '\n' || *p == '\t') *p = ' ';
}

static tt_err result_error(PGresult *res, PGconn *conn, tt_error *err) {
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  tt_err code = state && !strcmp(state, "23505") ? TT_EXISTS : TT_DB;
  const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
  char buf[400];
  snprintf(buf, sizeof buf, "%s", msg && *msg ? msg : "unknown error");
  one_line(buf);
  return tt_error_set(err, code, "postgresql: %s", buf);
}

static tt_err pg_query(tt__regdb *d, const char *sql, size_t nparams, const tt__param *params,
                       tt__rows **rows, tt_error *err) {
  pg_db *p = (pg_db *)d;
  if (rows) *rows = NULL;
  if (nparams > MAX_PARAMS) return tt_error_set(err, TT_INTERNAL, "too many parameters");
  char ints[MAX_PARAMS][24];
  const char *values[MAX_PARAMS];
  unsigned int types[MAX_PARAMS];
  for (size_t i = 0; i < nparams; i++) {
    types[i] = 0;
    values[i] = NULL;
    if (params[i].type == TT__P_TEXT) values[i] = params[i].s;
    if (params[i].type == TT__P_INT) {
      snprintf(ints[i], sizeof ints[i], "%lld", (long long)params[i].i);
      values[i] = ints[i];
      types[i] = INT8OID;
    }
  }
  PGresult *res = PQexecParams(p->conn, sql, (int)nparams, types, values, NULL, NULL, 0);
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    tt_err code = result_error(res, p->conn, err);
    PQclear(res);
    return code;
  }
  tt_err result = TT_OK;
  if (rows) {
    int nr = PQntuples(res), nc = PQnfields(res);
    tt__rows *out = tt__rows_new((size_t)nc);
    if (!out || nc > 64) result = tt_error_set(err, TT_NOMEM, "out of memory");
    for (int r = 0; result == TT_OK && r < nr; r++) {
      const char *cells[64];
      size_t lens[64];
      for (int c = 0; c < nc; c++) {
        cells[c] = PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
        lens[c] = (size_t)PQgetlength(res, r, c);
      }
      if (tt__rows_add(out, cells, lens) != 0)
        result = tt_error_set(err, TT_NOMEM, "out of memory");
    }
    if (result == TT_OK)
      *rows = out;
    else
      tt__rows_free(out);
  }
  PQclear(res);
  return result;
}

static tt_err pg_simple(pg_db *p, const char *sql, tt_error *err) {
  return pg_query(&p->base, sql, 0, NULL, NULL, err);
}
static tt_err pg_begin(tt__regdb *d, tt_error *err) { return pg_simple((pg_db *)d, "BEGIN", err); }
static tt_err pg_commit(tt__regdb *d, tt_error *err) {
  return pg_simple((pg_db *)d, "COMMIT", err);
}
static void pg_rollback(tt__regdb *d) {
  pg_db *p = (pg_db *)d;
  if (PQtransactionStatus(p->conn) != PQTRANS_IDLE) PQclear(PQexec(p->conn, "ROLLBACK"));
}
static void pg_close(tt__regdb *d) {
  pg_db *p = (pg_db *)d;
  if (!p) return;
  PQfinish(p->conn);
  free(p);
}

tt_err tt__regdb_pg_open(const char *conninfo, tt__regdb **out, tt_error *err) {
  *out = NULL;
  pg_db *p = calloc(1, sizeof *p);
  if (!p) return tt_error_set(err, TT_NOMEM, "out of memory");
  p->base = (tt__regdb){.backend = "postgresql",
                        .query = pg_query,
                        .begin = pg_begin,
                        .commit = pg_commit,
                        .rollback = pg_rollback,
                        .close = pg_close,
                        /* any constant key: "tt" "reg" */
                        .migration_lock_sql = "SELECT pg_advisory_xact_lock(7474726567)"};
  p->conn = PQconnectdb(conninfo);
  if (!p->conn || PQstatus(p->conn) != CONNECTION_OK) {
    char buf[400];
    snprintf(buf, sizeof buf, "%s", p->conn ? PQerrorMessage(p->conn) : "out of memory");
    one_line(buf);
    tt_error_set(err, TT_DB, "postgresql: cannot connect: %s", buf);
    pg_close(&p->base);
    return TT_DB;
  }
  PQsetNoticeProcessor(p->conn, quiet_notices, NULL);
  *out = &p->base;
  return TT_OK;
}
