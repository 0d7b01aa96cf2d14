/*
 * mockcluster.c - librdkafka's mock cluster as a remote cluster for the mount
 * tests (remote_mock.sh): a Kafka implementation that is not brook, with
 * several brokers, leaders that move and brokers that go down.
 *
 *   mockcluster BROKERS   prints "bootstrap HOST:PORT,..." and then obeys one
 *                         command per line of stdin, answering "ok" or "error":
 *     topic NAME PARTITIONS         create a topic (replication 1)
 *     leader TOPIC PARTITION ID     move a partition's leadership to broker ID
 *     down ID / up ID               take a broker down / bring it back
 *   End of input ends the cluster. Everything is on loopback, ports chosen by
 *   the system.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One command line: 0 when done, -1 when it failed. */
static int mock_command(rd_kafka_mock_cluster_t *mc, const char *line)
{
    char what[16], name[256];
    int a, b;
    if (sscanf(line, "topic %255s %d", name, &a) == 2)
        return rd_kafka_mock_topic_create(mc, name, a, 1) ? -1 : 0;
    if (sscanf(line, "leader %255s %d %d", name, &a, &b) == 3)
        return rd_kafka_mock_partition_set_leader(mc, name, a, b) ? -1 : 0;
    if (sscanf(line, "%15s %d", what, &a) == 2 && !strcmp(what, "down"))
        return rd_kafka_mock_broker_set_down(mc, a) ? -1 : 0;
    if (sscanf(line, "%15s %d", what, &a) == 2 && !strcmp(what, "up"))
        return rd_kafka_mock_broker_set_up(mc, a) ? -1 : 0;
    return -1;
}

int main(int argc, char **argv)
{
    char err[256], line[512];
    int brokers = argc > 1 ? atoi(argv[1]) : 3;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "mockcluster: %s\n", err);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        fprintf(stderr, "mockcluster: cannot start the mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    printf("bootstrap %s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    while (fgets(line, sizeof line, stdin)) {
        puts(mock_command(mc, line) ? "error" : "ok");
        fflush(stdout);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
