// `refinery doctor [--json]`: runs the checks of doctor.h and prints them.
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/cli.h"
#include "cli/doctor.h"

namespace refinery::cli {
namespace {

struct DoctorFlags {
  std::optional<std::string> host;
  std::optional<int> port;
  double timeout_s = 2;
  bool json = false;
};

// Opens the backends without migrating (the doctor only looks). A missing
// SQLite file is reported, not created.
void OpenBackends(DoctorContext& ctx) {
  const Config& c = ctx.config;
  if (c.database_url.empty() && !std::filesystem::exists(c.SqlitePath())) {
    ctx.open_error = "no database at " + c.SqlitePath();
    return;
  }
  auto services = OpenServices(c, OpenMode::kReadOnly);
  if (!services.ok()) {
    ctx.open_error = services.status().ToString();
    return;
  }
  ctx.services = std::move(services).value();
}

int RunDoctorCommand(const Config& config, const DoctorFlags& flags) {
  DoctorContext ctx;
  ctx.config = config;
  // 0.0.0.0 / :: listen everywhere; probe them over loopback.
  std::string host = flags.host.value_or(config.host);
  if (host == "0.0.0.0" || host == "::") host = "127.0.0.1";
  ctx.api_base = "http://" + host + ":" + std::to_string(flags.port.value_or(config.port));
  ctx.timeout_s = flags.timeout_s;
  OpenBackends(ctx);
  std::vector<DoctorSection> sections = RunDoctor(ctx);
  if (flags.json) {
    std::cout << RenderDoctorJson(sections).dump(2) << "\n";
  } else {
    std::cout << RenderDoctorText(sections);
  }
  return Healthy(sections) ? kExitOk : kExitFailure;
}

}  // namespace

void AddDoctor(CLI::App& app, const GlobalFlags& flags, int* code) {
  auto* cmd = app.add_subcommand("doctor", "Check services, API, database, queues, LLM services and pipeline");
  // Global flags may follow `doctor` too, so the wrapper script can pass them on.
  cmd->fallthrough();
  auto doctor = std::make_shared<DoctorFlags>();
  cmd->add_option("--host", doctor->host, "API host to probe (REFINERY_HOST)");
  cmd->add_option("--port", doctor->port, "API port to probe (REFINERY_PORT)")->check(CLI::Range(1, 65535));
  cmd->add_option("--timeout", doctor->timeout_s, "Seconds per HTTP probe")->check(CLI::PositiveNumber);
  cmd->add_flag("--json", doctor->json, "Print one JSON object with the same sections");
  cmd->callback([&flags, code, doctor] {
    auto config = LoadEffectiveConfig(flags, "doctor");
    if (!config) {
      *code = kExitUsage;
      return;
    }
    *code = RunDoctorCommand(*config, *doctor);
  });
}

}  // namespace refinery::cli
