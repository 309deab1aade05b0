/* The table of every configuration property: name, kind, default, range or
 * choices, description. It validates values and generates the docs; add a
 * property here and it is settable from telltale.yaml, TELLTALE_* and flags.
 *
 * X(name, kind, default, min, max, choices, description)
 */
#define TT_CONFIG_PROPERTIES(X)                                                                   \
  X("lake", TT_CONFIG_PATH, "lake", 0, 0, NULL,                                                   \
    "Root directory of the Parquet data lake (local path or shared filesystem).")                  \
  X("registry", TT_CONFIG_URL, "sqlite:telltale.db", 0, 0, NULL,                                  \
    "Registry (metadata store) URL: sqlite:PATH or postgresql://user@host:port/db.")              \
  X("online_store", TT_CONFIG_URL, "memory:", 0, 0, NULL,                                         \
    "Online feature store URL: memory: (in-process) or redis://host:port[/db].")                  \
  X("artifacts", TT_CONFIG_PATH, "artifacts", 0, 0, NULL,                                         \
    "Directory of model artefacts (local path or shared filesystem).")                            \
  X("kafka.brokers", TT_CONFIG_STRING, "", 0, 0, NULL,                                            \
    "Kafka bootstrap servers, host:port[,host:port…].")                                           \
  X("kafka.group", TT_CONFIG_STRING, "telltale-ingest", 0, 0, NULL,                               \
    "Kafka consumer group of `telltale ingest kafka://…`.")                                       \
  X("kafka.table", TT_CONFIG_STRING, "telemetry", 0, 0, NULL,                                     \
    "Lake table that `telltale ingest kafka://…` lands messages in.")                              \
  X("kafka.schema", TT_CONFIG_PATH, "schemas/fleet.yaml", 0, 0, NULL,                             \
    "Schema file declaring kafka.table; Kafka messages are validated against it.")                 \
  X("kafka.schema_registry", TT_CONFIG_STRING, "", 0, 0, NULL,                                     \
    "Where Avro writer schemas are found by Confluent schema id: dir:PATH (files ID.avsc); "      \
    "empty: Avro messages are dead-lettered as unknown_schema.")                                   \
  X("kafka.batch_rows", TT_CONFIG_INT, "100000", 1, 10000000, NULL,                               \
    "Kafka ingest lands a partition's micro-batch at this many records.")                          \
  X("kafka.batch_bytes", TT_CONFIG_INT, "67108864", 1024, INT64_C(1) << 34, NULL,                 \
    "… or at this many message bytes.")                                                             \
  X("kafka.buffer_rows", TT_CONFIG_INT, "2000000", 1000, 100000000, NULL,                        \
    "Records buffered over all partitions before the fullest partition's batch is landed early "  \
    "(about 200 bytes each); higher means fewer, bigger part files when many partitions are read.") \
  X("kafka.batch_interval", TT_CONFIG_DURATION, "5s", 0, 0, NULL,                                 \
    "… or when its oldest message is this old (the latency bound of --follow).")                  \
  X("kafka.session_timeout", TT_CONFIG_DURATION, "10s", 0, 0, NULL,                               \
    "Consumer-group session timeout: how soon a dead member's partitions move to another.")        \
  X("kafka.dead_letter_topic", TT_CONFIG_STRING, "", 0, 0, NULL,                                   \
    "Also publish rejected messages to this topic (headers tt-reason, tt-source, tt-offset); "    \
    "empty: the dead-letter table only.")                                                          \
  X("ingest.chunk_bytes", TT_CONFIG_INT, "33554432", 65536, INT64_C(1) << 34, NULL,               \
    "File ingest works in chunks of about this many bytes (cut at line ends); each chunk "       \
    "becomes its own part file per date partition.")                                               \
  X("ingest.threads", TT_CONFIG_INT, "0", 0, 256, NULL,                                           \
    "Worker threads for file ingest; 0 means one per core.")                                       \
  X("ingest.max_record_bytes", TT_CONFIG_INT, "1048576", 1024, INT64_C(1) << 30, NULL,            \
    "Longest accepted record (line or message); longer ones are dead-lettered.")                  \
  X("train.threads", TT_CONFIG_INT, "0", 0, 1024, NULL,                                          \
    "XGBoost threads for `telltale train` when the model spec sets no nthread; 0 means "        \
    "XGBoost's default (every core).")                                                            \
  X("log.format", TT_CONFIG_ENUM, "text", 0, 0, "text|json",                                      \
    "Log format: text for terminals, json (JSON lines) for daemons.")                             \
  X("log.level", TT_CONFIG_ENUM, "info", 0, 0, "debug|info|warn|error|quiet",                     \
    "Lowest level that is logged.")
