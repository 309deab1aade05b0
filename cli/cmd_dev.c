/* telltale dev kafka — a local development Kafka broker (librdkafka's mock
 * cluster) for demos and tests; runs until SIGTERM/SIGINT. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "telltale/kafka.h"

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) {
  (void)sig;
  g_stop = 1;
}

static void help(FILE *f) {
  fprintf(f, "usage: telltale dev kafka [--brokers N] [--port P] [--partitions N] [--topic T]...\n"
             "                          [--address-file FILE]\n"
             "\n"
             "Run librdkafka's mock cluster as a local development Kafka broker on 127.0.0.1,\n"
             "print its bootstrap address (one line on stdout) and serve until SIGTERM or\n"
             "SIGINT. Data lives in memory only. kcat and any Kafka client can use it.\n"
             "\n"
             "  --brokers N        number of brokers (1..16, default 3)\n"
             "  --port P           also accept bootstrap connections on 127.0.0.1:P (relayed to\n"
             "                     broker 1; the brokers themselves use ports of their own)\n"
             "  --topic T          create topic T (repeatable); other topics are created on\n"
             "                     first use with the mock's default partition count\n"
             "  --partitions N     partitions of each --topic (default 16)\n"
             "  --address-file F   also write the bootstrap address to F (for scripts)\n"
             "\n"
             "Retention trap: the mock keeps only about 5 MB and 100,000 message sets per\n"
             "partition and silently drops the oldest beyond that. Give big topics enough\n"
             "partitions (telltale replay keys by vehicle id, so they fill evenly) and check\n"
             "the low watermark before counting.\n");
}

int cmd_dev(cli *ctx, int argc, char **argv) {
  (void)ctx;
  if (cli_wants_help(argc, argv)) {
    help(stdout);
    return CLI_EXIT_OK;
  }
  if (argc < 2 || strcmp(argv[1], "kafka")) {
    help(stderr);
    return CLI_EXIT_USAGE;
  }
  int brokers = 3, port = 0, partitions = 16, c;
  const char *addr_file = NULL;
  const char **topics = calloc((size_t)argc, sizeof *topics);
  int ntopics = 0;
  if (!topics) return CLI_EXIT_SOFTWARE;
  static const struct option opts[] = {
      {"brokers", required_argument, 0, 'b'},      {"port", required_argument, 0, 'p'},
      {"partitions", required_argument, 0, 'n'},   {"topic", required_argument, 0, 't'},
      {"address-file", required_argument, 0, 'a'}, {0, 0, 0, 0}};
  while ((c = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
    switch (c) {
    case 'b':
      brokers = atoi(optarg);
      break;
    case 'p':
      port = atoi(optarg);
      break;
    case 'n':
      partitions = atoi(optarg);
      break;
    case 't':
      topics[ntopics++] = optarg;
      break;
    case 'a':
      addr_file = optarg;
      break;
    default:
      free(topics);
      return CLI_EXIT_USAGE;
    }
  }
  if (optind + 1 < argc) {
    free(topics);
    return cli_usage_error("dev kafka: unexpected argument '%s'", argv[optind + 1]);
  }
  tt_error err;
  tt_error_clear(&err);
  tt_kafka_dev *dev = NULL;
  int rc = CLI_EXIT_OK;
  if (tt_kafka_dev_start(&dev, brokers, port, &err) != TT_OK) {
    rc = cli_fail(&err);
    goto out;
  }
  for (int i = 0; i < ntopics; i++)
    if (tt_kafka_dev_topic_create(dev, topics[i], partitions, &err) != TT_OK) {
      rc = cli_fail(&err);
      goto out;
    }
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  if (addr_file) {
    /* tmp + rename so that a script polling for the file never reads half */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", addr_file);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%s\n", tt_kafka_dev_bootstraps(dev)) < 0 || fclose(f) != 0 ||
        rename(tmp, addr_file) != 0) {
      fprintf(stderr, "telltale: cannot write %s\n", addr_file);
      rc = CLI_EXIT_IO;
      goto out;
    }
  }
  printf("%s\n", tt_kafka_dev_bootstraps(dev));
  fflush(stdout);
  fprintf(stderr, "telltale: dev kafka: %d broker(s) at %s; stop with SIGTERM or Ctrl-C\n", brokers,
          tt_kafka_dev_bootstraps(dev));
  while (!g_stop)
    pause();
out:
  tt_kafka_dev_destroy(dev);
  free(topics);
  return rc;
}
