#include "support/refinery_process.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/http_client.h"
#include "support/process_util.h"

namespace refinery::testing {
namespace {

Subprocess SpawnUp(const std::string& data_dir, int port, std::map<std::string, std::string> env) {
  env["REFINERY_DATA_DIR"] = data_dir;
  auto spawned = Subprocess::Spawn({REFINERY_BINARY, "up", "--port", std::to_string(port)}, env,
                                   data_dir + "/up.log");
  if (!spawned.ok()) throw std::runtime_error("spawn refinery up: " + spawned.status().ToString());
  return std::move(spawned).value();
}

nlohmann::json ParseOrThrow(const Result<HttpResponse>& response, long* status) {
  if (!response.ok()) throw std::runtime_error(response.status().ToString());
  if (status != nullptr) *status = response->status;
  return nlohmann::json::parse(response->body);
}

}  // namespace

RefineryUp::RefineryUp(const std::string& data_dir, std::map<std::string, std::string> env)
    : data_dir_(data_dir), port_(FreePort()), process_(SpawnUp(data_dir, port_, std::move(env))) {
  process_.set_stop_grace(std::chrono::seconds(15));
}

RefineryUp::~RefineryUp() = default;

std::string RefineryUp::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

bool RefineryUp::WaitHealthy(std::chrono::milliseconds timeout) {
  return WaitUntil(
      [&] {
        auto response = HttpGet(url("/health"), 2);
        return response.ok() && response->status == 200;
      },
      timeout, std::chrono::milliseconds(100));
}

nlohmann::json RefineryUp::Get(const std::string& path, long* status) const {
  return ParseOrThrow(HttpGet(url(path), 30), status);
}

nlohmann::json RefineryUp::Post(const std::string& path, const nlohmann::json& body, long* status) const {
  return ParseOrThrow(HttpPostJson(url(path), body.dump(), 30), status);
}

std::string RefineryUp::Log() const {
  std::ifstream in(data_dir_ + "/up.log");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::string log = buffer.str();
  return log.size() > 6000 ? log.substr(log.size() - 6000) : log;
}

}  // namespace refinery::testing
