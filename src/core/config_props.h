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
