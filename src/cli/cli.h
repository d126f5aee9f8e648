// The `refinery` command line: one table of subcommands, each in its own file.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/config.h"
#include "pipeline/services.h"

namespace refinery::cli {

// Exit codes shared by every subcommand.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;      // the command ran and something failed (e.g. a document errored)
constexpr int kExitUsage = 2;        // bad flags, arguments or configuration
constexpr int kExitUnavailable = 3;  // a dependency could not be reached

// Flags every subcommand accepts; they override the environment and refinery.toml.
struct GlobalFlags {
  std::optional<std::string> data_dir;
  std::optional<std::string> config_path;
  std::optional<std::string> log_level;
};

// Loads the configuration and applies the global flags. On error prints one
// line naming the setting to stderr and returns nullopt (exit kExitUsage).
std::optional<Config> LoadEffectiveConfig(const GlobalFlags& flags, const std::string& service);
// Opens the backends for `service` or prints why not (one line); nullopt
// means "exit with *code".
std::optional<Services> OpenOrReport(const GlobalFlags& flags, const std::string& service, OpenMode mode, int* code);

// Checks a SERVICE argument (logs, stop, start, restart): letters, digits,
// '-', '_' and '.' but not "..", at most 64 bytes, as every service name
// (`api`, `worker-chunk.2`) is. Why: the name becomes a file name under the
// log folder and a word of the control socket's line protocol, so
// `logs ../../x` must not read outside the folder nor a newline add a command.
CLI::Validator ServiceNameValidator();

// One subcommand: `add` declares its options on `app` and sets a callback
// that stores its exit code in `*exit_code`.
struct Command {
  const char* name;
  const char* summary;
  void (*add)(CLI::App& app, const GlobalFlags& flags, int* exit_code);
};

const std::vector<Command>& Commands();

// The subcommands, one per file.
void AddUp(CLI::App&, const GlobalFlags&, int*);
void AddApi(CLI::App&, const GlobalFlags&, int*);
void AddWorker(CLI::App&, const GlobalFlags&, int*);
void AddIngest(CLI::App&, const GlobalFlags&, int*);
void AddSearch(CLI::App&, const GlobalFlags&, int*);
void AddCrawl(CLI::App&, const GlobalFlags&, int*);
void AddStats(CLI::App&, const GlobalFlags&, int*);
void AddDoctor(CLI::App&, const GlobalFlags&, int*);
void AddMigrate(CLI::App&, const GlobalFlags&, int*);
void AddReembed(CLI::App&, const GlobalFlags&, int*);
void AddPull(CLI::App&, const GlobalFlags&, int*);
void AddVersion(CLI::App&, const GlobalFlags&, int*);
void AddStatus(CLI::App&, const GlobalFlags&, int*);
void AddStop(CLI::App&, const GlobalFlags&, int*);
void AddStart(CLI::App&, const GlobalFlags&, int*);
void AddRestart(CLI::App&, const GlobalFlags&, int*);
void AddLogs(CLI::App&, const GlobalFlags&, int*);
void AddExtract(CLI::App&, const GlobalFlags&, int*);
void AddProfile(CLI::App&, const GlobalFlags&, int*);
void AddEntities(CLI::App&, const GlobalFlags&, int*);
void AddDtc(CLI::App&, const GlobalFlags&, int*);

// Runs the CLI; returns the process exit code.
int Main(int argc, char** argv);

}  // namespace refinery::cli
