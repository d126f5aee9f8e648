// A real `refinery up` (or other subcommand) child process for end-to-end tests.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "supervisor/supervisor.h"

namespace refinery::testing {

struct CliRun {
  int code = -1;       // exit code; 128 + signal when killed
  std::string output;  // stdout and stderr, interleaved
};
// Runs `refinery args...` to completion with `env` on top of the
// environment; its output goes through scratch_dir/cli.out.
CliRun RunRefinery(const std::string& scratch_dir, const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env = {});

// Whether `text` holds `line` as a whole line (a /metrics sample).
bool HasLine(const std::string& text, const std::string& line);

class RefineryUp {
 public:
  // Starts `refinery up --port <free port>` with REFINERY_DATA_DIR=data_dir
  // and `env` on top; its output goes to data_dir/up.log. Throws on failure.
  // `port` 0: a free one.
  RefineryUp(const std::string& data_dir, std::map<std::string, std::string> env = {}, int port = 0);
  ~RefineryUp();  // SIGTERM, grace, SIGKILL

  std::string url(const std::string& path) const;
  int port() const { return port_; }  // the API's
  pid_t pid() const { return process_.pid(); }
  // Until GET /health answers 200 and every service has left the
  // starting/waiting states (workers wait for the API to be ready).
  bool WaitHealthy(std::chrono::milliseconds timeout);
  bool AllServicesStarted() const;
  // JSON requests; throw on transport errors. `status` receives the HTTP status.
  nlohmann::json Get(const std::string& path, long* status = nullptr) const;
  nlohmann::json Post(const std::string& path, const nlohmann::json& body, long* status = nullptr) const;
  // The body as it came (/metrics is Prometheus text); throws as Get.
  std::string GetText(const std::string& path, long* status = nullptr) const;
  // The supervisor's log and the tail of each service's log file, for
  // failure messages and for checks on what a service logged.
  std::string Log() const;
  // Runs `refinery --data-dir <data_dir> args...` to completion; returns its
  // stdout+stderr and stores its exit code in `*exit_code` if given.
  std::string Cli(const std::vector<std::string>& args, int* exit_code = nullptr) const;
  // The pid of service `name` per `refinery status --json`; 0 if none.
  pid_t ServicePid(const std::string& name) const;
  // The "state" of service `name` per `refinery status --json`.
  std::string ServiceStateOf(const std::string& name) const;

 private:
  std::string data_dir_;
  int port_;
  Subprocess process_;
};

}  // namespace refinery::testing
