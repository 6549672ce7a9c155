#include "query/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "base/number_text.h"

namespace chatkpi {
namespace {

bool ValidName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

std::string FormatSampleValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return FormatDouble(v);
}

void AppendEscaped(std::string* out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (quote && c == '"') {
      out->append("\\\"");
    } else {
      out->push_back(c);
    }
  }
}

// `{a="x",le="0.5"}` from a rendered label set plus one more pair.
std::string WithLabel(std::string_view rendered, std::string_view name,
                      std::string_view value) {
  std::string out;
  if (rendered.empty()) {
    out = "{";
  } else {
    out.assign(rendered.substr(0, rendered.size() - 1));
    out.push_back(',');
  }
  absl::StrAppend(&out, std::string(name), "=\"", std::string(value), "\"}");
  return out;
}

[[noreturn]] void Die(std::string_view what, std::string_view name) {
  std::fprintf(stderr, "chatkpi metrics: %.*s: %.*s\n",
               static_cast<int>(what.size()), what.data(),
               static_cast<int>(name.size()), name.data());
  std::abort();
}

}  // namespace

MetricHistogram::MetricHistogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  std::sort(bounds_.begin(), bounds_.end());
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void MetricHistogram::Observe(double v) {
  const size_t i =
      std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<uint64_t> MetricHistogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    out[i] = total;
  }
  return out;
}

std::string RenderMetricLabels(const MetricLabels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (!ValidName(labels[i].first)) Die("bad label name", labels[i].first);
    if (i > 0) out.push_back(',');
    out.append(labels[i].first);
    out.append("=\"");
    AppendEscaped(&out, labels[i].second, true);
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

void AppendPrometheusSample(std::string* out, std::string_view name,
                            std::string_view rendered_labels, double value) {
  absl::StrAppend(out, std::string(name), std::string(rendered_labels), " ",
                  FormatSampleValue(value), "\n");
}

MetricsRegistry::MetricFamily* MetricsRegistry::GetFamily(std::string_view name,
                                                          std::string_view help,
                                                          Type type) {
  if (!ValidName(name)) Die("bad metric name", name);
  auto [it, inserted] = families_.try_emplace(std::string(name));
  if (inserted) {
    it->second.type = type;
    it->second.help = std::string(help);
  } else if (it->second.type != type) {
    Die("metric registered twice with different types", name);
  }
  return &it->second;
}

MetricCounter* MetricsRegistry::GetCounter(std::string_view name,
                                           std::string_view help,
                                           const MetricLabels& labels) {
  std::string key = RenderMetricLabels(labels);
  absl::MutexLock l(&mu_);
  auto& slot = GetFamily(name, help, Type::kCounter)->counters[key];
  if (!slot) slot = std::make_unique<MetricCounter>();
  return slot.get();
}

MetricGauge* MetricsRegistry::GetGauge(std::string_view name,
                                       std::string_view help,
                                       const MetricLabels& labels) {
  std::string key = RenderMetricLabels(labels);
  absl::MutexLock l(&mu_);
  auto& slot = GetFamily(name, help, Type::kGauge)->gauges[key];
  if (!slot) slot = std::make_unique<MetricGauge>();
  return slot.get();
}

MetricHistogram* MetricsRegistry::GetHistogram(std::string_view name,
                                               std::string_view help,
                                               std::vector<double> bounds,
                                               const MetricLabels& labels) {
  std::string key = RenderMetricLabels(labels);
  absl::MutexLock l(&mu_);
  MetricFamily* f = GetFamily(name, help, Type::kHistogram);
  if (f->histograms.empty() && f->bounds.empty()) {
    std::sort(bounds.begin(), bounds.end());
    f->bounds = std::move(bounds);
  }
  auto& slot = f->histograms[key];
  if (!slot) slot = std::make_unique<MetricHistogram>(f->bounds);
  return slot.get();
}

void MetricsRegistry::AppendPrometheusText(std::string* out) const {
  absl::MutexLock l(&mu_);
  for (const auto& [name, f] : families_) {
    out->append("# HELP ");
    out->append(name);
    out->push_back(' ');
    AppendEscaped(out, f.help, false);
    out->append("\n# TYPE ");
    out->append(name);
    switch (f.type) {
      case Type::kCounter:
        out->append(" counter\n");
        for (const auto& [labels, c] : f.counters) {
          absl::StrAppend(out, name, labels, " ", c->value(), "\n");
        }
        break;
      case Type::kGauge:
        out->append(" gauge\n");
        for (const auto& [labels, g] : f.gauges) {
          AppendPrometheusSample(out, name, labels, g->value());
        }
        break;
      case Type::kHistogram: {
        out->append(" histogram\n");
        const std::string bucket = name + "_bucket";
        for (const auto& [labels, h] : f.histograms) {
          // _count is the +Inf bucket read with the others, so the buckets
          // agree with it; a concurrent Observe may skew _sum slightly,
          // which Prometheus tolerates.
          std::vector<uint64_t> counts = h->CumulativeCounts();
          for (size_t i = 0; i < h->bounds().size(); ++i) {
            absl::StrAppend(
                out, bucket,
                WithLabel(labels, "le", FormatSampleValue(h->bounds()[i])), " ",
                counts[i], "\n");
          }
          absl::StrAppend(out, bucket, WithLabel(labels, "le", "+Inf"), " ",
                          counts.back(), "\n");
          AppendPrometheusSample(out, name + "_sum", labels, h->sum());
          absl::StrAppend(out, name, "_count", labels, " ", counts.back(),
                          "\n");
        }
        break;
      }
    }
  }
}

MetricHistogram* CommitLatencyMetric(MetricsRegistry& r) {
  return r.GetHistogram("chatkpi_commit_latency_seconds",
                        "Wall time of one atomic store commit of the engine.",
                        {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                         0.25, 0.5, 1, 2.5});
}

MetricGauge* IngestLagMetric(MetricsRegistry& r, std::string_view source) {
  return r.GetGauge("chatkpi_ingest_lag_messages",
                    "Messages a source has that the engine has not taken in.",
                    {{"source", std::string(source)}});
}

MetricCounter* IngestedEventsMetric(MetricsRegistry& r,
                                    std::string_view source) {
  return r.GetCounter("chatkpi_ingested_events_total",
                      "Events taken in by this process, by source.",
                      {{"source", std::string(source)}});
}

}  // namespace chatkpi
