#include "cli/cli.h"

#include <sys/stat.h>

#include <cctype>

#include <cstdlib>
#include <iostream>

#include "core/log.h"

namespace refinery::cli {

const std::vector<Command>& Commands() {
  static const std::vector<Command> kCommands = {
      {"up", "Run the API and one worker per stage, supervised", AddUp},
      {"api", "Serve the HTTP API", AddApi},
      {"worker", "Run one stage's worker loop", AddWorker},
      {"ingest", "Ingest .txt/.md/.jsonl files, a directory tree, or stdin (-)", AddIngest},
      {"crawl", "Crawl a web site: pages to documents, politely (needs `refinery up`)", AddCrawl},
      {"search", "Search the knowledge base", AddSearch},
      {"extract", "Run the evaluator and extractors on text, storing nothing", AddExtract},
      {"profile", "Check a domain profile, or list the built-in ones", AddProfile},
      {"entities", "List entities of the knowledge base", AddEntities},
      {"dtc", "Show a trouble code: description, causes, steps, sensors, conflicts", AddDtc},
      {"stats", "Show document, chunk and queue counts", AddStats},
      {"doctor", "Check services, API, database, queues and pipeline; exit 1 if unhealthy", AddDoctor},
      {"migrate", "Create or upgrade the database schema", AddMigrate},
      {"reembed", "Re-embed, through the queue, documents another embedding model embedded", AddReembed},
      {"pull", "Pull the configured Ollama models the servers lack, with progress", AddPull},
      {"status", "Show the services of the running `refinery up`", AddStatus},
      {"stop", "Stop a service (it stays stopped until started)", AddStop},
      {"start", "Start a stopped service", AddStart},
      {"restart", "Restart a service", AddRestart},
      {"logs", "Print a service's log file", AddLogs},
      {"version", "Print the version", AddVersion},
  };
  return kCommands;
}

CLI::Validator ServiceNameValidator() {
  return CLI::Validator(
      [](std::string& name) -> std::string {
        bool ok = !name.empty() && name.size() <= 64 && name.find("..") == std::string::npos && name[0] != '.';
        for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
        return ok ? "" : "not a service name (letters, digits, '-', '_', '.'; e.g. api, worker-chunk)";
      },
      "SERVICE");
}

std::optional<Config> LoadEffectiveConfig(const GlobalFlags& flags, const std::string& service) {
  if (flags.config_path) setenv("REFINERY_CONFIG", flags.config_path->c_str(), 1);
  auto loaded = LoadConfig();
  if (!loaded.ok()) {
    std::cerr << "refinery: " << loaded.status().message() << "\n";
    return std::nullopt;
  }
  Config config = *loaded;
  if (flags.data_dir) config.data_dir = *flags.data_dir;
  if (flags.log_level) config.log_level = *flags.log_level;
  Status valid = ValidateConfig(config);
  if (!valid.ok()) {
    std::cerr << "refinery: " << valid.message() << "\n";
    return std::nullopt;
  }
  InitLogging(service, config.log_level, config.log_format);
  return config;
}

int Main(int argc, char** argv) {
  // Every file and folder Refinery creates (database, queue, blobs, logs,
  // the control socket) is the user's alone: 0600 / 0700. The documents
  // may be private; a shared machine must not make them world-readable.
  ::umask(077);
  CLI::App app{"refinery: turns raw sources into a trusted, searchable knowledge base"};
  app.require_subcommand(1);
  GlobalFlags flags;
  app.add_option("--data-dir", flags.data_dir, "Data directory of the embedded backends (REFINERY_DATA_DIR)");
  app.add_option("--config", flags.config_path, "refinery.toml to read (REFINERY_CONFIG)");
  app.add_option("--log-level", flags.log_level, "trace|debug|info|warn|error|off (REFINERY_LOG_LEVEL)");
  int exit_code = kExitOk;
  for (const auto& command : Commands()) command.add(app, flags, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  return exit_code;
}

}  // namespace refinery::cli
