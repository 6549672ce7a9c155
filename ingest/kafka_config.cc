#include "ingest/kafka_config.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ingest/kafka_internal.h"

namespace chatkpi {

absl::StatusOr<KafkaProperties> ParseKafkaProperties(std::string_view list) {
  KafkaProperties out;
  for (absl::string_view item :
       absl::StrSplit(absl::string_view(list.data(), list.size()), ',',
                      absl::SkipWhitespace())) {
    size_t eq = item.find('=');
    absl::string_view name = absl::StripAsciiWhitespace(item.substr(0, eq));
    if (eq == absl::string_view::npos || name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Kafka property '", item, "' is not of the form name=value"));
    }
    out.emplace_back(
        std::string(name),
        std::string(absl::StripAsciiWhitespace(item.substr(eq + 1))));
  }
  return out;
}

bool IsKafkaTopicName(std::string_view name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") {
    return false;
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

namespace kafka_internal {

absl::StatusOr<rd_kafka_conf_t*> NewConf(const KafkaClientConfig& config,
                                         const KafkaProperties& defaults) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  auto set = [&](const std::string& name,
                 const std::string& value) -> absl::Status {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) !=
        RD_KAFKA_CONF_OK) {
      return absl::InvalidArgumentError(
          absl::StrCat("Kafka property ", name, "=", value, ": ", err));
    }
    return absl::OkStatus();
  };
  absl::Status s;
  for (const auto& [name, value] : defaults) {
    if (s.ok()) s = set(name, value);
  }
  if (s.ok() && !config.brokers.empty()) {
    s = set("bootstrap.servers", config.brokers);
  }
  for (const auto& [name, value] : config.properties) {
    // Set from their own flags: as properties they overrode the flags
    // while the log and `stats` still named the flags' values.
    if (s.ok() && (name == "group.id" || name == "bootstrap.servers" ||
                   name == "metadata.broker.list")) {
      s = absl::InvalidArgumentError(absl::StrCat(
          "Kafka property ", name, " is given with ",
          name == "group.id" ? "--group" : "--brokers",
          " (or in the config file's top level), not as a property"));
    }
    if (s.ok()) s = set(name, value);
  }
  if (!s.ok()) {
    rd_kafka_conf_destroy(conf);
    return s;
  }
  return conf;
}

absl::Status ToStatus(rd_kafka_resp_err_t err, std::string_view what) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat(std::string(what), ": ", rd_kafka_err2str(err)));
}

absl::StatusOr<int> PartitionCount(rd_kafka_t* rk, const std::string& topic,
                                   int timeout_ms) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  if (rkt == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("bad topic name ", topic));
  }
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
  rd_kafka_topic_destroy(rkt);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return ToStatus(e, absl::StrCat("metadata of topic ", topic));
  }
  absl::StatusOr<int> count = absl::NotFoundError(
      absl::StrCat("topic ", topic, " is not in the cluster's metadata"));
  if (md->topic_cnt == 1) {
    if (md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      count = ToStatus(md->topics[0].err, absl::StrCat("topic ", topic));
    } else {
      count = md->topics[0].partition_cnt;
    }
  }
  rd_kafka_metadata_destroy(md);
  return count;
}

absl::Status ToMessage(rd_kafka_t* rk, const rd_kafka_message_t* m,
                       KafkaMessage* out, bool with_epoch_header) {
  out->topic = m->rkt != nullptr ? rd_kafka_topic_name(m->rkt) : "";
  out->partition = m->partition;
  out->offset = m->offset;
  out->key = std::string_view(static_cast<const char*>(m->key), m->key_len);
  out->value =
      m->payload != nullptr
          ? std::string_view(static_cast<const char*>(m->payload), m->len)
          : std::string_view();
  out->error.clear();
  out->epoch_header = std::string_view();
  out->rules_header = std::string_view();
  out->group_header = std::string_view();
  rd_kafka_headers_t* headers = nullptr;
  if (with_epoch_header && m->err == RD_KAFKA_RESP_ERR_NO_ERROR &&
      rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (auto [name, field] : {std::pair{"epoch", &out->epoch_header},
                               std::pair{"rules", &out->rules_header},
                               std::pair{"group", &out->group_header}}) {
      const void* value = nullptr;
      size_t size = 0;
      if (rd_kafka_header_get_last(headers, name, &value, &size) ==
              RD_KAFKA_RESP_ERR_NO_ERROR &&
          value != nullptr) {
        *field = std::string_view(static_cast<const char*>(value), size);
      }
    }
  }
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    out->kind = KafkaMessage::Kind::kData;
  } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    out->kind = KafkaMessage::Kind::kPartitionEnd;
  } else if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
    char reason[512];
    rd_kafka_fatal_error(rk, reason, sizeof reason);
    return absl::InternalError(absl::StrCat("Kafka fatal error: ", reason));
  } else {
    out->kind = KafkaMessage::Kind::kError;
    out->error = rd_kafka_message_errstr(m);
  }
  return absl::OkStatus();
}

}  // namespace kafka_internal
}  // namespace chatkpi
