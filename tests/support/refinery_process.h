// A real `refinery up` (or other subcommand) child process for end-to-end tests.
#pragma once

#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "supervisor/supervisor.h"

namespace refinery::testing {

class RefineryUp {
 public:
  // Starts `refinery up --port <free port>` with REFINERY_DATA_DIR=data_dir
  // and `env` on top; its output goes to data_dir/up.log. Throws on failure.
  RefineryUp(const std::string& data_dir, std::map<std::string, std::string> env = {});
  ~RefineryUp();  // SIGTERM, grace, SIGKILL

  std::string url(const std::string& path) const;
  pid_t pid() const { return process_.pid(); }
  // Until GET /health answers 200.
  bool WaitHealthy(std::chrono::milliseconds timeout);
  // JSON requests; throw on transport errors. `status` receives the HTTP status.
  nlohmann::json Get(const std::string& path, long* status = nullptr) const;
  nlohmann::json Post(const std::string& path, const nlohmann::json& body, long* status = nullptr) const;
  // The supervisor's log, for failure messages.
  std::string Log() const;

 private:
  std::string data_dir_;
  int port_;
  Subprocess process_;
};

}  // namespace refinery::testing
