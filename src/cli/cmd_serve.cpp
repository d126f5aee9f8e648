// Long-running subcommands: api, worker, up.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include <spdlog/spdlog.h>

#include "api/api.h"
#include "cli/cli.h"
#include "pipeline/pipeline.h"
#include "supervisor/supervisor.h"

namespace refinery::cli {
namespace {

// Host/port flags shared by `api` and `up`; they beat REFINERY_HOST/PORT.
struct ListenFlags {
  std::optional<std::string> host;
  std::optional<int> port;
  void Add(CLI::App* cmd) {
    cmd->add_option("--host", host, "Address to listen on (REFINERY_HOST, default 127.0.0.1)");
    cmd->add_option("--port", port, "Port to listen on (REFINERY_PORT, default 8000)")->check(CLI::Range(0, 65535));
  }
  void Apply(Config& config) const {
    if (host) config.host = *host;
    if (port) config.port = *port;
  }
};

std::optional<Services> OpenServing(const Config& config, int* code) {
  auto services = OpenServices(config, true);
  if (!services.ok()) {
    std::cerr << "refinery: " << services.status().message() << "\n";
    *code = services.status().transient() ? kExitUnavailable : kExitUsage;
    return std::nullopt;
  }
  return std::move(services).value();
}

int RunApi(const Config& config) {
  int code = kExitOk;
  auto services = OpenServing(config, &code);
  if (!services) return code;
  ApiServer server(*services);
  Status bound = server.Bind(config.host, config.port);
  if (!bound.ok()) {
    std::cerr << "refinery: " << bound.message() << "\n";
    return kExitUnavailable;
  }
  std::atomic<bool> stop{false};
  StopSignals signals(stop);
  std::jthread watcher([&] {
    while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    server.Stop();
  });
  spdlog::info("api listening on http://{}:{}", config.host, server.port());
  server.Serve();
  stop = true;
  spdlog::info("api stopped");
  return kExitOk;
}

int RunWorker(const Config& config, const std::string& stage_name, const std::string& heartbeat_path) {
  // Test-only: lets an end-to-end test make one stage's worker crash-loop.
  const char* fail_stage = std::getenv("REFINERY_TEST_WORKER_EXIT_STAGE");
  if (fail_stage != nullptr && stage_name == fail_stage) {
    std::cerr << "refinery: worker " << stage_name << ": exiting at once (REFINERY_TEST_WORKER_EXIT_STAGE)\n";
    return kExitFailure;
  }
  const StageDef* stage = FindStage(stage_name);
  if (stage == nullptr) {
    std::string names;
    for (const auto& s : StageChain()) names += (names.empty() ? "" : ", ") + s.name;
    std::cerr << "refinery: worker: unknown stage '" << stage_name << "' (built stages: " << names << ")\n";
    return kExitUsage;
  }
  int code = kExitOk;
  auto services = OpenServing(config, &code);
  if (!services) return code;
  std::atomic<bool> stop{false};
  StopSignals signals(stop);
  Worker worker(*services, *stage);
  worker.set_heartbeat_path(heartbeat_path);
  worker.Run(stop);
  spdlog::info("worker {} stopped", stage->name);
  return kExitOk;
}

std::string SelfExecutable() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("refinery") : path.string();
}

// The address a local probe reaches a server listening on `host` at.
std::string LocalUrl(const std::string& host, int port, const std::string& path) {
  std::string h = host == "0.0.0.0" ? "127.0.0.1" : host == "::" ? "::1" : host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  return "http://" + h + ":" + std::to_string(port) + path;
}

// Defaults every service shares: a fast first restart (the API must answer
// again within 2 s of a kill -9), capped so a crash loop costs little.
ServiceSpec BaseSpec(const Config& config, const std::string& name) {
  ServiceSpec spec;
  spec.name = name;
  spec.backoff_initial_s = 0.1;
  spec.backoff_max_s = 10;
  spec.stable_after_s = 10;
  spec.start_period_s = 5;
  spec.log_path = config.data_dir + "/logs/" + name + ".log";
  return spec;
}

// The API (probed on /health/live: a hung one fails within ~3 s) and one
// worker per stage (probed by heartbeat: a SIGSTOPped one is killed ~3 s
// after its last beat), each run as `refinery api|worker ...` so that `ps`
// shows which is which.
std::vector<ServiceSpec> UpServices(const Config& config) {
  std::string exe = SelfExecutable();
  std::vector<std::string> common = {"--data-dir", config.data_dir, "--log-level", config.log_level};
  std::vector<ServiceSpec> specs;
  ServiceSpec api = BaseSpec(config, "api");
  api.argv = {exe, "api", "--host", config.host, "--port", std::to_string(config.port)};
  api.argv.insert(api.argv.begin() + 1, common.begin(), common.end());
  if (config.port != 0) api.health = {HealthCheckSpec::Kind::kHttp, LocalUrl(config.host, config.port, "/health/live"), 1, 1, 3};
  specs.push_back(api);
  for (const auto& stage : StageChain()) {
    ServiceSpec worker = BaseSpec(config, "worker-" + stage.name);
    const std::string beat = config.data_dir + "/run/" + worker.name + ".heartbeat";
    worker.argv = {exe, "worker", stage.name, "--heartbeat-file", beat};
    worker.argv.insert(worker.argv.begin() + 1, common.begin(), common.end());
    worker.health = {HealthCheckSpec::Kind::kHeartbeat, beat, 0.5, 1.5, 3};
    specs.push_back(worker);
  }
  return specs;
}

int RunUp(const Config& config) {
  int code = kExitOk;
  // Migrate once here so the children never race to create the schema.
  if (!OpenServing(config, &code)) return code;
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir + "/run", ec);
  std::filesystem::create_directories(config.data_dir + "/logs", ec);
  std::atomic<bool> stop{false};
  StopSignals signals(stop);
  SupervisorOptions options;
  options.stopped_file = config.data_dir + "/run/stopped.json";
  Supervisor supervisor(UpServices(config), options);
  auto control = ControlServer::Listen(supervisor, ControlSocketPath(config));
  if (!control.ok()) {
    std::cerr << "refinery: " << control.status().message() << "\n";
    return kExitUnavailable;
  }
  spdlog::info("refinery up: data in {}, API on http://{}:{}, logs in {}/logs", config.data_dir, config.host,
               config.port, config.data_dir);
  return supervisor.Run(stop);
}

}  // namespace

void AddApi(CLI::App& app, const GlobalFlags& flags, int* code) {
  auto* cmd = app.add_subcommand("api", "Serve the HTTP API");
  auto listen = std::make_shared<ListenFlags>();
  listen->Add(cmd);
  cmd->callback([&flags, code, listen] {
    auto config = LoadEffectiveConfig(flags, "api");
    if (!config) { *code = kExitUsage; return; }
    listen->Apply(*config);
    *code = RunApi(*config);
  });
}

void AddWorker(CLI::App& app, const GlobalFlags& flags, int* code) {
  auto* cmd = app.add_subcommand("worker", "Run one stage's worker loop");
  auto stage = std::make_shared<std::string>();
  auto concurrency = std::make_shared<std::optional<int>>();
  auto heartbeat = std::make_shared<std::string>();
  cmd->add_option("stage", *stage, "The stage to work on (chunk, embed)")->required();
  cmd->add_option("--heartbeat-file", *heartbeat, "Beat this file every 0.5 s while making progress (set by `up`)");
  cmd->add_option("-c,--concurrency", *concurrency, "Jobs run at once (REFINERY_WORKER_CONCURRENCY)")
      ->check(CLI::Range(1, 256));
  cmd->callback([&flags, code, stage, concurrency, heartbeat] {
    auto config = LoadEffectiveConfig(flags, "worker-" + *stage);
    if (!config) { *code = kExitUsage; return; }
    if (*concurrency) config->worker_concurrency = **concurrency;
    *code = RunWorker(*config, *stage, *heartbeat);
  });
}

void AddUp(CLI::App& app, const GlobalFlags& flags, int* code) {
  auto* cmd = app.add_subcommand("up", "Run the API and one worker per stage, supervised");
  auto listen = std::make_shared<ListenFlags>();
  listen->Add(cmd);
  cmd->callback([&flags, code, listen] {
    auto config = LoadEffectiveConfig(flags, "up");
    if (!config) { *code = kExitUsage; return; }
    listen->Apply(*config);
    *code = RunUp(*config);
  });
}

}  // namespace refinery::cli
