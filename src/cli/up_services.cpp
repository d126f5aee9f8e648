#include "cli/up_services.h"

#include <set>

#include "pipeline/stage_chain.h"

namespace refinery::cli {
namespace {

// The address a local probe reaches a server listening on `host` at.
std::string LocalUrl(const std::string& host, int port, const std::string& path) {
  std::string h = host == "0.0.0.0" ? "127.0.0.1" : host == "::" ? "::1" : host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  return "http://" + h + ":" + std::to_string(port) + path;
}

std::string WorkerName(const std::string& stage) { return "worker-" + stage; }

// Defaults every service shares: a fast first restart (the API must answer
// again within 2 s of a kill -9), capped so a crash loop costs little.
ServiceSpec BaseSpec(const Config& config, const std::string& name) {
  ServiceSpec spec;
  spec.name = name;
  spec.backoff_initial_s = 0.1;
  spec.backoff_max_s = 10;
  spec.stable_after_s = 10;
  spec.start_period_s = 5;
  spec.log_path = config.LogPath(name);
  return spec;
}

// Lays the [services.<key>] settings over `spec`; `where` names the key.
Status Apply(const ServiceSettings& s, const std::string& where, ServiceSpec& spec) {
  if (s.restart) {
    auto policy = ParseRestartPolicy(*s.restart);
    if (!policy.ok()) return Status::InvalidArgument(where + ".restart: " + policy.status().message());
    spec.policy = *policy;
  }
  if (s.health_interval_s) spec.health.interval_s = *s.health_interval_s;
  if (s.health_timeout_s) spec.health.timeout_s = *s.health_timeout_s;
  if (s.health_retries) spec.health.retries = *s.health_retries;
  if (s.start_period_s) spec.start_period_s = *s.start_period_s;
  if (s.backoff_initial_s) spec.backoff_initial_s = *s.backoff_initial_s;
  if (s.backoff_max_s) spec.backoff_max_s = *s.backoff_max_s;
  if (s.stable_after_s) spec.stable_after_s = *s.stable_after_s;
  if (s.crash_loop_after) spec.crash_loop_after = *s.crash_loop_after;
  if (spec.backoff_initial_s > spec.backoff_max_s) {
    return Status::InvalidArgument(where + ": backoff_initial_s must be <= backoff_max_s");
  }
  return Status::Ok();
}

ServiceSettings SettingsFor(const Config& config, const std::string& key) {
  auto it = config.services.find(key);
  return it == config.services.end() ? ServiceSettings{} : it->second;
}

// Every [services.<key>] names a service, or `workers`.
Status CheckServiceKeys(const Config& config) {
  std::set<std::string> known = {"api", "workers"};
  for (const auto& stage : WorkerStages()) known.insert(WorkerName(stage.name));
  for (const auto& [key, settings] : config.services) {
    if (known.count(key)) continue;
    std::string names;
    for (const auto& name : known) names += (names.empty() ? "" : ", ") + name;
    return Status::InvalidArgument("services." + key + ": unknown service (known: " + names + ")");
  }
  const ServiceSettings api = SettingsFor(config, "api");
  if (api.replicas || api.concurrency) {
    return Status::InvalidArgument("services.api: replicas and concurrency apply to workers only");
  }
  return Status::Ok();
}

Result<ServiceSpec> ApiSpec(const Config& config, const std::string& exe, const std::vector<std::string>& common) {
  ServiceSpec api = BaseSpec(config, "api");
  api.argv = {exe};
  api.argv.insert(api.argv.end(), common.begin(), common.end());
  api.argv.insert(api.argv.end(), {"api", "--host", config.host, "--port", std::to_string(config.port)});
  if (config.port != 0) {  // a hung API fails its probes within about 3 s
    api.health = {HealthCheckSpec::Kind::kHttp, LocalUrl(config.host, config.port, "/health/live"), 1, 1, 3};
    api.ready = {HealthCheckSpec::Kind::kHttp, LocalUrl(config.host, config.port, "/health/ready"), 0.25, 2, 1};
    // Only our own child's answers count: with the port taken by another
    // instance, its /health/ready must not start our workers.
    api.health.answered_by_child = true;
    api.ready.answered_by_child = true;
  }
  const ServiceSettings settings = SettingsFor(config, "api");
  if (settings.depends_on) api.depends_on = *settings.depends_on;
  REFINERY_RETURN_IF_ERROR(Apply(settings, "services.api", api));
  return api;
}

}  // namespace

namespace {

// The replicas of one stage's worker, each beating its own heartbeat file
// (a SIGSTOPped worker is killed about 3 s after its last beat).
Status AddWorkers(const Config& config, const std::string& exe, const std::vector<std::string>& common,
                  const StageDef& stage, std::vector<ServiceSpec>& specs) {
  const std::string group = WorkerName(stage.name);
  const ServiceSettings settings = SettingsFor(config, group).Over(SettingsFor(config, "workers"));
  const int replicas = settings.replicas.value_or(1);
  const int concurrency = settings.concurrency.value_or(config.worker_concurrency);
  for (int n = 1; n <= replicas; ++n) {
    ServiceSpec worker = BaseSpec(config, replicas == 1 ? group : group + "." + std::to_string(n));
    const std::string beat = config.HeartbeatPath(worker.name);
    worker.argv = {exe};
    worker.argv.insert(worker.argv.end(), common.begin(), common.end());
    worker.argv.insert(worker.argv.end(),
                       {"worker", stage.name, "--heartbeat-file", beat, "--concurrency", std::to_string(concurrency)});
    worker.health = {HealthCheckSpec::Kind::kHeartbeat, beat, 0.5, 1.5, 3};
    worker.depends_on = {"api"};
    if (settings.depends_on) worker.depends_on = *settings.depends_on;
    REFINERY_RETURN_IF_ERROR(Apply(settings, "services." + group, worker));
    specs.push_back(std::move(worker));
  }
  return Status::Ok();
}

// depends_on may name a replicated worker by its group ("worker-chunk"):
// it stands for every replica.
void ExpandGroups(std::vector<ServiceSpec>& specs) {
  std::vector<std::string> names;
  for (const auto& spec : specs) names.push_back(spec.name);
  for (auto& spec : specs) {
    std::vector<std::string> expanded;
    for (const auto& dep : spec.depends_on) {
      bool replica = false;
      for (const auto& name : names) {
        if (name.rfind(dep + ".", 0) != 0) continue;
        expanded.push_back(name);
        replica = true;
      }
      if (!replica) expanded.push_back(dep);
    }
    spec.depends_on = std::move(expanded);
  }
}

}  // namespace

Result<std::vector<ServiceSpec>> UpServiceSpecs(const Config& config, const std::string& exe) {
  REFINERY_RETURN_IF_ERROR(CheckServiceKeys(config));
  const std::vector<std::string> common = {"--data-dir", config.data_dir, "--log-level", config.log_level};
  std::vector<ServiceSpec> specs;
  auto api = ApiSpec(config, exe, common);
  if (!api.ok()) return api.status();
  specs.push_back(std::move(api).value());
  for (const auto& stage : WorkerStages()) REFINERY_RETURN_IF_ERROR(AddWorkers(config, exe, common, stage, specs));
  ExpandGroups(specs);
  Status valid = ValidateServiceSpecs(specs);
  if (!valid.ok()) return Status::InvalidArgument("services: " + valid.message());
  return specs;
}

SupervisorOptions UpSupervisorOptions(const Config& config) {
  SupervisorOptions options;
  options.stopped_file = config.StoppedServicesPath();
  options.stop_grace_s = config.stop_grace_s;
  options.log_max_bytes = config.log_max_bytes;
  options.log_keep = config.log_keep;
  return options;
}

}  // namespace refinery::cli
