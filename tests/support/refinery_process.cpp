#include "support/refinery_process.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/http_client.h"
#include "support/process_util.h"

namespace refinery::testing {
namespace {

Subprocess SpawnUp(const std::string& data_dir, int port, std::map<std::string, std::string> env) {
  env["REFINERY_DATA_DIR"] = data_dir;
  auto spawned = Subprocess::Spawn({REFINERY_BINARY, "up", "--port", std::to_string(port)}, env, data_dir + "/up.log");
  if (!spawned.ok()) throw std::runtime_error("spawn refinery up: " + spawned.status().ToString());
  return std::move(spawned).value();
}

nlohmann::json ParseOrThrow(const Result<HttpResponse>& response, long* status) {
  if (!response.ok()) throw std::runtime_error(response.status().ToString());
  if (status != nullptr) *status = response->status;
  return nlohmann::json::parse(response->body);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string Tail(const std::string& text) { return text.size() > 6000 ? text.substr(text.size() - 6000) : text; }

}  // namespace

RefineryUp::RefineryUp(const std::string& data_dir, std::map<std::string, std::string> env, int port)
    : data_dir_(data_dir),
      port_(port != 0 ? port : FreePort()),
      process_(SpawnUp(data_dir, port_, std::move(env))) {
  process_.set_stop_grace(std::chrono::seconds(15));
}

RefineryUp::~RefineryUp() = default;

std::string RefineryUp::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

// Workers start only once the API is ready (depends_on), so /health alone
// can answer 200 before they run.
bool RefineryUp::WaitHealthy(std::chrono::milliseconds timeout) {
  return WaitUntil(
      [&] {
        auto response = HttpGet(url("/health"), 2);
        return response.ok() && response->status == 200 && AllServicesStarted();
      },
      timeout, std::chrono::milliseconds(100));
}

bool RefineryUp::AllServicesStarted() const {
  int code = 0;
  auto parsed = nlohmann::json::parse(Cli({"status", "--json"}, &code), nullptr, false);
  if (code != 0 || !parsed.is_object() || !parsed["services"].is_array()) return false;
  for (const auto& service : parsed["services"]) {
    const std::string state = service.value("state", "");
    if (state == "starting" || state == "waiting") return false;
  }
  return true;
}

nlohmann::json RefineryUp::Get(const std::string& path, long* status) const {
  return ParseOrThrow(HttpGet(url(path), 30), status);
}

bool HasLine(const std::string& text, const std::string& line) {
  std::istringstream lines(text);
  for (std::string l; std::getline(lines, l);) {
    if (l == line) return true;
  }
  return false;
}

std::string RefineryUp::GetText(const std::string& path, long* status) const {
  auto response = HttpGet(url(path), 30);
  if (!response.ok()) throw std::runtime_error(response.status().ToString());
  if (status != nullptr) *status = response->status;
  return response->body;
}

nlohmann::json RefineryUp::Post(const std::string& path, const nlohmann::json& body, long* status) const {
  return ParseOrThrow(HttpPostJson(url(path), body.dump(), 30), status);
}

std::string RefineryUp::Log() const {
  std::string log = Tail(ReadAll(data_dir_ + "/up.log"));
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir_ + "/logs", ec)) {
    log += "\n--- " + entry.path().filename().string() + "\n" + Tail(ReadAll(entry.path().string()));
  }
  return log;
}

CliRun RunRefinery(const std::string& scratch_dir, const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv = {REFINERY_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string out = scratch_dir + "/cli.out";
  std::filesystem::remove(out);
  auto spawned = Subprocess::Spawn(argv, env, out);
  if (!spawned.ok()) throw std::runtime_error("spawn refinery: " + spawned.status().ToString());
  ExitStatus status = spawned->Wait();
  return {status.signal != 0 ? 128 + status.signal : status.code, ReadAll(out)};
}

std::string RefineryUp::Cli(const std::vector<std::string>& args, int* exit_code) const {
  std::vector<std::string> with_dir = {"--data-dir", data_dir_};
  with_dir.insert(with_dir.end(), args.begin(), args.end());
  CliRun run = RunRefinery(data_dir_, with_dir);
  if (exit_code != nullptr) *exit_code = run.code;
  return run.output;
}

static nlohmann::json FindService(const RefineryUp& up, const std::string& name) {
  int code = 0;
  std::string reply = up.Cli({"status", "--json"}, &code);
  auto parsed = nlohmann::json::parse(reply, nullptr, false);
  if (code != 0 || !parsed.is_object()) return nlohmann::json::object();
  for (const auto& service : parsed["services"]) {
    if (service.value("name", "") == name) return service;
  }
  return nlohmann::json::object();
}

pid_t RefineryUp::ServicePid(const std::string& name) const { return FindService(*this, name).value("pid", 0); }

std::string RefineryUp::ServiceStateOf(const std::string& name) const {
  return FindService(*this, name).value("state", "");
}

}  // namespace refinery::testing
