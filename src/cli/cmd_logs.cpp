// `refinery logs SERVICE [-f] [--tail N]`: a service's log file under
// <data_dir>/logs, written by the children of `refinery up`.
#include <atomic>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include "cli/cli.h"
#include "supervisor/supervisor.h"

namespace refinery::cli {
namespace {

// Prints the last `tail` lines (all when negative); returns the bytes read.
std::streamoff PrintTail(std::ifstream& in, int tail) {
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(std::move(line));
    if (tail >= 0 && lines.size() > static_cast<size_t>(tail)) lines.pop_front();
  }
  for (const auto& l : lines) std::cout << l << "\n";
  std::cout.flush();
  in.clear();
  return in.tellg();
}

// Prints what is appended to `path` until SIGINT/SIGTERM. A file that
// shrank was rotated (copy-truncate): read it again from the start.
void Follow(const std::string& path, std::streamoff offset) {
  std::atomic<bool> stop{false};
  StopSignals signals(stop);
  while (!stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::ifstream in(path, std::ios::binary);
    if (!in) continue;
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    if (size < offset) offset = 0;
    if (size == offset) continue;
    in.seekg(offset);
    std::string chunk(static_cast<size_t>(size - offset), '\0');
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    std::cout << chunk << std::flush;
    offset = size;
  }
}

// "; logs exist for: api, worker-chunk.1, ..." (replicas have one log each).
std::string KnownLogs(const Config& config) {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(config.LogDir(), ec)) {
    const std::string file = entry.path().filename().string();
    if (file.size() > 4 && file.ends_with(".log")) names.insert(file.substr(0, file.size() - 4));
  }
  std::string list;
  for (const auto& name : names) list += (list.empty() ? "; logs exist for: " : ", ") + name;
  return list;
}

int RunLogs(const Config& config, const std::string& service, bool follow, int tail) {
  const std::string path = config.LogPath(service);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "refinery: no log for service '" << service << "' (" << path << ")" << KnownLogs(config) << "\n";
    return kExitFailure;
  }
  const std::streamoff offset = PrintTail(in, tail);
  if (follow) Follow(path, offset);
  return kExitOk;
}

}  // namespace

void AddLogs(CLI::App& app, const GlobalFlags& flags, int* code) {
  auto* cmd = app.add_subcommand("logs", "Print a service's log file");
  auto service = std::make_shared<std::string>();
  auto follow = std::make_shared<bool>(false);
  auto tail = std::make_shared<int>(-1);
  cmd->add_option("service", *service, "api or worker-STAGE")->required()->check(ServiceNameValidator());
  cmd->add_flag("-f,--follow", *follow, "Keep printing what is appended (Ctrl-C ends)");
  cmd->add_option("-n,--tail", *tail, "Only the last N lines (default: all)")->check(CLI::Range(0, 100000000));
  cmd->callback([&flags, code, service, follow, tail] {
    auto config = LoadEffectiveConfig(flags, "logs");
    if (!config) {
      *code = kExitUsage;
      return;
    }
    *code = RunLogs(*config, *service, *follow, *tail);
  });
}

}  // namespace refinery::cli
