// Long-running subcommands: api, worker, up.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include <spdlog/spdlog.h>

#include "api/api.h"
#include "cli/cli.h"
#include "cli/up_services.h"
#include "pipeline/services.h"
#include "pipeline/stage_chain.h"
#include "pipeline/worker.h"
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
  auto services = OpenServices(config, OpenMode::kServe);
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
  const StageDef* stage = FindWorkerStage(stage_name);
  if (stage == nullptr) {
    std::string names;
    for (const auto& s : WorkerStages()) names += (names.empty() ? "" : ", ") + s.name;
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

// Migrates once before any child starts, so they never race to create the
// schema. A database or queue still booting (as at machine start) is
// waited for; bad configuration fails at once.
bool PrepareBackends(const Config& config, const std::atomic<bool>& stop, int* code) {
  for (int attempt = 1;; ++attempt) {
    auto services = OpenServices(config, OpenMode::kServe);
    if (services.ok()) return true;
    if (!services.status().transient()) {
      std::cerr << "refinery: " << services.status().message() << "\n";
      *code = kExitUsage;
      return false;
    }
    if (attempt == 1 || attempt % 10 == 0) {
      spdlog::warn("refinery up: backends not reachable yet ({}); retrying every 2 s", services.status().message());
    }
    for (int i = 0; i < 40 && !stop.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (stop.load()) {
      *code = kExitUnavailable;
      return false;
    }
  }
}

int RunUp(const Config& config) {
  // Every child would fail on a malformed profile: say so once, up front.
  auto profile = LoadProfile(config.profile, config.profiles_dir);
  if (!profile.ok()) {
    std::cerr << "refinery: " << profile.status().message() << "\n";
    return kExitUsage;
  }
  auto specs = UpServiceSpecs(config, SelfExecutable());
  if (!specs.ok()) {
    std::cerr << "refinery: " << specs.status().message() << "\n";
    return kExitUsage;
  }
  std::atomic<bool> stop{false};
  StopSignals signals(stop);
  int code = kExitOk;
  if (!PrepareBackends(config, stop, &code)) return code;
  std::error_code ec;
  std::filesystem::create_directories(config.RunDir(), ec);
  std::filesystem::create_directories(config.LogDir(), ec);
  Supervisor supervisor(std::move(specs).value(), UpSupervisorOptions(config));
  auto control = ControlServer::Listen(supervisor, config.ControlSocketPath());
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
    if (!config) {
      *code = kExitUsage;
      return;
    }
    listen->Apply(*config);
    config->llm_embed.linger_ms = 0;  // one query at a time: waiting for a batch only delays it
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
    if (!config) {
      *code = kExitUsage;
      return;
    }
    if (*concurrency) config->worker_concurrency = **concurrency;
    *code = RunWorker(*config, *stage, *heartbeat);
  });
}

void AddUp(CLI::App& app, const GlobalFlags& flags, int* code) {
  auto* cmd = app.add_subcommand("up", "Run the API and the workers of every stage, supervised");
  auto listen = std::make_shared<ListenFlags>();
  listen->Add(cmd);
  cmd->callback([&flags, code, listen] {
    auto config = LoadEffectiveConfig(flags, "up");
    if (!config) {
      *code = kExitUsage;
      return;
    }
    listen->Apply(*config);
    *code = RunUp(*config);
  });
}

}  // namespace refinery::cli
