// `refinery status [--json]`: the running supervisor's services, like `docker ps`.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "control/control_client.h"
#include "supervisor/supervisor.h"

namespace refinery::cli {
namespace {

// "42s", "3m04s", "2h05m"; "-" when not running.
std::string Uptime(double seconds, int pid) {
  if (pid <= 0) return "-";
  const long s = static_cast<long>(seconds);
  char text[32];
  if (s < 60) {
    std::snprintf(text, sizeof text, "%lds", s);
  } else if (s < 3600) {
    std::snprintf(text, sizeof text, "%ldm%02lds", s / 60, s % 60);
  } else {
    std::snprintf(text, sizeof text, "%ldh%02ldm", s / 3600, s % 3600 / 60);
  }
  return text;
}

void PrintTable(const nlohmann::json& services) {
  std::printf("%-16s %-8s %-9s %-10s %-8s %s\n", "SERVICE", "PID", "STATE", "HEALTH", "UPTIME", "RESTARTS");
  for (const auto& s : services) {
    const int pid = s.value("pid", 0);
    std::printf("%-16s %-8s %-9s %-10s %-8s %d\n", s.value("name", "").c_str(),
                pid > 0 ? std::to_string(pid).c_str() : "-", s.value("state", "").c_str(),
                s.value("health", "").c_str(), Uptime(s.value("uptime_s", 0.0), pid).c_str(), s.value("restarts", 0));
  }
}

int RunStatus(const Config& config, bool as_json) {
  auto reply = ControlRequest(config.ControlSocketPath(), "status", 5);
  if (!reply.ok()) {
    std::cerr << "refinery: " << reply.status().message() << "\n";
    return kExitUnavailable;
  }
  if (as_json) {
    std::cout << *reply << "\n";
    return kExitOk;
  }
  auto parsed = nlohmann::json::parse(*reply, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object() || !parsed.contains("services")) {
    std::cerr << "refinery: unexpected reply from the supervisor: " << *reply << "\n";
    return kExitFailure;
  }
  PrintTable(parsed["services"]);
  return kExitOk;
}

}  // namespace

void AddStatus(CLI::App& app, const GlobalFlags& flags, int* code) {
  auto* cmd = app.add_subcommand("status", "Show the services of the running `refinery up`");
  auto as_json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *as_json, "Print the supervisor's JSON reply");
  cmd->callback([&flags, code, as_json] {
    auto config = LoadEffectiveConfig(flags, "status");
    if (!config) {
      *code = kExitUsage;
      return;
    }
    *code = RunStatus(*config, *as_json);
  });
}

}  // namespace refinery::cli
