#include "api/metrics.h"

#include <cmath>
#include <cstdio>
#include <limits>

namespace refinery::api {
namespace {

const char* TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// HELP text escapes only backslash and newline.
std::string EscapeHelp(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// `{a="x",b="y"}` with an optional extra label appended (histograms' le).
std::string LabelText(const MetricLabels& labels, const std::string& extra_name = "",
                      const std::string& extra_value = "") {
  MetricLabels all = labels;
  if (!extra_name.empty()) all.emplace_back(extra_name, extra_value);
  if (all.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < all.size(); ++i) {
    if (i > 0) out += ',';
    out += all[i].first + "=\"" + EscapeLabelValue(all[i].second) + "\"";
  }
  return out + "}";
}

void Line(std::string& out, const std::string& name, const std::string& labels, double value) {
  out += name;
  out += labels;
  out += ' ';
  out += FormatMetricValue(value);
  out += '\n';
}

}  // namespace

std::vector<double> DefaultLatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<int64_t>(value));
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.9g", value);
  return buffer;
}

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void MetricsRegistry::Declare(const std::string& name, MetricType type, const std::string& help,
                              std::vector<double> buckets) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (Find(name) != nullptr) return;
  families_.push_back(Family{name, type, help, std::move(buckets), {}});
}

MetricsRegistry::Family* MetricsRegistry::Find(const std::string& name) {
  for (Family& family : families_) {
    if (family.name == name) return &family;
  }
  return nullptr;
}

void MetricsRegistry::Add(const std::string& name, const MetricLabels& labels, double delta) {
  std::lock_guard<std::mutex> lock(mutex_);
  Family* family = Find(name);
  if (family == nullptr || family->type == MetricType::kHistogram) return;
  family->series[labels].value += delta;
}

void MetricsRegistry::Set(const std::string& name, const MetricLabels& labels, double value) {
  std::lock_guard<std::mutex> lock(mutex_);
  Family* family = Find(name);
  if (family == nullptr || family->type == MetricType::kHistogram) return;
  family->series[labels].value = value;
}

void MetricsRegistry::Observe(const std::string& name, const MetricLabels& labels, double value) {
  std::lock_guard<std::mutex> lock(mutex_);
  Family* family = Find(name);
  if (family == nullptr || family->type != MetricType::kHistogram) return;
  Series& series = family->series[labels];
  if (series.bucket_hits.empty()) series.bucket_hits.assign(family->buckets.size() + 1, 0);
  size_t i = 0;
  while (i < family->buckets.size() && value > family->buckets[i]) ++i;
  ++series.bucket_hits[i];
  series.sum += value;
  ++series.count;
}

void MetricsRegistry::SetHistogram(const std::string& name, const MetricLabels& labels,
                                   const std::vector<uint64_t>& bucket_hits, double sum) {
  std::lock_guard<std::mutex> lock(mutex_);
  Family* family = Find(name);
  if (family == nullptr || family->type != MetricType::kHistogram) return;
  if (bucket_hits.size() != family->buckets.size() + 1) return;
  Series& series = family->series[labels];
  series.bucket_hits = bucket_hits;
  series.sum = sum;
  series.count = 0;
  for (uint64_t hits : bucket_hits) series.count += hits;
}

std::string MetricsRegistry::Render() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  for (const Family& family : families_) RenderFamily(family, out);
  return out;
}

void MetricsRegistry::RenderFamily(const Family& family, std::string& out) {
  out += "# HELP " + family.name + " " + EscapeHelp(family.help) + "\n";
  out += "# TYPE " + family.name + " " + TypeName(family.type) + "\n";
  for (const auto& [labels, series] : family.series) {
    if (family.type != MetricType::kHistogram) {
      Line(out, family.name, LabelText(labels), series.value);
      continue;
    }
    uint64_t cumulative = 0;
    for (size_t i = 0; i < series.bucket_hits.size(); ++i) {
      cumulative += series.bucket_hits[i];
      std::string le = i < family.buckets.size() ? FormatMetricValue(family.buckets[i]) : "+Inf";
      Line(out, family.name + "_bucket", LabelText(labels, "le", le), static_cast<double>(cumulative));
    }
    Line(out, family.name + "_sum", LabelText(labels), series.sum);
    Line(out, family.name + "_count", LabelText(labels), static_cast<double>(series.count));
  }
}

}  // namespace refinery::api
