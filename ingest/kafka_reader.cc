#include "ingest/kafka_reader.h"

#include "absl/strings/str_cat.h"
#include "ingest/kafka_internal.h"

namespace chatkpi {

struct KafkaTopicReader::Impl {
  rd_kafka_t* rk = nullptr;
  rd_kafka_message_t* held = nullptr;  // the message Poll() last returned

  void Release() {
    if (held != nullptr) rd_kafka_message_destroy(held);
    held = nullptr;
  }
};

KafkaTopicReader::KafkaTopicReader(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

KafkaTopicReader::~KafkaTopicReader() {
  impl_->Release();
  if (impl_->rk != nullptr) {
    rd_kafka_consumer_close(impl_->rk);
    rd_kafka_destroy(impl_->rk);
  }
}

absl::StatusOr<std::unique_ptr<KafkaTopicReader>> KafkaTopicReader::Open(
    const KafkaClientConfig& config) {
  if (config.brokers.empty()) {
    return absl::InvalidArgumentError("no Kafka brokers given");
  }
  // librdkafka's consumer wants a group id even when it never joins the
  // group (assign() does not); nothing is committed under it.
  auto conf =
      kafka_internal::NewConf(config, {{"client.id", "chatkpi-reader"},
                                       {"group.id", "chatkpi-changelog-reader"},
                                       {"enable.auto.commit", "false"},
                                       {"enable.auto.offset.store", "false"},
                                       {"enable.partition.eof", "true"},
                                       {"auto.offset.reset", "earliest"},
                                       {"log.connection.close", "false"}});
  if (!conf.ok()) return conf.status();
  auto impl = std::make_unique<Impl>();
  char err[512];
  impl->rk = rd_kafka_new(RD_KAFKA_CONSUMER, *conf, err, sizeof err);
  if (impl->rk == nullptr) {
    rd_kafka_conf_destroy(*conf);
    return absl::InvalidArgumentError(absl::StrCat("Kafka reader: ", err));
  }
  rd_kafka_poll_set_consumer(impl->rk);
  return std::unique_ptr<KafkaTopicReader>(
      new KafkaTopicReader(std::move(impl)));
}

absl::StatusOr<int> KafkaTopicReader::PartitionCount(const std::string& topic,
                                                     absl::Duration timeout) {
  return kafka_internal::PartitionCount(
      impl_->rk, topic, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
}

absl::Status KafkaTopicReader::Assign(
    const std::string& topic, int partitions,
    const std::map<int32_t, int64_t>& next_offsets) {
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(partitions);
  for (int32_t p = 0; p < partitions; ++p) {
    auto it = next_offsets.find(p);
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset =
        it == next_offsets.end() ? RD_KAFKA_OFFSET_BEGINNING : it->second;
  }
  rd_kafka_resp_err_t e = rd_kafka_assign(impl_->rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  return kafka_internal::ToStatus(e, "assigning the changelog partitions");
}

absl::Status KafkaTopicReader::AssignOne(const std::string& topic,
                                         int32_t partition,
                                         int64_t next_offset) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset =
      next_offset;
  rd_kafka_resp_err_t e = rd_kafka_assign(impl_->rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  return kafka_internal::ToStatus(
      e, absl::StrCat("assigning ", topic, "/", partition));
}

absl::StatusOr<bool> KafkaTopicReader::Poll(absl::Duration timeout,
                                            KafkaMessage* out) {
  impl_->Release();
  rd_kafka_message_t* m = rd_kafka_consumer_poll(
      impl_->rk, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (m == nullptr) return false;
  impl_->held = m;
  absl::Status s = kafka_internal::ToMessage(impl_->rk, m, out,
                                             /*with_epoch_header=*/true);
  if (!s.ok()) return s;
  return true;
}

}  // namespace chatkpi
