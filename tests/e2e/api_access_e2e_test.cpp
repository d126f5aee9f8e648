// Access through `refinery up`: API keys never reach a log, and a second
// instance started on a port another instance holds does not take that
// instance's readiness for its own API's (which would start its workers
// against an API it does not run). Two guards hold that: the API refuses a
// port in use (no SO_REUSEPORT, which let the old server share it), and the
// supervisor counts only answers naming its own child (X-Refinery-Pid;
// tests/supervisor/health_probe_integration_test.cpp shows that one alone,
// for the window before our child binds).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/http_client.h"
#include "support/refinery_process.h"
#include "support/test_support.h"

namespace refinery::testing {
namespace {

using std::chrono::seconds;

// Every file under `dir` (logs, up.log, cli output), concatenated.
std::string EverythingWritten(const std::string& dir) {
  std::string all;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = entry.path().filename().string();
    if (name.ends_with(".log") || name.ends_with(".out") || name.find(".log.") != std::string::npos) {
      std::ifstream in(entry.path());
      std::ostringstream text;
      text << in.rdbuf();
      all += text.str();
    }
  }
  return all;
}

HttpResponse Call(const RefineryUp& up, const std::string& method, const std::string& path, const std::string& key,
                  const std::string& body = "") {
  HttpRequest request;
  request.method = method;
  request.url = up.url(path);
  request.body = body;
  if (!body.empty()) request.headers["Content-Type"] = "application/json";
  if (!key.empty()) request.headers["X-API-Key"] = key;
  auto response = HttpCall(request);
  if (!response.ok()) throw std::runtime_error(response.status().ToString());
  return *response;
}

TEST(ApiAccessE2E, KeysNeverAppearInAnyLog) {
  TempDir dir;
  const std::string full = "full-8f3a1c9e2b7d";
  const std::string read = "read-5e0b2d4f6a81";
  const std::string wrong = "wrong-c7e91f03ab44";
  RefineryUp up(dir.path(), {{"API_KEYS", full}, {"REFINERY_READ_API_KEYS", read}, {"REFINERY_LOG_LEVEL", "debug"}});
  ASSERT_TRUE(up.WaitHealthy(seconds(30))) << up.Log();
  EXPECT_EQ(Call(up, "POST", "/ingest", full, R"({"title": "t", "content": "some text to index"})").status, 201);
  EXPECT_EQ(Call(up, "GET", "/stats", read).status, 200);
  EXPECT_EQ(Call(up, "POST", "/ingest", read, R"({"title": "u", "content": "refused"})").status, 403);
  EXPECT_EQ(Call(up, "GET", "/stats", wrong).status, 401);
  EXPECT_EQ(Call(up, "GET", "/stats", "").status, 401);
  EXPECT_EQ(Call(up, "GET", "/health", "").status, 200);
  int code = 0;
  up.Cli({"doctor"}, &code);  // with its own logging
  const std::string written = EverythingWritten(dir.path());
  ASSERT_FALSE(written.empty());
  EXPECT_NE(written.find("API keys on (1 full, 1 read-only)"), std::string::npos) << up.Log();
  for (const std::string& key : {full, read, wrong}) {
    EXPECT_EQ(written.find(key), std::string::npos) << "a key in the logs: " << key;
  }
}

TEST(ApiAccessE2E, AnotherInstanceOnThePortIsNotTakenForOurApi) {
  TempDir first_dir;
  RefineryUp first(first_dir.path());
  ASSERT_TRUE(first.WaitHealthy(seconds(30))) << first.Log();

  TempDir second_dir;
  RefineryUp second(second_dir.path(), {}, first.port());
  // The second API cannot bind the port; the first answers its probes, but
  // not as the second's child. Long enough for 20 readiness probes (every
  // 0.25 s) and a few restarts of the second API.
  std::this_thread::sleep_for(seconds(5));
  int code = 0;
  auto status = nlohmann::json::parse(second.Cli({"status", "--json"}, &code), nullptr, false);
  ASSERT_EQ(code, 0);
  ASSERT_TRUE(status.is_object());
  int workers = 0;
  for (const auto& service : status["services"]) {
    const std::string name = service.value("name", "");
    if (name == "api") continue;
    ++workers;
    EXPECT_EQ(service.value("state", ""), "waiting") << service.dump() << "\n" << second.Log();
    EXPECT_EQ(service.value("pid", 0), 0) << service.dump();
  }
  EXPECT_GT(workers, 0);
  EXPECT_NE(second.Log().find("cannot bind"), std::string::npos) << second.Log();
  // The first instance was not disturbed.
  auto live = HttpGet(first.url("/health/ready"), 5);
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(live->status, 200);
}

}  // namespace
}  // namespace refinery::testing
