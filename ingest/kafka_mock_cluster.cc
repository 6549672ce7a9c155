#include "ingest/kafka_mock_cluster.h"

#include <librdkafka/rdkafka.h>
// rdkafka_mock.h needs rdkafka.h first; keep the two together.
#include <librdkafka/rdkafka_mock.h>

#include "absl/strings/str_cat.h"
#include "ingest/kafka_internal.h"

namespace chatkpi {

struct KafkaMockCluster::Impl {
  rd_kafka_t* rk = nullptr;  // the handle the cluster keeps its books with
  rd_kafka_mock_cluster_t* cluster = nullptr;
  ~Impl() {
    if (cluster != nullptr) rd_kafka_mock_cluster_destroy(cluster);
    if (rk != nullptr) rd_kafka_destroy(rk);
  }
};

KafkaMockCluster::KafkaMockCluster(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)),
      bootstrap_(rd_kafka_mock_cluster_bootstraps(impl_->cluster)) {}

KafkaMockCluster::~KafkaMockCluster() = default;

absl::StatusOr<std::unique_ptr<KafkaMockCluster>> KafkaMockCluster::Start(
    int num_brokers) {
  if (num_brokers < 1) {
    return absl::InvalidArgumentError("a mock cluster needs at least 1 broker");
  }
  // The bookkeeping handle connects nowhere; errors only, or it warns about
  // its missing bootstrap.servers.
  auto conf = kafka_internal::NewConf({}, {{"log_level", "3"}});
  if (!conf.ok()) return conf.status();
  char err[512];
  auto impl = std::make_unique<Impl>();
  impl->rk = rd_kafka_new(RD_KAFKA_PRODUCER, *conf, err, sizeof err);
  if (impl->rk == nullptr) {
    rd_kafka_conf_destroy(*conf);
    return absl::InternalError(absl::StrCat("mock cluster handle: ", err));
  }
  impl->cluster = rd_kafka_mock_cluster_new(impl->rk, num_brokers);
  if (impl->cluster == nullptr) {
    return absl::InternalError("librdkafka could not start a mock cluster");
  }
  return std::unique_ptr<KafkaMockCluster>(
      new KafkaMockCluster(std::move(impl)));
}

absl::Status KafkaMockCluster::CreateTopic(const std::string& topic,
                                           int partitions) {
  if (partitions < 1) {
    return absl::InvalidArgumentError("a topic needs at least 1 partition");
  }
  rd_kafka_resp_err_t e =
      rd_kafka_mock_topic_create(impl_->cluster, topic.c_str(), partitions, 1);
  if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) return absl::OkStatus();
  return kafka_internal::ToStatus(e, absl::StrCat("creating topic ", topic));
}

}  // namespace chatkpi
