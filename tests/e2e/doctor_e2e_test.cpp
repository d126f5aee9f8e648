// `refinery doctor` against a real `refinery up`: every section healthy, then
// with the API stopped (SIGSTOP) and with everything stopped.
#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <memory>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pipeline/stage_chain.h"
#include "support/process_util.h"
#include "support/refinery_process.h"
#include "support/test_support.h"

namespace refinery::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

struct DoctorRun {
  int exit_code = -1;
  std::string out;  // stdout only: logs go to stderr
};

DoctorRun RunDoctor(const std::string& data_dir, int port, const std::string& extra) {
  std::string command = std::string("'") + REFINERY_BINARY + "' --data-dir '" + data_dir + "' doctor --port " +
                        std::to_string(port) + " --timeout 1 " + extra + " 2>/dev/null";
  DoctorRun run;
  std::unique_ptr<FILE, decltype(&pclose)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) return run;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe.get())) > 0;) run.out.append(buffer, n);
  int status = pclose(pipe.release());
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

json DoctorJson(const std::string& data_dir, int port, int* exit_code) {
  DoctorRun run = RunDoctor(data_dir, port, "--json");
  *exit_code = run.exit_code;
  json report = json::parse(run.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_TRUE(report.is_object()) << run.out;
  return report.is_object() ? report : json::object();
}

int PortOf(const RefineryUp& up) {
  std::string url = up.url("");
  return std::stoi(url.substr(url.rfind(':') + 1));
}

bool HasProcess(const json& services, const std::string& role, const std::string& stage) {
  for (const json& p : services.value("processes", json::array())) {
    if (p.value("role", "") == role && p.value("stage", "") == stage && p.value("status", "") == "ok") return true;
  }
  return false;
}

class DoctorEndToEnd : public ::testing::Test {
 protected:
  void StartAndIngest() {
    up_ = std::make_unique<RefineryUp>(dir_.path());
    ASSERT_TRUE(up_->WaitHealthy(seconds(30))) << up_->Log();
    for (int i = 0; i < 3; ++i) {
      up_->Post("/ingest", {{"title", "doc " + std::to_string(i)},
                            {"content", "Doctor test document number " + std::to_string(i) + ". It has text."}});
    }
    ASSERT_TRUE(
        WaitUntil([&] { return up_->Get("/stats")["documents_by_stage"].value("complete", 0) == 3; }, seconds(60)))
        << up_->Log();
    // Services report health "starting" (a warning) until their first probes pass.
    ASSERT_TRUE(WaitUntil(
        [&] {
          return RunDoctor(dir_.path(), PortOf(*up_), "--json").exit_code == 0 &&
                 RunDoctor(dir_.path(), PortOf(*up_), "").out.find("[WARN]") == std::string::npos;
        },
        seconds(30), std::chrono::milliseconds(500)))
        << RunDoctor(dir_.path(), PortOf(*up_), "").out;
  }

  TempDir dir_;
  std::unique_ptr<RefineryUp> up_;
};

TEST_F(DoctorEndToEnd, HealthySystemPassesEverySection) {
  StartAndIngest();
  int code = -1;
  json report = DoctorJson(dir_.path(), PortOf(*up_), &code);
  EXPECT_EQ(code, 0) << report.dump(2);
  EXPECT_EQ(report.value("healthy", false), true);
  const json& s = report["sections"];
  for (const char* name : {"services", "api", "database", "queue", "llm", "pipeline"}) {
    ASSERT_TRUE(s.contains(name)) << name;
    EXPECT_EQ(s[name].value("status", ""), "ok") << name << ": " << s[name].dump(2);
  }
  EXPECT_EQ(s["services"].value("source", ""), "supervisor");
  EXPECT_EQ(s["services"]["services"].size(), 1 + WorkerStages().size()) << s["services"].dump(2);
  EXPECT_TRUE(HasProcess(s["services"], "up", ""));
  EXPECT_TRUE(HasProcess(s["services"], "api", ""));
  EXPECT_TRUE(HasProcess(s["services"], "worker", "chunk"));
  EXPECT_TRUE(HasProcess(s["services"], "worker", "embed"));
  EXPECT_EQ(s["api"]["live"].value("status", 0), 200);
  EXPECT_EQ(s["api"]["health"].value("status", 0), 200);
  EXPECT_EQ(s["database"].value("journal_mode", ""), "wal");
  EXPECT_GT(s["database"].value("size_bytes", 0), 0);
  EXPECT_EQ(s["queue"]["depths"]["chunk"].value("dead", -1), 0);
  EXPECT_EQ(s["queue"]["depths"]["embed"].value("ready", -1), 0);
  EXPECT_NE(s["llm"]["checks"][0].value("message", "").find("no server configured"), std::string::npos);
  EXPECT_EQ(s["pipeline"]["documents_by_stage"].value("complete", 0), 3);
  EXPECT_EQ(s["pipeline"].value("completed_last_5_min", 0), 3);
  EXPECT_TRUE(s["pipeline"]["recent_errors"].empty());

  DoctorRun text = RunDoctor(dir_.path(), PortOf(*up_), "");
  EXPECT_EQ(text.exit_code, 0) << text.out;
  std::istringstream lines(text.out);
  std::multiset<std::string> headers;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("== ", 0) == 0) headers.insert(line);
  }
  EXPECT_EQ(headers.size(), 6u) << text.out;
  for (const char* title : {"Services", "API", "Database", "Queue", "LLM services", "Pipeline"}) {
    EXPECT_EQ(headers.count(std::string("== ") + title + " [ OK ]"), 1u) << title << "\n" << text.out;
  }
}

TEST_F(DoctorEndToEnd, StoppedApiFailsTheApiSectionAndExitsNonZero) {
  StartAndIngest();
  auto api = ChildPids(up_->pid(), " api ");
  ASSERT_EQ(api.size(), 1u) << up_->Log();
  ASSERT_EQ(kill(api[0], SIGSTOP), 0);
  int code = -1;
  json report = DoctorJson(dir_.path(), PortOf(*up_), &code);
  DoctorRun text = RunDoctor(dir_.path(), PortOf(*up_), "");
  kill(api[0], SIGCONT);  // let the supervisor stop it cleanly
  EXPECT_EQ(code, 1) << report.dump(2);
  EXPECT_EQ(report.value("healthy", true), false);
  const json& s = report["sections"];
  EXPECT_EQ(s["api"].value("status", ""), "fail") << s["api"].dump(2);
  EXPECT_EQ(s["services"].value("status", ""), "fail") << s["services"].dump(2);
  EXPECT_EQ(s["database"].value("status", ""), "ok");
  EXPECT_EQ(s["pipeline"]["documents_by_stage"].value("complete", 0), 3);
  EXPECT_NE(text.exit_code, 0);
  EXPECT_NE(text.out.find("== API [FAIL]"), std::string::npos) << text.out;
}

TEST_F(DoctorEndToEnd, NothingRunningFailsServicesAndApiButReadsTheData) {
  StartAndIngest();
  int port = PortOf(*up_);
  up_.reset();  // SIGTERM the supervisor and its children
  int code = -1;
  json report = DoctorJson(dir_.path(), port, &code);
  EXPECT_EQ(code, 1) << report.dump(2);
  const json& s = report["sections"];
  EXPECT_EQ(s["services"].value("status", ""), "fail");
  EXPECT_FALSE(HasProcess(s["services"], "api", ""));
  EXPECT_EQ(s["api"].value("status", ""), "fail");
  EXPECT_EQ(s["api"]["live"].value("reachable", true), false);
  EXPECT_EQ(s["database"].value("status", ""), "ok");
  EXPECT_EQ(s["queue"].value("status", ""), "ok");
  EXPECT_EQ(s["pipeline"]["documents_by_stage"].value("complete", 0), 3);
}

}  // namespace
}  // namespace refinery::testing
