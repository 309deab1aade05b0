/* `telltale dev kafka`: librdkafka's mock cluster as a local development
 * broker. The mock speaks the real Kafka protocol on 127.0.0.1 ports of its
 * own choosing (librdkafka 2.0 cannot be told a port), so a fixed --port is
 * served by a small TCP forwarder to broker 1: clients bootstrap through it
 * and then reach every broker directly at the addresses the metadata
 * advertises.
 *
 * The mock keeps about 5 MB and 100,000 message sets per partition and
 * silently drops the oldest beyond that; see tt_kafka_dev_topic_create. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "telltale/kafka.h"
#include "telltale/log.h"

struct tt_kafka_dev {
  rd_kafka_t *rk;
  rd_kafka_mock_cluster_t *mc;
  char *bootstraps;
  int listen_fd; /* forwarder, -1 if none */
  int target_port;
  volatile int stopping;
  pthread_t acceptor;
  int acceptor_started;
  int relays; /* live relay threads (atomic); destroy waits for them */
};

typedef struct relay {
  int a, b;
  tt_kafka_dev *dev;
} relay;

/* Copy bytes both ways until either side closes. */
static void *relay_main(void *arg) {
  relay *r = arg;
  char buf[65536];
  struct pollfd p[2] = {{r->a, POLLIN, 0}, {r->b, POLLIN, 0}};
  while (!r->dev->stopping) {
    int n = poll(p, 2, 200);
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    int done = 0;
    for (int i = 0; i < 2 && !done; i++) {
      if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t got = read(p[i].fd, buf, sizeof buf);
      if (got <= 0) {
        done = 1;
        break;
      }
      for (ssize_t off = 0; off < got;) {
        ssize_t w = write(p[1 - i].fd, buf + off, (size_t)(got - off));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
          done = 1;
          break;
        }
        off += w;
      }
    }
    if (done) break;
  }
  close(r->a);
  close(r->b);
  __atomic_sub_fetch(&r->dev->relays, 1, __ATOMIC_SEQ_CST);
  free(r);
  return NULL;
}

static void *acceptor_main(void *arg) {
  tt_kafka_dev *dev = arg;
  while (!dev->stopping) {
    struct pollfd p = {dev->listen_fd, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    int c = accept(dev->listen_fd, NULL, NULL);
    if (c < 0) continue;
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)dev->target_port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    relay *r = malloc(sizeof *r);
    pthread_t t;
    if (s < 0 || !r || connect(s, (struct sockaddr *)&to, sizeof to) != 0) {
      tt_warn("dev", "forwarder: cannot reach broker 1 on port %d: %s", dev->target_port,
              strerror(errno));
      if (s >= 0) close(s);
      close(c);
      free(r);
      continue;
    }
    *r = (relay){c, s, dev};
    __atomic_add_fetch(&dev->relays, 1, __ATOMIC_SEQ_CST);
    if (pthread_create(&t, NULL, relay_main, r) != 0) {
      __atomic_sub_fetch(&dev->relays, 1, __ATOMIC_SEQ_CST);
      close(c);
      close(s);
      free(r);
      continue;
    }
    pthread_detach(t);
  }
  return NULL;
}

static tt_err start_forwarder(tt_kafka_dev *dev, int port, tt_error *err) {
  /* Broker 1 is the first entry of the mock's bootstrap list. */
  const char *colon = strchr(rd_kafka_mock_cluster_bootstraps(dev->mc), ':');
  dev->target_port = colon ? atoi(colon + 1) : 0;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0) return tt_error_set(err, TT_IO, "socket: %s", strerror(errno));
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0) {
    int e = errno;
    close(fd);
    return tt_error_set(err, TT_IO, "cannot listen on 127.0.0.1:%d: %s", port, strerror(e));
  }
  dev->listen_fd = fd;
  if (pthread_create(&dev->acceptor, NULL, acceptor_main, dev) != 0)
    return tt_error_set(err, TT_INTERNAL, "cannot start the forwarder thread");
  dev->acceptor_started = 1;
  return TT_OK;
}

tt_err tt_kafka_dev_start(tt_kafka_dev **out, int brokers, int port, tt_error *err) {
  char errstr[512];
  tt_err rc = TT_OK;
  *out = NULL;
  if (brokers < 1 || brokers > 16)
    return tt_error_set(err, TT_INVALID, "--brokers must be 1..16, got %d", brokers);
  if (port < 0 || port > 65535) return tt_error_set(err, TT_INVALID, "--port must be 0..65535");
  tt_kafka_dev *dev = calloc(1, sizeof *dev);
  if (!dev) return tt_error_set(err, TT_NOMEM, "out of memory");
  dev->listen_fd = -1;
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* The handle only hosts the cluster; it never connects anywhere. */
  rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
  dev->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!dev->rk) {
    rd_kafka_conf_destroy(conf);
    rc = tt_error_set(err, TT_KAFKA, "rd_kafka_new: %s", errstr);
    goto fail;
  }
  dev->mc = rd_kafka_mock_cluster_new(dev->rk, brokers);
  if (!dev->mc) {
    rc = tt_error_set(err, TT_KAFKA, "cannot create the mock cluster");
    goto fail;
  }
  if (port > 0 && (rc = start_forwarder(dev, port, err)) != TT_OK) goto fail;
  const char *bs = rd_kafka_mock_cluster_bootstraps(dev->mc);
  size_t n = strlen(bs) + 32;
  dev->bootstraps = malloc(n);
  if (!dev->bootstraps) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto fail;
  }
  if (port > 0)
    snprintf(dev->bootstraps, n, "127.0.0.1:%d,%s", port, bs);
  else
    snprintf(dev->bootstraps, n, "%s", bs);
  *out = dev;
  return TT_OK;
fail:
  tt_kafka_dev_destroy(dev);
  return rc;
}

const char *tt_kafka_dev_bootstraps(const tt_kafka_dev *dev) { return dev->bootstraps; }

tt_err tt_kafka_dev_topic_create(tt_kafka_dev *dev, const char *topic, int partitions,
                                 tt_error *err) {
  if (partitions < 1 || partitions > TT_KAFKA_MAX_PARTITIONS)
    return tt_error_set(err, TT_INVALID, "partitions must be 1..%d", TT_KAFKA_MAX_PARTITIONS);
  rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(dev->mc, topic, partitions, 1);
  if (e) return tt_error_set(err, TT_KAFKA, "create topic %s: %s", topic, rd_kafka_err2str(e));
  return TT_OK;
}

tt_err tt_kafka_dev_broker_set_down(tt_kafka_dev *dev, int id, int down, tt_error *err) {
  rd_kafka_resp_err_t e =
      down ? rd_kafka_mock_broker_set_down(dev->mc, id) : rd_kafka_mock_broker_set_up(dev->mc, id);
  if (e) return tt_error_set(err, TT_KAFKA, "broker %d: %s", id, rd_kafka_err2str(e));
  return TT_OK;
}

void tt_kafka_dev_destroy(tt_kafka_dev *dev) {
  if (!dev) return;
  dev->stopping = 1;
  if (dev->acceptor_started) pthread_join(dev->acceptor, NULL);
  while (__atomic_load_n(&dev->relays, __ATOMIC_SEQ_CST) > 0)
    usleep(10000);
  if (dev->listen_fd >= 0) close(dev->listen_fd);
  if (dev->mc) rd_kafka_mock_cluster_destroy(dev->mc);
  if (dev->rk) rd_kafka_destroy(dev->rk);
  free(dev->bootstraps);
  free(dev);
}
