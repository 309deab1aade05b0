/* telltale replay — publish telemetry files to Kafka, one message per
 * record keyed by vehicle id (the vehicle gateway of demos and load tests). */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "telltale/kafka.h"

static volatile int g_stop;
static void on_signal(int sig) {
  (void)sig;
  g_stop = 1;
}

static void help(FILE *f) {
  fprintf(f, "usage: telltale replay --to kafka://BROKERS/TOPIC [--rate N/s] [--format json]\n"
             "                       [--key FIELD] FILE...\n"
             "\n"
             "Publish each record of each telemetry FILE (CSV with a header, or JSON lines, as\n"
             "`telltale simulate` writes them) as one JSON message keyed by the vehicle id,\n"
             "and wait until the broker acknowledged every message. An empty broker list\n"
             "(kafka:///TOPIC) uses kafka.brokers from the configuration.\n"
             "\n"
             "  --to URL        destination topic, kafka://HOST:PORT[,HOST:PORT]/TOPIC\n"
             "  --rate N[/s]    at most N messages per second (default: as fast as possible)\n"
             "  --format F      json (default); avro is not implemented yet\n"
             "  --key FIELD     record field used as message key (default vehicle_id)\n"
             "\n"
             "Prints one line: files, records and bytes published.\n");
}

int cmd_replay(cli *ctx, int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    help(stdout);
    return CLI_EXIT_OK;
  }
  const char *to = NULL;
  tt_kafka_replay_opts o = {.key_field = "vehicle_id", .stop = &g_stop};
  int c;
  static const struct option opts[] = {{"to", required_argument, 0, 't'},
                                       {"rate", required_argument, 0, 'r'},
                                       {"format", required_argument, 0, 'f'},
                                       {"key", required_argument, 0, 'k'},
                                       {0, 0, 0, 0}};
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 't':
      to = optarg;
      break;
    case 'r': {
      char *end;
      o.rate = strtod(optarg, &end);
      if (end == optarg || (*end && strcmp(end, "/s")) || o.rate <= 0)
        return cli_usage_error("--rate wants N or N/s with N > 0, got '%s'", optarg);
      break;
    }
    case 'f':
      if (!strcmp(optarg, "json"))
        o.format = TT_KAFKA_JSON;
      else if (!strcmp(optarg, "avro"))
        o.format = TT_KAFKA_AVRO;
      else
        return cli_usage_error("--format must be json or avro, got '%s'", optarg);
      break;
    case 'k':
      o.key_field = optarg;
      break;
    default:
      return CLI_EXIT_USAGE;
    }
  }
  if (!to) return cli_usage_error("replay: --to kafka://BROKERS/TOPIC is required");
  if (optind >= argc) return cli_usage_error("replay: no input files");
  tt_error err;
  tt_error_clear(&err);
  tt_kafka_url url;
  if (tt_kafka_url_parse(to, &url, &err) != TT_OK) return cli_fail(&err);
  o.brokers = url.brokers[0] ? url.brokers : tt_config_get(ctx->cfg, "kafka.brokers");
  o.topic = url.topic;
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  tt_kafka_replay_stats st;
  tt_err rc =
      tt_kafka_replay(&o, (const char *const *)argv + optind, (size_t)(argc - optind), &st, &err);
  printf("replayed %" PRIu64 " files, %" PRIu64 " records, %" PRIu64 " bytes to %s\n", st.files,
         st.records, st.bytes, url.topic);
  return rc ? cli_fail(&err) : CLI_EXIT_OK;
}
