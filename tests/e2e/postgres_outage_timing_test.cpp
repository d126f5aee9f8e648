// Issue 3's deadlines for a PostgreSQL outage, against a real `refinery api`:
// during a 5 s stop every request is answered (200 or 503) within 2 s, and
// once the server accepts connections again 200s return within 1 s. Kept
// apart from postgres_resilience_test (label e2e) because wall-clock bounds
// belong to the timing label: they need a machine that is not overloaded.
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>

#include <gtest/gtest.h>

#include "support/api_load.h"
#include "support/production_env.h"
#include "support/test_support.h"

namespace refinery::testing {
namespace {

using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

TEST(PostgresOutageTiming, OutageAnswersWithin2sAndRecoversWithin1s) {
  auto backends = ProductionBackends::Create();
  if (!backends) GTEST_SKIP() << "test servers not configured (scripts/test-services.sh)";
  TempDir dir;
  ApiProcess api(dir.path(), {{"DATABASE_URL", backends->database_url()}});
  ASSERT_TRUE(api.WaitHealthy(seconds(30))) << api.Log();
  auto ids = SeedDocuments(api, 50);
  OutageTimeline timeline;
  // The 5 s client timeout is above the 2 s bound, so a slow answer is
  // measured rather than cut off.
  LoadSpec spec{api.url(""), 16, 5, DatabaseReadMix(ids)};
  auto samples =
      RunLoad(spec, [&](Clock::time_point start) { timeline = RunPgOutage(backends->database_url(), 2, 5, 3, start); });
  if (!PgAcceptsConnections(backends->database_url())) PgCtl("start");  // never leave the cluster down
  ASSERT_TRUE(timeline.stop_ok && timeline.start_ok) << "pg_ctl failed";
  double max_latency = 0, first_ok_after_restart = -1;
  size_t late_not_ok = 0;
  for (const Sample& s : samples) {
    max_latency = std::max(max_latency, s.latency_s);
    double done = s.start_s + s.latency_s;
    if (s.status == 200 && s.start_s >= timeline.restarted_s &&
        (first_ok_after_restart < 0 || done < first_ok_after_restart)) {
      first_ok_after_restart = done;
    }
    // A request sent 1 s after recovery must not meet a stale connection.
    if (s.start_s > timeline.restarted_s + 1 && s.status != 200) ++late_not_ok;
  }
  std::cout << "[outage-timing] " << Summary(samples) << "; accepting at " << timeline.restarted_s
            << " s; first 200 after it at " << first_ok_after_restart << " s\n"
            << Slowest(samples) << std::flush;
  EXPECT_LE(max_latency, 2.0) << Slowest(samples);
  ASSERT_GE(first_ok_after_restart, 0) << "no 200 after PostgreSQL came back";
  EXPECT_LE(first_ok_after_restart - timeline.restarted_s, 1.0);
  EXPECT_EQ(late_not_ok, 0u) << Failures(samples);
}

}  // namespace
}  // namespace refinery::testing
