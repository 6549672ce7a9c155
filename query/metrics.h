// A small process-wide metrics registry, rendered in the Prometheus text
// exposition format by the HTTP server's /metrics. The ingest loops update
// counters, gauges and histograms from their own threads while the server
// renders them: series updates are lock-free atomics, and only creating a
// series or rendering takes the registry's mutex.
//
// Series are created on first use and live as long as the registry, so a
// hot loop looks its series up once and keeps the pointer.
#ifndef CHATKPI_QUERY_METRICS_H_
#define CHATKPI_QUERY_METRICS_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace chatkpi {

// Label pairs of one series, e.g. {{"source", "orders/0"}}.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// Only ever goes up (Prometheus resets are process restarts).
class MetricCounter {
 public:
  void Increment(int64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  int64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

class MetricGauge {
 public:
  void Set(double v) { v_.store(v, std::memory_order_relaxed); }
  void Add(double d) { v_.fetch_add(d, std::memory_order_relaxed); }
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// Cumulative buckets with fixed upper bounds, as Prometheus expects them.
class MetricHistogram {
 public:
  explicit MetricHistogram(std::vector<double> bounds);
  void Observe(double v);

  const std::vector<double>& bounds() const { return bounds_; }
  // Observations <= bounds()[i]; index bounds().size() is +Inf (= count).
  std::vector<uint64_t> CumulativeCounts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;                       // ascending
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket, + overflow
  std::atomic<double> sum_{0};
};

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Returns the series of `name` with `labels`, creating it (and the family,
  // with `help`) on first use. `name` must match [a-zA-Z_:][a-zA-Z0-9_:]*;
  // asking for an existing name as another type is a programming error and
  // aborts, as a clash would make the exposition unreadable.
  MetricCounter* GetCounter(std::string_view name, std::string_view help,
                            const MetricLabels& labels = {});
  MetricGauge* GetGauge(std::string_view name, std::string_view help,
                        const MetricLabels& labels = {});
  // `bounds` apply when the family is created; later calls reuse them.
  MetricHistogram* GetHistogram(std::string_view name, std::string_view help,
                                std::vector<double> bounds,
                                const MetricLabels& labels = {});

  // Appends every family, sorted by name, in text exposition format 0.0.4.
  void AppendPrometheusText(std::string* out) const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct MetricFamily {
    Type type;
    std::string help;
    std::vector<double> bounds;
    // Keyed by the rendered label set `{a="x",b="y"}` ("" for none).
    std::map<std::string, std::unique_ptr<MetricCounter>> counters;
    std::map<std::string, std::unique_ptr<MetricGauge>> gauges;
    std::map<std::string, std::unique_ptr<MetricHistogram>> histograms;
  };
  MetricFamily* GetFamily(std::string_view name, std::string_view help,
                          Type type) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, MetricFamily> families_ ABSL_GUARDED_BY(mu_);
};

// Appends one sample line `name{labels} value\n`; for metrics computed at
// scrape time (e.g. from the store) rather than held in a registry.
void AppendPrometheusSample(std::string* out, std::string_view name,
                            std::string_view rendered_labels, double value);
// `{a="x",b="y"}` with the values escaped; "" for no labels.
std::string RenderMetricLabels(const MetricLabels& labels);

// The series the engine's loops report, named here so that producers and
// docs/http_api.md agree on one spelling.

// Wall time of one Store::Write of an engine commit.
MetricHistogram* CommitLatencyMetric(MetricsRegistry& r);
// How far a source is behind: for Kafka, the partition's high watermark
// minus the next offset to read; for a file, 0 once it is read to the end.
MetricGauge* IngestLagMetric(MetricsRegistry& r, std::string_view source);
// Events taken in by this process since it started, by source.
MetricCounter* IngestedEventsMetric(MetricsRegistry& r,
                                    std::string_view source);

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_METRICS_H_
