// GET /metrics over real HTTP: every line parses as Prometheus text format,
// request counters grow per route pattern, histograms are cumulative, the
// store and queue figures match what was ingested, and the stage series
// count what real workers did, across a restart, on SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include "api/metrics.h"
#include "api_test_util.h"
#include "core/clock.h"
#include "pipeline/reconciler.h"
#include "pipeline/stage_chain.h"
#include "pipeline/worker.h"
#include "store/pg_test_util.h"
#include "support/process_util.h"

namespace refinery {
namespace {

using testing::ApiReply;

// One parsed sample: metric name, label text as printed ("{a=\"b\"}" or ""), value.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

bool IsNameChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
}

// Parses `name{k="v",...} value`; false on any deviation from the format.
bool ParseSample(const std::string& line, Sample& out) {
  size_t i = 0;
  while (i < line.size() && IsNameChar(line[i], i == 0)) ++i;
  if (i == 0) return false;
  out.name = line.substr(0, i);
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      size_t eq = line.find("=\"", i);
      if (eq == std::string::npos) return false;
      std::string key = line.substr(i, eq - i);
      std::string value;
      size_t j = eq + 2;
      for (; j < line.size() && line[j] != '"'; ++j) {
        if (line[j] == '\\' && j + 1 < line.size()) ++j;
        value += line[j];
      }
      if (j >= line.size()) return false;
      out.labels[key] = value;
      i = j + 1;
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i >= line.size()) return false;
    ++i;
  }
  if (i >= line.size() || line[i] != ' ') return false;
  std::string value = line.substr(i + 1);
  if (value == "+Inf" || value == "-Inf" || value == "NaN") return true;
  char* end = nullptr;
  out.value = std::strtod(value.c_str(), &end);
  return !value.empty() && end != nullptr && *end == '\0';
}

// The whole exposition; fails the test on any malformed line.
std::vector<Sample> ParseExposition(const std::string& text) {
  std::vector<Sample> samples;
  std::map<std::string, std::string> types;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.rfind("# HELP ", 0) == 0) continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream words(line.substr(7));
      std::string name, type;
      words >> name >> type;
      EXPECT_TRUE(type == "counter" || type == "gauge" || type == "histogram") << line;
      types[name] = type;
      continue;
    }
    Sample sample;
    EXPECT_TRUE(ParseSample(line, sample)) << "malformed line: " << line;
    std::string family = sample.name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      std::string s = suffix;
      if (!types.count(family) && family.size() > s.size() && family.ends_with(s)) {
        family = family.substr(0, family.size() - s.size());
      }
    }
    EXPECT_TRUE(types.count(family)) << "sample before its # TYPE: " << line;
    samples.push_back(sample);
  }
  return samples;
}

// The value of the sample matching name and every given label; -1 if absent.
double Find(const std::vector<Sample>& samples, const std::string& name,
            const std::map<std::string, std::string>& labels) {
  for (const Sample& s : samples) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels) match = match && s.labels.count(k) && s.labels.at(k) == v;
    if (match) return s.value;
  }
  return -1;
}

class MetricsTest : public ::testing::Test {
 protected:
  MetricsTest() : services_(testing::OpenTestServices(testing::TestConfig(dir_))), server_(services_) {}

  std::vector<Sample> Scrape() {
    ApiReply reply = server_.Call("GET", "/metrics");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    return ParseExposition(reply.raw);
  }

  testing::TempDir dir_;
  Services services_;
  testing::RunningServer server_;
};

TEST_F(MetricsTest, CountsRequestsPerRoutePatternAndStatus) {
  server_.Call("GET", "/stats");
  server_.Call("GET", "/documents/12345");
  server_.Call("GET", "/no/such/route");
  auto before = Scrape();
  const std::map<std::string, std::string> doc404 = {{"method", "GET"}, {"route", "/documents/:id"}, {"status", "404"}};
  EXPECT_EQ(Find(before, "refinery_http_requests_total", doc404), 1);
  EXPECT_EQ(Find(before, "refinery_http_requests_total", {{"route", "/stats"}, {"status", "200"}}), 1);
  EXPECT_EQ(Find(before, "refinery_http_requests_total", {{"route", "unmatched"}, {"status", "404"}}), 1);
  for (const Sample& s : before) {
    if (s.labels.count("route")) {
      EXPECT_EQ(s.labels.at("route").find("12345"), std::string::npos);
    }
  }
  server_.Call("GET", "/documents/999");
  server_.Call("GET", "/stats");
  auto after = Scrape();
  EXPECT_EQ(Find(after, "refinery_http_requests_total", doc404), 2);
  EXPECT_EQ(Find(after, "refinery_http_requests_total", {{"route", "/stats"}, {"status", "200"}}), 2);
  EXPECT_GE(Find(after, "refinery_http_requests_total", {{"route", "/metrics"}, {"status", "200"}}), 1);
}

TEST_F(MetricsTest, HistogramBucketsAreCumulativeAndInfEqualsCount) {
  for (int i = 0; i < 5; ++i) server_.Call("GET", "/health/live");
  server_.Call("GET", "/stats");
  auto samples = Scrape();
  std::map<std::map<std::string, std::string>, std::vector<double>> buckets;  // series -> bucket values
  for (const Sample& s : samples) {
    if (s.name != "refinery_http_request_duration_seconds_bucket") continue;
    auto series = s.labels;
    series.erase("le");
    auto& values = buckets[series];
    if (!values.empty()) {
      EXPECT_GE(s.value, values.back()) << "not cumulative";
    }
    values.push_back(s.value);
    if (s.labels.at("le") == "+Inf") {
      EXPECT_EQ(s.value, Find(samples, "refinery_http_request_duration_seconds_count", series));
    }
  }
  ASSERT_FALSE(buckets.empty());
  auto live = buckets[{{"method", "GET"}, {"route", "/health/live"}, {"status", "200"}}];
  ASSERT_FALSE(live.empty());
  EXPECT_EQ(live.back(), 5);
}

TEST_F(MetricsTest, ReportsDocumentsQueueAndPoolFigures) {
  for (int i = 0; i < 3; ++i) {
    ApiReply reply = server_.Post("/ingest", {{"title", "t"}, {"content", "Metrics doc " + std::to_string(i) + "."}});
    ASSERT_EQ(reply.status, 201) << reply.raw;
  }
  auto samples = Scrape();
  EXPECT_EQ(Find(samples, "refinery_documents", {{"stage", "chunking"}}), 3);
  EXPECT_EQ(Find(samples, "refinery_documents", {{"stage", "complete"}}), 0);
  EXPECT_EQ(Find(samples, "refinery_queue_jobs", {{"stage", "chunk"}, {"state", "ready"}}), 3);
  EXPECT_EQ(Find(samples, "refinery_queue_jobs", {{"stage", "embed"}, {"state", "dead"}}), 0);
  EXPECT_EQ(Find(samples, "refinery_chunks", {}), 0);
  EXPECT_GE(Find(samples, "refinery_db_pool_size", {}), 0);
  EXPECT_EQ(Find(samples, "refinery_metrics_scrape_error", {{"source", "store"}}), 0);
  EXPECT_EQ(Find(samples, "refinery_health_component_up", {{"component", "store"}}), 1);
}

// Real work through the real stages, on the store named by the parameter
// (PostgreSQL only when the test services run): chunk and embed complete
// one document, a second one's chunk fails until dead-lettered, and the
// reconciler re-enqueues a third whose job was lost.
class StageMetricsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    config_ = testing::TestConfig(dir_);
    config_.max_attempts = 2;
    config_.retry_base_delay_s = 0.05;
    config_.retry_max_delay_s = 0.1;
    config_.stage_timeout_s = 0.2;
    if (GetParam() == "postgres") {
      auto url = pgtest::FreshDatabaseUrl();
      ASSERT_TRUE(url.ok()) << url.status().ToString();
      if (url->empty()) GTEST_SKIP() << "PostgreSQL test server not configured";
      config_.database_url = *url;
    }
    Start();
  }

  // Opens the backends and serves them, as a (re)started API process would.
  void Start() {
    services_.emplace(testing::OpenTestServices(config_));
    server_.emplace(*services_);
  }
  void Stop() {
    server_.reset();
    services_.reset();
  }

  std::vector<Sample> Scrape() {
    ApiReply reply = server_->Call("GET", "/metrics");
    EXPECT_EQ(reply.status, 200);
    return ParseExposition(reply.raw);
  }

  int64_t Ingest(const std::string& text) {
    ApiReply reply = server_->Post("/ingest", {{"title", "t"}, {"content", text}});
    EXPECT_EQ(reply.status, 201) << reply.raw;
    return reply.body.value("id", int64_t{0});
  }

  // Leases and processes every ready job of `stage` (as worker_test does).
  void Drain(const std::string& stage) {
    Worker worker(*services_, *FindStage(stage));
    for (;;) {
      auto job = services_->queue->Lease(stage, 30, std::chrono::milliseconds(0));
      ASSERT_TRUE(job.ok()) << job.status().ToString();
      if (!job->has_value()) return;
      worker.ProcessJob(**job);
    }
  }

  void DoTheWork() {
    const int64_t good = Ingest("A document that walks the whole chain. It has two sentences.");
    const int64_t broken = Ingest("A document whose text vanishes before chunking.");
    auto doc = services_->store->documents().Get(broken);
    ASSERT_TRUE(doc.ok());
    ASSERT_TRUE(services_->blobs->Delete(doc->blob_key).ok());
    Drain("chunk");  // good: completed; broken: attempt 1 retried
    Drain("embed");     // good: completed
    Drain("evaluate");  // good: completed
    Drain("extract");   // good: completed
    Drain("resolve");   // good: completed
    ASSERT_TRUE(testing::WaitUntil([&] { return services_->queue->Depth("chunk")->ready == 1; },
                                   std::chrono::milliseconds(5000)));
    Drain("chunk");  // broken: attempt 2 of 2, dead-lettered
    ASSERT_EQ(services_->store->documents().Get(good)->state, "complete");
    ASSERT_EQ(services_->store->documents().Get(broken)->state, "error");

    const int64_t lost = Ingest("A document whose wake-up call gets lost.");
    auto job = services_->queue->Lease("chunk", 30, std::chrono::milliseconds(0));
    ASSERT_TRUE(job.ok() && job->has_value());
    ASSERT_EQ((*job)->document_id, lost);
    ASSERT_TRUE(services_->queue->Ack(**job).ok());  // gone without the work being done
    // As the reconciler sees it past stage_timeout_s.
    auto requeued = ReconcileStage(*services_, *FindStage("chunk"), NowSeconds() + config_.stage_timeout_s + 1);
    ASSERT_TRUE(requeued.ok());
    ASSERT_EQ(*requeued, 1);
  }

  // The figures DoTheWork leaves, checked in one scrape.
  static void ExpectTheWork(const std::vector<Sample>& samples) {
    const auto jobs = [&](const char* stage, const char* outcome) {
      return Find(samples, "refinery_stage_jobs_total", {{"stage", stage}, {"outcome", outcome}});
    };
    EXPECT_EQ(jobs("chunk", "completed"), 1);
    EXPECT_EQ(jobs("chunk", "retried"), 1);
    EXPECT_EQ(jobs("chunk", "dead_lettered"), 1);
    EXPECT_EQ(jobs("embed", "completed"), 1);
    EXPECT_EQ(jobs("embed", "retried"), 0);
    EXPECT_EQ(jobs("embed", "dead_lettered"), 0);
    EXPECT_EQ(Find(samples, "refinery_reconciler_requeues_total", {{"stage", "chunk"}}), 1);
    EXPECT_EQ(Find(samples, "refinery_reconciler_requeues_total", {{"stage", "embed"}}), 0);
    EXPECT_EQ(Find(samples, "refinery_queue_jobs", {{"stage", "chunk"}, {"state", "dead"}}), 1);
    for (const char* stage : {"chunk", "embed", "evaluate", "extract", "resolve"}) {
      const std::map<std::string, std::string> done = {{"stage", stage}, {"outcome", "completed"}};
      EXPECT_EQ(Find(samples, "refinery_stage_duration_seconds_count", done), 1) << stage;
      auto inf = done;
      inf["le"] = "+Inf";
      EXPECT_EQ(Find(samples, "refinery_stage_duration_seconds_bucket", inf), 1) << stage;
      const double sum = Find(samples, "refinery_stage_duration_seconds_sum", done);
      EXPECT_GT(sum, 0) << stage;
      EXPECT_LT(sum, 30) << stage;
    }
    EXPECT_EQ(Find(samples, "refinery_stage_duration_seconds_count", {{"stage", "chunk"}, {"outcome", "retried"}}), 1);
    EXPECT_EQ(Find(samples, "refinery_metrics_scrape_error", {{"source", "store"}}), 0);
  }

  testing::TempDir dir_;
  Config config_;
  std::optional<Services> services_;
  std::optional<testing::RunningServer> server_;
};

TEST_P(StageMetricsTest, StageSeriesStartAtZeroForEveryStage) {
  auto samples = Scrape();
  for (const char* stage : {"chunk", "embed", "evaluate", "extract", "resolve"}) {
    for (const char* outcome : {"completed", "retried", "dead_lettered"}) {
      const std::map<std::string, std::string> labels = {{"stage", stage}, {"outcome", outcome}};
      EXPECT_EQ(Find(samples, "refinery_stage_jobs_total", labels), 0) << stage << " " << outcome;
      EXPECT_EQ(Find(samples, "refinery_stage_duration_seconds_count", labels), 0) << stage << " " << outcome;
    }
    EXPECT_EQ(Find(samples, "refinery_reconciler_requeues_total", {{"stage", stage}}), 0) << stage;
  }
}

TEST_P(StageMetricsTest, CountsRealJobsRetriesDeadLettersAndRequeuesAcrossARestart) {
  ASSERT_NO_FATAL_FAILURE(DoTheWork());
  auto samples = Scrape();
  ExpectTheWork(samples);
  // Cumulative buckets, each series ending in +Inf == _count.
  double previous = -1;
  for (const Sample& s : samples) {
    if (s.name != "refinery_stage_duration_seconds_bucket") continue;
    if (s.labels.at("stage") != "chunk" || s.labels.at("outcome") != "completed") continue;
    EXPECT_GE(s.value, previous) << "not cumulative at le=" << s.labels.at("le");
    previous = s.value;
  }
  EXPECT_EQ(previous, 1);

  Stop();  // every process restarts: the counters live in the store
  Start();
  ExpectTheWork(Scrape());
}

INSTANTIATE_TEST_SUITE_P(Stores, StageMetricsTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST(MetricsRegistry, CountsFromManyThreadsAndEscapesLabels) {
  api::MetricsRegistry registry;
  registry.Declare("c_total", api::MetricType::kCounter, "help with \\ and\nnewline");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) registry.Add("c_total", {{"path", "a\"b\\c\nd"}});
    });
  }
  for (auto& thread : threads) thread.join();
  registry.Add("undeclared_total", {});  // ignored, not a crash
  auto samples = ParseExposition(registry.Render());
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].value, 4000);
  EXPECT_EQ(samples[0].labels.at("path"), "a\"b\\cnd");  // the parser keeps the escaped char
  EXPECT_NE(registry.Render().find("help with \\\\ and\\nnewline"), std::string::npos);
}

}  // namespace
}  // namespace refinery
