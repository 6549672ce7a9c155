// Where a Kafka client connects and how it is tuned. Every chatkpi Kafka
// client (consumer, producer, DLQ producer) is built from one of these, so a
// deployment's settings (SASL, TLS, timeouts) are given once.
#ifndef CHATKPI_INGEST_KAFKA_CONFIG_H_
#define CHATKPI_INGEST_KAFKA_CONFIG_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace chatkpi {

using KafkaProperties = std::vector<std::pair<std::string, std::string>>;

struct KafkaClientConfig {
  std::string brokers;  // bootstrap.servers, "host:port[,host:port...]"
  // librdkafka properties applied after chatkpi's own defaults, so they win
  // (e.g. security.protocol, sasl.*, fetch tuning); group.id and
  // bootstrap.servers are refused, since flags of their own set them.
  KafkaProperties properties;
};

// Parses "name=value,name=value" (the --kafka-config flag). Values may not
// contain commas; use a config file line per property for those.
absl::StatusOr<KafkaProperties> ParseKafkaProperties(std::string_view list);

// Whether `name` is a legal Kafka topic name: 1 to 249 of a-z, A-Z, 0-9,
// '.', '_' and '-', and not "." or "..". A name outside that (a typo's
// quotes, a space) would otherwise be a topic nobody publishes to.
bool IsKafkaTopicName(std::string_view name);

}  // namespace chatkpi

#endif  // CHATKPI_INGEST_KAFKA_CONFIG_H_
