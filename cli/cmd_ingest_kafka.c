/* telltale ingest kafka://BROKERS/TOPIC — streaming ingest from Kafka into
 * the lake, exactly once. `telltale ingest` dispatches here when its
 * argument is a kafka:// URL. */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "telltale/ingest.h"
#include "telltale/kafka.h"
#include "telltale/registry.h"

static volatile int g_stop;
static void on_signal(int sig) {
  (void)sig;
  g_stop = 1;
}

void cmd_ingest_kafka_help(FILE *f) {
  fprintf(f, "usage: telltale ingest kafka://BROKERS/TOPIC [--group G] [--follow] [--table T]\n"
             "                       [--schema FILE] [--dead-letter-topic T] [--output json]\n"
             "\n"
             "Consume TOPIC as a member of consumer group G and land its messages in the lake,\n"
             "exactly once: each partition's records are validated against the schema and\n"
             "written in micro-batches as Parquet parts named from topic, partition and offset\n"
             "range (tmp, fsync, rename); only then are offsets committed. Invalid messages go\n"
             "to the dead-letter table (source kafka:TOPIC/PARTITION, line = offset). Messages\n"
             "are JSON objects, or Avro in the Confluent wire format (magic 0, schema id,\n"
             "body) with writer schemas from kafka.schema_registry (a Confluent-compatible\n"
             "registry URL, or dir:PATH of ID.avsc files). An empty broker list\n"
             "(kafka:///TOPIC) uses kafka.brokers.\n"
             "\n"
             "Without --follow: drain the assigned partitions to their current end, then exit.\n"
             "With --follow: run until SIGTERM/SIGINT, then land what is buffered, commit and\n"
             "leave the group. Several processes in one group share the partitions\n"
             "(cooperative-sticky); a broker outage is retried until it comes back.\n"
             "\n"
             "  --group G               consumer group (default kafka.group)\n"
             "  --follow                keep consuming until SIGTERM/SIGINT\n"
             "  --table T               lake table (default kafka.table: telemetry)\n"
             "  --schema FILE|REF       schema file, or registry reference NAME[:VERSION];\n"
             "                          default: the latest registered schema with the table,\n"
             "                          else the file kafka.schema (schemas/fleet.yaml)\n"
             "  --dead-letter-topic T   also publish rejected messages to topic T\n"
             "  --output json           print the closing counters as JSON\n"
             "\n"
             "Micro-batches: kafka.batch_rows, kafka.batch_bytes, kafka.batch_interval;\n"
             "group: kafka.session_timeout; longest message: ingest.max_record_bytes.\n"
             "Progress (messages/s, lag, batches, dead letters) is logged every 10 s.\n");
}

/* --schema FILE or REF; else the registry's latest schema with the table;
 * else the kafka.schema file. */
static tt_err load_schema(cli *ctx, const char *arg, const char *table, const char *fallback,
                          tt_schema **out, tt_error *err) {
  tt_err rc = cli_load_schema(ctx, arg, table, out, err);
  if (arg || rc != TT_NOTFOUND) return rc;
  tt_error_clear(err);
  return tt_schema_parse_file(fallback, out, err);
}

int cmd_ingest_kafka(cli *ctx, int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    cmd_ingest_kafka_help(stdout);
    return CLI_EXIT_OK;
  }
  tt_error err;
  tt_error_clear(&err);
  tt_kafka_ingest_opts o = {0};
  int rc = CLI_EXIT_OK, c, out = CLI_OUT_TABLE;
  const char *url_s = NULL, *schema_arg = NULL;
  tt_schema *schema = NULL;
  if (tt_kafka_ingest_opts_from_config(&o, ctx->cfg, &err) != TT_OK) {
    rc = cli_fail(&err);
    goto done;
  }
  static const struct option opts[] = {{"group", required_argument, 0, 'g'},
                                       {"follow", no_argument, 0, 'f'},
                                       {"table", required_argument, 0, 't'},
                                       {"schema", required_argument, 0, 's'},
                                       {"dead-letter-topic", required_argument, 0, 'd'},
                                       {"output", required_argument, 0, 'o'},
                                       {0, 0, 0, 0}};
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 'g':
      o.group = optarg;
      break;
    case 'f':
      o.follow = 1;
      break;
    case 't':
      o.table = optarg;
      break;
    case 's':
      schema_arg = optarg;
      break;
    case 'd':
      o.dead_letter_topic = optarg;
      break;
    case 'o':
      if ((out = cli_output_parse(optarg)) < 0) {
        rc = cli_usage_error("unknown --output '%s'", optarg);
        goto done;
      }
      break;
    default:
      rc = CLI_EXIT_USAGE;
      goto done;
    }
  }
  if (optind != argc - 1) {
    rc = cli_usage_error("ingest: want exactly one kafka://BROKERS/TOPIC");
    goto done;
  }
  url_s = argv[optind];
  tt_kafka_url url;
  if (tt_kafka_url_parse(url_s, &url, &err) != TT_OK) {
    rc = cli_fail(&err);
    goto done;
  }
  if (url.brokers[0]) o.brokers = url.brokers;
  o.topic = url.topic;
  o.stop = &g_stop;
  if (load_schema(ctx, schema_arg, o.table, o.schema_path, &schema, &err) != TT_OK) {
    rc = cli_fail(&err);
    goto done;
  }
  o.schema = schema;
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  tt_kafka_metrics *m = malloc(sizeof *m);
  if (!m) {
    rc = CLI_EXIT_SOFTWARE;
    goto done;
  }
  tt_err e = tt_kafka_ingest(&o, m, &err);
  if (out == CLI_OUT_JSON)
    printf("{\"topic\":\"%s\",\"messages\":%" PRIu64 ",\"rows\":%" PRIu64
           ",\"dead_letters\":%" PRIu64 ",\"skipped\":%" PRIu64 ",\"batches\":%" PRIu64
           ",\"commits\":%" PRIu64 "}\n",
           url.topic, m->messages, m->rows, m->dead_letters, m->skipped, m->batches, m->commits);
  else
    printf("ingested %" PRIu64 " messages from %s: %" PRIu64 " rows, %" PRIu64
           " dead letters, %" PRIu64 " batches\n",
           m->messages, url.topic, m->rows, m->dead_letters, m->batches);
  free(m);
  if (e) rc = cli_fail(&err);
done:
  tt_schema_destroy(schema);
  tt_kafka_ingest_opts_release(&o);
  return rc;
}
