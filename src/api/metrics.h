// Private to the API: a small thread-safe metrics registry rendered in the
// Prometheus text exposition format (version 0.0.4). One registry lives in
// the ApiContext (no global state); GET /metrics renders it together with a
// per-scrape registry of gauges read from the store and queue.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace refinery::api {

// Label name/value pairs, in the order they should be printed.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { kCounter, kGauge, kHistogram };

// Upper bounds (seconds) for request latencies: 0.5 ms .. 10 s covers a
// cached /health answer as well as a search over a cold vector cache.
std::vector<double> DefaultLatencyBuckets();

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Declares a family; must precede any update of `name`. Declaring twice is
  // harmless. `buckets` (sorted upper bounds, +Inf implied) only for histograms.
  void Declare(const std::string& name, MetricType type, const std::string& help, std::vector<double> buckets = {});

  // Counter: adds `delta` (>= 0). Gauge: Set replaces the value.
  // Updates of an undeclared family are ignored (a bug, never a crash).
  void Add(const std::string& name, const MetricLabels& labels, double delta = 1);
  void Set(const std::string& name, const MetricLabels& labels, double value);
  // Histogram: records one observation.
  void Observe(const std::string& name, const MetricLabels& labels, double value);
  // Histogram: replaces the series with counts kept elsewhere (e.g. in the
  // store). `bucket_hits` per declared bucket, not cumulative, plus one for
  // +Inf; a size mismatch is ignored like an undeclared family.
  void SetHistogram(const std::string& name, const MetricLabels& labels, const std::vector<uint64_t>& bucket_hits,
                    double sum);

  // Every family with # HELP and # TYPE, in declaration order; series in
  // label order. Histograms as cumulative _bucket{le=...}, _sum and _count.
  std::string Render() const;

 private:
  struct Series {
    double value = 0;                   // counter or gauge
    std::vector<uint64_t> bucket_hits;  // histogram: per bucket, not cumulative; last is +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  struct Family {
    std::string name;
    MetricType type = MetricType::kCounter;
    std::string help;
    std::vector<double> buckets;
    std::map<MetricLabels, Series> series;
  };

  Family* Find(const std::string& name);  // REQUIRES: mutex_ held
  static void RenderFamily(const Family& family, std::string& out);

  mutable std::mutex mutex_;
  std::vector<Family> families_;  // GUARDED_BY(mutex_); few, so a linear search is fine
};

// The value as Prometheus prints it: integers without a fraction, +Inf, NaN.
std::string FormatMetricValue(double value);
// Escapes a label value (backslash, double quote, newline).
std::string EscapeLabelValue(const std::string& value);

}  // namespace refinery::api
