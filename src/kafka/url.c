/* kafka://BROKERS/TOPIC URLs. */
#include <string.h>

#include "telltale/kafka.h"

static int topic_char_ok(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

tt_err tt_kafka_url_parse(const char *url, tt_kafka_url *out, tt_error *err) {
  static const char scheme[] = "kafka://";
  memset(out, 0, sizeof *out);
  if (!url || strncmp(url, scheme, sizeof scheme - 1))
    return tt_error_set(err, TT_INVALID, "'%s' is not a kafka://BROKERS/TOPIC URL", url ? url : "");
  const char *b = url + sizeof scheme - 1;
  const char *slash = strrchr(b, '/');
  if (!slash)
    return tt_error_set(err, TT_INVALID, "'%s': missing /TOPIC (kafka://BROKERS/TOPIC)", url);
  size_t blen = (size_t)(slash - b), tlen = strlen(slash + 1);
  if (blen >= sizeof out->brokers)
    return tt_error_set(err, TT_INVALID, "'%s': broker list too long", url);
  if (tlen == 0 || tlen > 249)
    return tt_error_set(err, TT_INVALID, "'%s': topic must be 1..249 characters", url);
  for (size_t i = 0; i < tlen; i++)
    if (!topic_char_ok(slash[1 + i]))
      return tt_error_set(err, TT_INVALID, "'%s': topic may only hold [A-Za-z0-9._-]", url);
  memcpy(out->brokers, b, blen);
  memcpy(out->topic, slash + 1, tlen);
  return TT_OK;
}
