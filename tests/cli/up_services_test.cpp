// The services `refinery up` builds from refinery.toml's [services.*]
// tables: defaults, replicas, overrides and the errors a bad file gets.
#include "cli/up_services.h"

#include <algorithm>

#include <gtest/gtest.h>

namespace refinery::cli {
namespace {

const ServiceSpec* Find(const std::vector<ServiceSpec>& specs, const std::string& name) {
  auto it = std::find_if(specs.begin(), specs.end(), [&](const ServiceSpec& s) { return s.name == name; });
  return it == specs.end() ? nullptr : &*it;
}

bool HasArgs(const ServiceSpec& spec, const std::vector<std::string>& args) {
  return std::search(spec.argv.begin(), spec.argv.end(), args.begin(), args.end()) != spec.argv.end();
}

Config Base() {
  Config config;
  config.data_dir = "/data";
  config.port = 8100;
  return config;
}

TEST(UpServices, DefaultsAreTheApiAndOneWorkerPerStageAfterIt) {
  auto specs = UpServiceSpecs(Base(), "/bin/refinery");
  ASSERT_TRUE(specs.ok()) << specs.status().ToString();
  ASSERT_EQ(specs->size(), 7u);
  const ServiceSpec* api = Find(*specs, "api");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->policy, RestartPolicy::kUnlessStopped);
  EXPECT_EQ(api->health.target, "http://127.0.0.1:8100/health/live");
  EXPECT_EQ(api->ready.target, "http://127.0.0.1:8100/health/ready");
  EXPECT_TRUE(api->depends_on.empty());
  EXPECT_EQ(api->log_path, "/data/logs/api.log");
  for (const char* name :
       {"worker-crawl", "worker-chunk", "worker-embed", "worker-evaluate", "worker-extract", "worker-resolve"}) {
    const ServiceSpec* worker = Find(*specs, name);
    ASSERT_NE(worker, nullptr) << name;
    EXPECT_EQ(worker->depends_on, std::vector<std::string>{"api"});
    EXPECT_EQ(worker->health.kind, HealthCheckSpec::Kind::kHeartbeat);
    EXPECT_EQ(worker->health.target, std::string("/data/run/") + name + ".heartbeat");
    EXPECT_TRUE(HasArgs(*worker, {"--concurrency", std::to_string(Config{}.worker_concurrency)}));
  }
}

TEST(UpServices, ReplicasGetNumberedNamesAndTheirOwnHeartbeats) {
  Config config = Base();
  config.services["worker-chunk"].replicas = 2;
  config.services["workers"].concurrency = 5;
  config.services["workers"].health_retries = 7;
  config.services["worker-embed"].concurrency = 1;
  auto specs = UpServiceSpecs(config, "/bin/refinery");
  ASSERT_TRUE(specs.ok()) << specs.status().ToString();
  ASSERT_EQ(specs->size(), 8u);
  EXPECT_EQ(Find(*specs, "worker-chunk"), nullptr);
  for (const char* name : {"worker-chunk.1", "worker-chunk.2"}) {
    const ServiceSpec* worker = Find(*specs, name);
    ASSERT_NE(worker, nullptr) << name;
    EXPECT_TRUE(HasArgs(*worker, {"worker", "chunk", "--heartbeat-file",
                                  std::string("/data/run/") + name + ".heartbeat", "--concurrency", "5"}));
    EXPECT_EQ(worker->health.retries, 7);
  }
  EXPECT_TRUE(HasArgs(*Find(*specs, "worker-embed"), {"--concurrency", "1"}));  // per-service beats `workers`
}

TEST(UpServices, DependingOnAReplicatedWorkerMeansEveryReplica) {
  Config config = Base();
  config.services["worker-chunk"].replicas = 2;
  config.services["worker-embed"].depends_on = std::vector<std::string>{"api", "worker-chunk"};
  auto specs = UpServiceSpecs(config, "/bin/refinery");
  ASSERT_TRUE(specs.ok()) << specs.status().ToString();
  EXPECT_EQ(Find(*specs, "worker-embed")->depends_on,
            (std::vector<std::string>{"api", "worker-chunk.1", "worker-chunk.2"}));
}

TEST(UpServices, OverridesReachTheSpec) {
  Config config = Base();
  ServiceSettings& api = config.services["api"];
  api.restart = "on-failure";
  api.health_interval_s = 2;
  api.start_period_s = 9;
  api.backoff_initial_s = 0.5;
  api.backoff_max_s = 4;
  api.crash_loop_after = 6;
  auto specs = UpServiceSpecs(config, "/bin/refinery");
  ASSERT_TRUE(specs.ok()) << specs.status().ToString();
  const ServiceSpec* spec = Find(*specs, "api");
  EXPECT_EQ(spec->policy, RestartPolicy::kOnFailure);
  EXPECT_EQ(spec->health.interval_s, 2);
  EXPECT_EQ(spec->start_period_s, 9);
  EXPECT_EQ(spec->backoff_initial_s, 0.5);
  EXPECT_EQ(spec->backoff_max_s, 4);
  EXPECT_EQ(spec->crash_loop_after, 6);
}

TEST(UpServices, BadSettingsAreRejectedNamingTheKey) {
  struct Case {
    std::function<void(Config&)> set;
    std::string want;
  };
  const Case cases[] = {
      {[](Config& c) { c.services["worker-chnk"].replicas = 2; }, "services.worker-chnk: unknown service"},
      {[](Config& c) { c.services["api"].restart = "sometimes"; }, "services.api.restart: unknown restart policy"},
      {[](Config& c) { c.services["api"].replicas = 2; }, "services.api: replicas and concurrency apply to workers"},
      {[](Config& c) { c.services["api"].depends_on = std::vector<std::string>{"worker-chunk"}; }, "cycle"},
      {[](Config& c) { c.services["workers"].depends_on = std::vector<std::string>{"db"}; }, "'db'"},
      {[](Config& c) { c.services["workers"].backoff_initial_s = 20; }, "services.worker-crawl: backoff_initial_s"},
  };
  for (const auto& c : cases) {
    Config config = Base();
    c.set(config);
    auto specs = UpServiceSpecs(config, "/bin/refinery");
    ASSERT_FALSE(specs.ok()) << c.want;
    EXPECT_EQ(specs.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(specs.status().message().find(c.want), std::string::npos) << specs.status().message();
  }
}

}  // namespace
}  // namespace refinery::cli
