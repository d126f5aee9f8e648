// `refinery stop|start|restart SERVICE`: asks the running supervisor over
// its control socket. A service stopped this way stays stopped (also across
// supervisor restarts) until started again.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "control/control_client.h"
#include "supervisor/supervisor.h"

namespace refinery::cli {
namespace {

int RunControl(const Config& config, const std::string& verb, const std::string& service) {
  // Longer than the supervisor's own wait, so its error (not ours) is shown.
  auto reply = ControlRequest(config.ControlSocketPath(), verb + " " + service, 40);
  if (!reply.ok()) {
    std::cerr << "refinery: " << reply.status().message() << "\n";
    return kExitUnavailable;
  }
  auto parsed = nlohmann::json::parse(*reply, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object() || !parsed.value("ok", false)) {
    const std::string error = parsed.is_object() ? parsed.value("error", *reply) : *reply;
    std::cerr << "refinery: " << verb << " " << service << ": " << error << "\n";
    return kExitFailure;
  }
  std::cout << service << ": " << verb << (verb == "stop" ? "ped" : "ed") << "\n";
  return kExitOk;
}

void AddControl(CLI::App& app, const GlobalFlags& flags, int* code, const std::string& verb,
                const std::string& summary) {
  auto* cmd = app.add_subcommand(verb, summary);
  auto service = std::make_shared<std::string>();
  cmd->add_option("service", *service, "api or worker-STAGE (see `refinery status`)")
      ->required()
      ->check(ServiceNameValidator());
  cmd->callback([&flags, code, service, verb] {
    auto config = LoadEffectiveConfig(flags, verb);
    if (!config) {
      *code = kExitUsage;
      return;
    }
    *code = RunControl(*config, verb, *service);
  });
}

}  // namespace

void AddStop(CLI::App& app, const GlobalFlags& flags, int* code) {
  AddControl(app, flags, code, "stop", "Stop a service (it stays stopped until started)");
}

void AddStart(CLI::App& app, const GlobalFlags& flags, int* code) {
  AddControl(app, flags, code, "start", "Start a stopped service");
}

void AddRestart(CLI::App& app, const GlobalFlags& flags, int* code) {
  AddControl(app, flags, code, "restart", "Restart a service");
}

}  // namespace refinery::cli
