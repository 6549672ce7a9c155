#include "ingest/kafka_producer.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "ingest/kafka_internal.h"

namespace chatkpi {
namespace {

// Delivery reports arrive in rd_kafka_poll/flush on the producing thread.
struct Deliveries {
  int64_t delivered = 0;
  int64_t failed = 0;
  std::string first_error;
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* d = static_cast<Deliveries*>(opaque);
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++d->delivered;
    return;
  }
  if (d->failed++ == 0 || d->first_error.empty()) {
    d->first_error = absl::StrCat(
        "delivery to ", m->rkt != nullptr ? rd_kafka_topic_name(m->rkt) : "?",
        " failed: ", rd_kafka_err2str(m->err));
  }
}

}  // namespace

struct KafkaProducer::Impl {
  rd_kafka_t* rk = nullptr;
  absl::flat_hash_map<std::string, rd_kafka_topic_t*> topics;
  Deliveries deliveries;

  ~Impl() {
    if (rk != nullptr) rd_kafka_flush(rk, 2000);
    for (auto& [name, rkt] : topics) rd_kafka_topic_destroy(rkt);
    if (rk != nullptr) rd_kafka_destroy(rk);
  }

  rd_kafka_topic_t* Topic(std::string_view name) {
    absl::string_view key(name.data(), name.size());
    auto it = topics.find(key);
    if (it != topics.end()) return it->second;
    std::string n(name);
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, n.c_str(), nullptr);
    if (rkt != nullptr) topics.emplace(std::move(n), rkt);
    return rkt;
  }
};

KafkaProducer::KafkaProducer(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
KafkaProducer::~KafkaProducer() = default;

absl::StatusOr<std::unique_ptr<KafkaProducer>> KafkaProducer::Open(
    const KafkaClientConfig& config) {
  if (config.brokers.empty()) {
    return absl::InvalidArgumentError("no Kafka brokers given");
  }
  auto conf =
      kafka_internal::NewConf(config, {{"client.id", "chatkpi"},
                                       {"linger.ms", "5"},
                                       {"log.connection.close", "false"}});
  if (!conf.ok()) return conf.status();
  auto impl = std::make_unique<Impl>();
  rd_kafka_conf_set_dr_msg_cb(*conf, OnDelivery);
  rd_kafka_conf_set_opaque(*conf, &impl->deliveries);
  char err[512];
  impl->rk = rd_kafka_new(RD_KAFKA_PRODUCER, *conf, err, sizeof err);
  if (impl->rk == nullptr) {
    rd_kafka_conf_destroy(*conf);
    return absl::InvalidArgumentError(absl::StrCat("Kafka producer: ", err));
  }
  return std::unique_ptr<KafkaProducer>(new KafkaProducer(std::move(impl)));
}

absl::Status KafkaProducer::Produce(std::string_view topic,
                                    std::string_view key,
                                    std::string_view value,
                                    const std::vector<KafkaHeader>& headers) {
  return ProduceTo(topic, RD_KAFKA_PARTITION_UA, key, value, headers);
}

absl::Status KafkaProducer::ProduceTo(std::string_view topic, int32_t partition,
                                      std::string_view key,
                                      std::string_view value,
                                      const std::vector<KafkaHeader>& headers) {
  rd_kafka_topic_t* rkt = impl_->Topic(topic);
  if (rkt == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad topic name '", std::string(topic), "'"));
  }
  std::vector<rd_kafka_vu_t> vus(5 + headers.size());
  size_t n = 0;
  vus[n].vtype = RD_KAFKA_VTYPE_RKT;
  vus[n++].u.rkt = rkt;
  vus[n].vtype = RD_KAFKA_VTYPE_PARTITION;
  vus[n++].u.i32 = partition;
  vus[n].vtype = RD_KAFKA_VTYPE_KEY;
  vus[n].u.mem.ptr = const_cast<char*>(key.data());
  vus[n++].u.mem.size = key.size();
  vus[n].vtype = RD_KAFKA_VTYPE_VALUE;
  vus[n].u.mem.ptr = const_cast<char*>(value.data());
  vus[n++].u.mem.size = value.size();
  vus[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  vus[n++].u.i = RD_KAFKA_MSG_F_COPY;
  for (const KafkaHeader& h : headers) {
    vus[n].vtype = RD_KAFKA_VTYPE_HEADER;
    vus[n].u.header.name = h.name.c_str();
    vus[n].u.header.val = h.value.data();
    vus[n++].u.header.size = static_cast<ssize_t>(h.value.size());
  }
  while (true) {
    rd_kafka_error_t* error = rd_kafka_produceva(impl_->rk, vus.data(), n);
    if (error == nullptr) break;
    const rd_kafka_resp_err_t code = rd_kafka_error_code(error);
    std::string message = rd_kafka_error_string(error);
    rd_kafka_error_destroy(error);
    if (code != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      return absl::UnavailableError(
          absl::StrCat("producing to ", std::string(topic), ": ", message));
    }
    rd_kafka_poll(impl_->rk, 50);  // deliveries make room
  }
  rd_kafka_poll(impl_->rk, 0);
  return absl::OkStatus();
}

absl::Status KafkaProducer::Flush(absl::Duration timeout) {
  rd_kafka_resp_err_t e = rd_kafka_flush(
      impl_->rk, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::DeadlineExceededError(absl::StrCat(
        rd_kafka_outq_len(impl_->rk), " messages still undelivered after ",
        absl::FormatDuration(timeout)));
  }
  Deliveries& d = impl_->deliveries;
  if (!d.first_error.empty()) {
    std::string error =
        absl::StrCat(d.first_error, " (", d.failed, " failed messages in all)");
    d.first_error.clear();
    return absl::UnavailableError(error);
  }
  return absl::OkStatus();
}

absl::StatusOr<int> KafkaProducer::PartitionCount(const std::string& topic,
                                                  absl::Duration timeout) {
  return kafka_internal::PartitionCount(
      impl_->rk, topic, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
}

absl::StatusOr<std::pair<int64_t, int64_t>> KafkaProducer::Watermarks(
    const std::string& topic, int32_t partition, absl::Duration timeout) {
  int64_t low = 0, high = 0;
  rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
      impl_->rk, topic.c_str(), partition, &low, &high,
      static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka_internal::ToStatus(
        e, absl::StrCat("watermarks of ", topic, "/", partition));
  }
  return std::make_pair(low, high);
}

int64_t KafkaProducer::delivered() const { return impl_->deliveries.delivered; }
int64_t KafkaProducer::failed() const { return impl_->deliveries.failed; }

}  // namespace chatkpi
