// librdkafka's built-in mock Kafka cluster, run inside this process: the
// embedded broker of `chatkpi run --brokers mock`, `chatkpi broker`, the
// demo and the tests. It listens on loopback TCP ports, so other processes
// (kcat, a second chatkpi) can use it while this object lives.
//
// Its limits (librdkafka 2.0.2): it keeps about 5 MiB per partition and
// silently drops older messages; a consumer group member that dies without
// leaving is only replaced after session.timeout.ms. It is a transport for
// demos and tests, never the durable log: chatkpi's RocksDB event log is.
#ifndef CHATKPI_INGEST_KAFKA_MOCK_CLUSTER_H_
#define CHATKPI_INGEST_KAFKA_MOCK_CLUSTER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace chatkpi {

class KafkaMockCluster {
 public:
  static absl::StatusOr<std::unique_ptr<KafkaMockCluster>> Start(
      int num_brokers = 1);
  ~KafkaMockCluster();
  KafkaMockCluster(const KafkaMockCluster&) = delete;
  KafkaMockCluster& operator=(const KafkaMockCluster&) = delete;

  // "127.0.0.1:port[,...]": the bootstrap.servers of the cluster.
  const std::string& bootstrap() const { return bootstrap_; }

  // Creates a topic; one that exists already is left as it is.
  absl::Status CreateTopic(const std::string& topic, int partitions);

 private:
  struct Impl;
  explicit KafkaMockCluster(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string bootstrap_;
};

}  // namespace chatkpi

#endif  // CHATKPI_INGEST_KAFKA_MOCK_CLUSTER_H_
