// Long-running subcommands: api, worker, up.
#include <unistd.h>

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

int RunWorker(const Config& config, const std::string& stage_name) {
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
  Worker(*services, *stage).Run(stop);
  spdlog::info("worker {} stopped", stage->name);
  return kExitOk;
}

std::string SelfExecutable() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("refinery") : path.string();
}

// The API and one worker per stage, each run as `refinery api|worker ...`
// so that `ps` shows which is which.
std::vector<ServiceSpec> UpServices(const Config& config) {
  std::string exe = SelfExecutable();
  std::vector<std::string> common = {"--data-dir", config.data_dir, "--log-level", config.log_level};
  std::vector<ServiceSpec> specs;
  ServiceSpec api;
  api.name = "api";
  api.argv = {exe, "api", "--host", config.host, "--port", std::to_string(config.port)};
  api.argv.insert(api.argv.begin() + 1, common.begin(), common.end());
  specs.push_back(api);
  for (const auto& stage : StageChain()) {
    ServiceSpec worker;
    worker.name = "worker-" + stage.name;
    worker.argv = {exe, "worker", stage.name};
    worker.argv.insert(worker.argv.begin() + 1, common.begin(), common.end());
    specs.push_back(worker);
  }
  return specs;
}

int RunUp(const Config& config) {
  int code = kExitOk;
  // Migrate once here so the children never race to create the schema.
  if (!OpenServing(config, &code)) return code;
  auto specs = UpServices(config);
  std::atomic<bool> stop{false};
  StopSignals signals(stop);
  Supervisor supervisor(std::move(specs));
  spdlog::info("refinery up: data in {}, API on http://{}:{}", config.data_dir, config.host, config.port);
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
  cmd->add_option("stage", *stage, "The stage to work on (chunk, embed)")->required();
  cmd->add_option("-c,--concurrency", *concurrency, "Jobs run at once (REFINERY_WORKER_CONCURRENCY)")
      ->check(CLI::Range(1, 256));
  cmd->callback([&flags, code, stage, concurrency] {
    auto config = LoadEffectiveConfig(flags, "worker-" + *stage);
    if (!config) { *code = kExitUsage; return; }
    if (*concurrency) config->worker_concurrency = **concurrency;
    *code = RunWorker(*config, *stage);
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
