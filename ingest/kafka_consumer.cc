#include "ingest/kafka_consumer.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "ingest/kafka_internal.h"

namespace chatkpi {
namespace {

std::vector<KafkaPartition> FromList(const rd_kafka_topic_partition_list_t* l) {
  std::vector<KafkaPartition> out;
  out.reserve(l->cnt);
  for (int i = 0; i < l->cnt; ++i) {
    out.push_back(
        {l->elems[i].topic, l->elems[i].partition, l->elems[i].offset});
  }
  return out;
}

// Everything the rebalance callback needs: kept outside the class so that
// the C callback can reach it.
struct ConsumerState {
  rd_kafka_t* rk = nullptr;
  KafkaRebalanceListener* listener = nullptr;
  rd_kafka_message_t* held = nullptr;  // the message Poll() last returned
  // A listener failure inside a callback, returned by the next Poll().
  absl::Status deferred;
  bool closed = false;

  void Release() {
    if (held != nullptr) rd_kafka_message_destroy(held);
    held = nullptr;
  }

  void Rebalance(rd_kafka_resp_err_t err,
                 rd_kafka_topic_partition_list_t* parts) {
    const bool cooperative =
        std::string_view(rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE";
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      std::vector<KafkaPartition> ps = FromList(parts);
      absl::Status s = deferred.ok() ? listener->OnAssign(&ps) : deferred;
      if (!s.ok()) {
        // Assign nothing: Poll() reports the failure and the caller leaves
        // the group, so the partitions go to a healthy member.
        deferred.Update(s);
        if (!cooperative) rd_kafka_assign(rk, nullptr);
        return;
      }
      for (int i = 0; i < parts->cnt; ++i)
        parts->elems[i].offset = ps[i].offset;
      if (cooperative) {
        rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, parts);
        if (e != nullptr) rd_kafka_error_destroy(e);
      } else {
        rd_kafka_assign(rk, parts);
      }
      return;
    }
    // Revocation (or a rebalance error): commit in-flight work first.
    if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
      absl::Status s = listener->OnRevoke(FromList(parts),
                                          rd_kafka_assignment_lost(rk) != 0);
      deferred.Update(s);
    } else {
      deferred.Update(absl::UnavailableError(
          absl::StrCat("rebalance failed: ", rd_kafka_err2str(err))));
    }
    if (cooperative) {
      rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, parts);
      if (e != nullptr) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk, nullptr);
    }
  }
};

void OnRebalance(rd_kafka_t*, rd_kafka_resp_err_t err,
                 rd_kafka_topic_partition_list_t* parts, void* opaque) {
  static_cast<ConsumerState*>(opaque)->Rebalance(err, parts);
}

}  // namespace

struct KafkaConsumer::Impl : ConsumerState {};

KafkaConsumer::KafkaConsumer(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

KafkaConsumer::~KafkaConsumer() {
  Close().IgnoreError();
  if (impl_->rk != nullptr) rd_kafka_destroy(impl_->rk);
}

absl::StatusOr<std::unique_ptr<KafkaConsumer>> KafkaConsumer::Open(
    const KafkaConsumerOptions& options, KafkaRebalanceListener* listener) {
  if (options.client.brokers.empty()) {
    return absl::InvalidArgumentError("no Kafka brokers given");
  }
  if (options.group.empty()) {
    return absl::InvalidArgumentError("no consumer group given");
  }
  for (const auto& [name, value] : options.client.properties) {
    if (name == "partition.assignment.strategy" && value != "range") {
      return absl::InvalidArgumentError(
          "partition.assignment.strategy must stay 'range': it is what keeps "
          "partition p of the chat and the order topic on one member");
    }
  }
  const int session = std::max(options.session_timeout_ms, 1000);
  auto conf = kafka_internal::NewConf(
      options.client,
      {{"client.id", "chatkpi"},
       {"group.id", options.group},
       {"session.timeout.ms", absl::StrCat(session)},
       {"heartbeat.interval.ms", absl::StrCat(std::max(100, session / 6))},
       {"partition.assignment.strategy", "range"},
       {"enable.auto.commit", "false"},
       {"enable.auto.offset.store", "false"},
       {"enable.partition.eof", "true"},
       {"auto.offset.reset", "earliest"},
       {"log.connection.close", "false"},
       // librdkafka 2.0 stops fetching a partition whose local queue holds
       // queued.min.messages (100k by default, counted over the consumer
       // queue all partitions share) and only resumes after a backoff: a
       // consumer that does real work per message drains the queue, then
       // starves for ~0.6 s every ~110k messages (measured: 19 empty polls
       // in 400k messages, 110k events/s; without: 0, 260-290k). Memory
       // stays bounded by queued.max.messages.kbytes (64 MiB).
       {"queued.min.messages", "10000000"}});
  if (!conf.ok()) return conf.status();
  auto impl = std::make_unique<Impl>();
  impl->listener = listener;
  rd_kafka_conf_set_opaque(*conf, static_cast<ConsumerState*>(impl.get()));
  rd_kafka_conf_set_rebalance_cb(*conf, OnRebalance);
  char err[512];
  impl->rk = rd_kafka_new(RD_KAFKA_CONSUMER, *conf, err, sizeof err);
  if (impl->rk == nullptr) {
    rd_kafka_conf_destroy(*conf);
    return absl::InvalidArgumentError(absl::StrCat("Kafka consumer: ", err));
  }
  rd_kafka_poll_set_consumer(impl->rk);
  return std::unique_ptr<KafkaConsumer>(new KafkaConsumer(std::move(impl)));
}

absl::Status KafkaConsumer::Subscribe(const std::vector<std::string>& topics) {
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(topics.size()));
  for (const std::string& t : topics) {
    rd_kafka_topic_partition_list_add(list, t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  rd_kafka_resp_err_t e = rd_kafka_subscribe(impl_->rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  return kafka_internal::ToStatus(e, "subscribe");
}

absl::StatusOr<bool> KafkaConsumer::Poll(absl::Duration timeout,
                                         KafkaMessage* out) {
  impl_->Release();
  if (impl_->closed) return absl::FailedPreconditionError("consumer closed");
  if (!impl_->deferred.ok()) return impl_->deferred;
  rd_kafka_message_t* m = rd_kafka_consumer_poll(
      impl_->rk, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (!impl_->deferred.ok()) {
    if (m != nullptr) rd_kafka_message_destroy(m);
    return impl_->deferred;
  }
  if (m == nullptr) return false;
  impl_->held = m;
  absl::Status s = kafka_internal::ToMessage(impl_->rk, m, out);
  if (!s.ok()) return s;
  return true;
}

absl::StatusOr<int> KafkaConsumer::PartitionCount(const std::string& topic,
                                                  absl::Duration timeout) {
  return kafka_internal::PartitionCount(
      impl_->rk, topic, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
}

std::optional<std::pair<int64_t, int64_t>> KafkaConsumer::CachedWatermarks(
    const std::string& topic, int32_t partition) const {
  int64_t low = RD_KAFKA_OFFSET_INVALID, high = RD_KAFKA_OFFSET_INVALID;
  if (rd_kafka_get_watermark_offsets(impl_->rk, topic.c_str(), partition, &low,
                                     &high) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      high < 0) {
    return std::nullopt;
  }
  return std::make_pair(low, high);
}

absl::StatusOr<int32_t> KafkaConsumer::GenerationId() const {
  // librdkafka 2.0 has no getter for the generation; its serialized group
  // metadata ("CGMDv2:", the generation as a native int32, then the ids)
  // holds it. The value read is checked by serializing it back.
  rd_kafka_consumer_group_metadata_t* md =
      rd_kafka_consumer_group_metadata(impl_->rk);
  if (md == nullptr) {
    return absl::FailedPreconditionError("not a group member");
  }
  auto serialize = [](rd_kafka_consumer_group_metadata_t* m) {
    void* buf = nullptr;
    size_t size = 0;
    std::string out;
    rd_kafka_error_t* e =
        rd_kafka_consumer_group_metadata_write(m, &buf, &size);
    if (e != nullptr) {
      rd_kafka_error_destroy(e);
      return out;
    }
    out.assign(static_cast<const char*>(buf), size);
    rd_kafka_mem_free(nullptr, buf);
    return out;
  };
  const std::string bytes = serialize(md);
  rd_kafka_consumer_group_metadata_destroy(md);
  constexpr std::string_view kMagic = "CGMDv2:";
  int32_t generation = -1;
  if (bytes.size() >= kMagic.size() + sizeof generation &&
      std::string_view(bytes).substr(0, kMagic.size()) == kMagic) {
    std::memcpy(&generation, bytes.data() + kMagic.size(), sizeof generation);
    char* member = rd_kafka_memberid(impl_->rk);
    char group[256] = "";
    size_t group_size = sizeof group;
    rd_kafka_conf_res_t got = rd_kafka_conf_get(rd_kafka_conf(impl_->rk),
                                                "group.id", group, &group_size);
    rd_kafka_consumer_group_metadata_t* check =
        rd_kafka_consumer_group_metadata_new_with_genid(
            got == RD_KAFKA_CONF_OK ? group : "", generation,
            member != nullptr ? member : "", nullptr);
    if (member != nullptr) rd_kafka_mem_free(impl_->rk, member);
    const bool same = check != nullptr && serialize(check) == bytes;
    if (check != nullptr) rd_kafka_consumer_group_metadata_destroy(check);
    if (same) return generation;
  }
  return absl::InternalError(
      "cannot read the consumer group generation from librdkafka's group "
      "metadata (a librdkafka version with another format?)");
}

void KafkaConsumer::CommitInformational(
    const std::vector<KafkaPartition>& offsets) {
  if (offsets.empty() || impl_->closed) return;
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size()));
  for (const KafkaPartition& p : offsets) {
    rd_kafka_topic_partition_list_add(list, p.topic.c_str(), p.partition)
        ->offset = p.offset;
  }
  rd_kafka_commit(impl_->rk, list, /*async=*/1);
  rd_kafka_topic_partition_list_destroy(list);
}

absl::Status KafkaConsumer::Close() {
  impl_->Release();
  if (impl_->closed) return absl::OkStatus();
  impl_->closed = true;
  rd_kafka_resp_err_t e = rd_kafka_consumer_close(impl_->rk);
  if (!impl_->deferred.ok()) return impl_->deferred;
  return kafka_internal::ToStatus(e, "leaving the consumer group");
}

}  // namespace chatkpi
