// `refinery up` never kills a busy API: the supervisor's liveness probe
// (GET /health/live on a new connection, 1 s timeout, 3 failures kill) is
// answered on the API's event loop, so it stays true while hundreds of
// idle connections are held open and 64 keep-alive clients hammer /stats
// and /health -- the load under which the thread-per-connection server
// failed its probes and was killed twice in 15 s (issue 10).
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/http_client.h"
#include "support/process_util.h"
#include "support/raw_http.h"
#include "support/refinery_process.h"
#include "support/test_support.h"

namespace refinery::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(SupervisorUnderLoad, BusyApiIsNeverKilledAndItsProbesStayTrue) {
  TempDir dir;
  RefineryUp up(dir.path());
  ASSERT_TRUE(up.WaitHealthy(seconds(30))) << up.Log();
  const pid_t api = up.ServicePid("api");
  ASSERT_GT(api, 0);

  // Held open and silent, as a slowloris or a proxy's idle pool would.
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 300; ++i) idle.push_back(std::make_unique<RawConnection>(up.port()));

  std::atomic<bool> stop{false};
  std::atomic<int64_t> answered{0};
  std::atomic<int64_t> failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 64; ++c) {
    clients.emplace_back([&, c] {
      HttpSession session(/*max_idle=*/1);  // one keep-alive connection per client
      HttpRequest request;
      request.url = up.url(c % 2 == 0 ? "/stats" : "/health");
      request.timeout_s = 10;
      while (!stop.load()) {
        auto response = session.Call(request);
        ++(response.ok() && response->status == 200 ? answered : failed);
      }
    });
  }
  // Longer than the supervisor needs to kill a starved API (3 probes, 1 s apart).
  int probes = 0;
  int probes_ok = 0;
  for (auto end = Clock::now() + seconds(8); Clock::now() < end; ++probes) {
    auto live = HttpGet(up.url("/health/live"), /*timeout_s=*/1);
    if (live.ok() && live->status == 200) ++probes_ok;
    std::this_thread::sleep_for(milliseconds(250));
  }
  stop = true;
  for (auto& client : clients) client.join();

  EXPECT_EQ(probes_ok, probes) << "liveness probes failed under load";
  EXPECT_EQ(failed.load(), 0) << answered.load() << " answered";
  EXPECT_GT(answered.load(), 0);
  EXPECT_EQ(up.ServicePid("api"), api) << up.Log();
  int code = 0;
  auto status = nlohmann::json::parse(up.Cli({"status", "--json"}, &code), nullptr, false);
  ASSERT_EQ(code, 0);
  ASSERT_TRUE(status.is_object());
  for (const auto& service : status["services"]) {
    if (service.value("name", "") == "api") {
      EXPECT_EQ(service.value("restarts", -1), 0) << service;
    }
  }
  EXPECT_EQ(up.Log().find("is unhealthy"), std::string::npos) << up.Log();
}

}  // namespace
}  // namespace refinery::testing
