// Ingest benchmark on the embedded default: `refinery up` on a fresh data
// dir, then `refinery ingest corpus.jsonl --wait` with every SciFact abstract
// (5,183), timed until all are complete (through every stage of the
// chain). Prints documents/s end to end, each stage's summed job time from
// /metrics and the peak RSS of each process involved.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "core/http_client.h"
#include "supervisor/supervisor.h"

using namespace refinery;

namespace {

// VmHWM (peak resident set) of a live process, in MiB; -1 if unknown.
double PeakRssMiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return -1;
}

// User + system CPU time a live process has used, in seconds; -1 if unknown.
double CpuSeconds(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  auto paren = text.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(text.substr(paren + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::vector<std::pair<std::string, pid_t>> Children(pid_t parent) {
  std::vector<std::pair<std::string, pid_t>> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    auto paren = text.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream fields(text.substr(paren + 2));
    std::string state;
    pid_t ppid = 0;
    fields >> state >> ppid;
    if (ppid != parent) continue;
    std::ifstream cmd(entry.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(cmd)), {});
    for (char& c : cmdline)
      if (c == '\0') c = ' ';
    out.emplace_back(cmdline, std::stoi(name));
  }
  return out;
}

// Per stage, from /metrics: completed jobs and the seconds they took in
// all (refinery_stage_duration_seconds_{count,sum}, outcome="completed").
void PrintStageTimes(int port) {
  auto metrics = HttpGet("http://127.0.0.1:" + std::to_string(port) + "/metrics", 10);
  if (!metrics.ok() || metrics->status != 200) {
    std::printf("per-stage time: /metrics unavailable\n");
    return;
  }
  std::istringstream lines(metrics->body);
  for (std::string line; std::getline(lines, line);) {
    for (const char* series : {"refinery_stage_duration_seconds_sum{", "refinery_stage_duration_seconds_count{"}) {
      if (line.rfind(series, 0) == 0 && line.find("outcome=\"completed\"") != std::string::npos) {
        std::printf("per-stage: %s\n", line.c_str());
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string corpus = argc > 1 ? argv[1] : std::string(REFINERY_SCIFACT_DIR) + "/corpus.jsonl";
  std::string dir = std::filesystem::temp_directory_path() / ("refinery-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  int port = 18000 + getpid() % 1000;
  std::map<std::string, std::string> env = {{"REFINERY_DATA_DIR", dir}, {"REFINERY_LOG_LEVEL", "warn"}};
  auto up = Subprocess::Spawn({REFINERY_BINARY, "up", "--port", std::to_string(port)}, env, dir + "/up.log");
  if (!up.ok()) {
    std::cerr << up.status().ToString() << "\n";
    return 1;
  }
  for (int i = 0; i < 200; ++i) {
    auto health = HttpGet("http://127.0.0.1:" + std::to_string(port) + "/health", 1);
    if (health.ok() && health->status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto started = std::chrono::steady_clock::now();
  auto ingest = Subprocess::Spawn({REFINERY_BINARY, "ingest", corpus, "--wait"}, env);
  if (!ingest.ok()) {
    std::cerr << ingest.status().ToString() << "\n";
    return 1;
  }
  ExitStatus result = ingest->Wait();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);  // the reaped ingest CLI
  std::ifstream in(corpus);
  size_t docs = 0;
  for (std::string line; std::getline(in, line);) docs += !line.empty();
  std::printf("ingest_bench: %zu documents to complete in %.2f s = %.0f documents/s (ingest exit %s)\n", docs, seconds,
              docs / seconds, result.ToString().c_str());
  const double ingest_cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  std::printf("peak RSS: ingest CLI %.1f MiB, CPU %.1f s\n", usage.ru_maxrss / 1024.0, ingest_cpu);
  PrintStageTimes(port);
  for (const auto& [cmd, pid] : Children(up->pid())) {
    std::printf("peak RSS: %.1f MiB, CPU %.1f s  %s\n", PeakRssMiB(pid), CpuSeconds(pid), cmd.c_str());
  }
  std::printf("peak RSS: supervisor %.1f MiB\n", PeakRssMiB(up->pid()));
  up->Terminate(std::chrono::seconds(10));
  std::filesystem::remove_all(dir);
  return result.success() ? 0 : 1;
}
