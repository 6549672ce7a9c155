// librdkafka glue shared by the ingest/kafka_*.cc files and nothing else:
// librdkafka's headers stay out of every public chatkpi header.
#ifndef CHATKPI_INGEST_KAFKA_INTERNAL_H_
#define CHATKPI_INGEST_KAFKA_INTERNAL_H_

#include <librdkafka/rdkafka.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ingest/kafka_config.h"
#include "ingest/kafka_consumer.h"

namespace chatkpi::kafka_internal {

// A new configuration holding `defaults`, then `config.brokers`, then
// `config.properties`. The caller owns the result (rd_kafka_new takes it).
absl::StatusOr<rd_kafka_conf_t*> NewConf(const KafkaClientConfig& config,
                                         const KafkaProperties& defaults);

absl::Status ToStatus(rd_kafka_resp_err_t err, std::string_view what);

// The topic's partition count from the cluster's metadata.
absl::StatusOr<int> PartitionCount(rd_kafka_t* rk, const std::string& topic,
                                   int timeout_ms);

// Describes `m` (which the caller keeps alive while `out` is used) in `out`,
// with its "epoch" header when `with_epoch_header`. A fatal client error is
// returned as an error instead.
absl::Status ToMessage(rd_kafka_t* rk, const rd_kafka_message_t* m,
                       KafkaMessage* out, bool with_epoch_header = false);

}  // namespace chatkpi::kafka_internal

#endif  // CHATKPI_INGEST_KAFKA_INTERNAL_H_
