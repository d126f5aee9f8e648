// A full disk under the embedded default (issue 9): a 20 MB tmpfs is the data
// directory of a real `refinery up`, and a filler file takes its last byte
// while documents are in flight. While it is full, ingest answers 503, the
// API's /health and the doctor say which store cannot write, and no worker
// is killed (one paused by the outage keeps beating). Once space is freed,
// every accepted document completes (an outage is never a document's
// failure) and SQLite's integrity checks pass. REFINERY_FULL_DISK_HOLD_S
// (default 10) lengthens the outage. Needs root (mount); skipped otherwise.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "support/process_util.h"
#include "support/full_disk.h"
#include "support/raw_sqlite.h"
#include "support/refinery_process.h"
#include "support/test_support.h"

namespace refinery::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr const char* kTmpfsSize = "size=20m";
constexpr int64_t kMiB = 1 << 20;
constexpr seconds kHealthDeadline{15};  // for /health to notice the full disk
constexpr seconds kRecoveryDeadline{120};
const std::vector<std::string> kWorkers = {"worker-chunk", "worker-embed"};

// How long the disk stays full at least: REFINERY_FULL_DISK_HOLD_S, default
// 10 s (longer outages let restarts and counted attempts pile up).
seconds HoldFull() {
  const char* hold = std::getenv("REFINERY_FULL_DISK_HOLD_S");
  return seconds(hold != nullptr ? std::stoi(hold) : 10);
}

struct CliRun {
  int exit_code = -1;
  std::string out;  // stdout only
};

// Runs the refinery CLI with its output in a pipe: RefineryUp::Cli writes it
// to a file in the data directory, which a full disk would leave empty.
CliRun RunRefinery(const std::string& data_dir, const std::string& args) {
  std::string command = std::string("'") + REFINERY_BINARY + "' --data-dir '" + data_dir + "' " + args + " 2>/dev/null";
  CliRun run;
  std::unique_ptr<FILE, decltype(&pclose)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) return run;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe.get())) > 0;) run.out.append(buffer, n);
  int status = pclose(pipe.release());
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

json StatusJson(const std::string& data_dir) {
  return json::parse(RunRefinery(data_dir, "status --json").out, nullptr, /*allow_exceptions=*/false);
}

int PortOf(const RefineryUp& up) {
  std::string url = up.url("");
  return std::stoi(url.substr(url.rfind(':') + 1));
}

std::map<std::string, pid_t> WorkerPids(const json& status) {
  std::map<std::string, pid_t> pids;
  if (!status.is_object()) return pids;
  for (const json& service : status.value("services", json::array())) {
    const std::string name = service.value("name", "");
    if (std::find(kWorkers.begin(), kWorkers.end(), name) != kWorkers.end()) pids[name] = service.value("pid", 0);
  }
  return pids;
}

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

bool NamesFullDisk(const std::string& error) {
  const std::string text = Lower(error);
  return text.find("disk") != std::string::npos || text.find("full") != std::string::npos ||
         text.find("space") != std::string::npos;
}

// /health says the data directory cannot take writes: degraded, with the
// store, queue or blob store down for a reason that names the full disk.
bool HealthReportsFullDisk(long status, const json& health) {
  if (status != 503 || !health.is_object() || health.value("status", "") != "degraded") return false;
  const json components = health.value("components", json::object());
  for (const char* name : {"store", "queue", "blob_store"}) {
    if (!components.contains(name)) continue;
    const json& c = components[name];
    if (c.value("status", "") == "down" && NamesFullDisk(c.value("error", ""))) return true;
  }
  return false;
}

// Age and size of each heartbeat file (and of a leftover temp copy): a beat
// that stopped while the disk was full shows here.
std::string Heartbeats(const std::string& data_dir) {
  std::ostringstream out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir + "/run", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find(".heartbeat") == std::string::npos) continue;
    struct stat st {};
    if (::stat(entry.path().c_str(), &st) != 0) continue;
    const double mtime = static_cast<double>(st.st_mtim.tv_sec) + static_cast<double>(st.st_mtim.tv_nsec) * 1e-9;
    out << "  " << name << ": " << st.st_size << " bytes, beat " << NowSeconds() - mtime << " s ago\n";
  }
  return out.str();
}

// Worker log lines that count a failed attempt against a document
// (worker.cpp's HandleFailure): every document here is valid, so each one
// is an outage taken for the document's fault. Lines logged while the disk
// was full may be missing; those that made it are enough.
std::vector<std::string> CountedFailures(const std::string& data_dir) {
  std::vector<std::string> lines;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir + "/logs", ec)) {
    if (entry.path().filename().string().rfind("worker-", 0) != 0) continue;
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) {
      const bool counted =
          line.find(" failed, retrying") != std::string::npos || line.find(" failed, giving up") != std::string::npos;
      if (counted) lines.push_back(line);
    }
  }
  return lines;
}

json GetOrNull(const RefineryUp& up, const std::string& path, long* status = nullptr) {
  try {
    return up.Get(path, status);
  } catch (const std::exception& e) {
    return {{"request_failed", e.what()}};
  }
}

// One line per doctor section: its status and its checks.
std::string DoctorSummary(const json& report) {
  std::string out;
  const json sections = report.value("sections", json::object());
  for (const auto& [name, section] : sections.items()) {
    out += "  " + name + " " + section.value("status", "?") + ":";
    for (const json& check : section.value("checks", json::array())) {
      out += " [" + check.value("status", "?") + "] " + check.value("message", "");
    }
    out += "\n";
  }
  return out;
}

// What a failure message needs to explain a full-disk run.
std::string Dump(const RefineryUp& up, const std::string& data_dir) {
  long health_status = 0;
  json health = GetOrNull(up, "/health", &health_status);
  return "GET /health -> " + std::to_string(health_status) + " " + health.dump(2) + "\nGET /stats " +
         GetOrNull(up, "/stats").dump(2) + "\nstatus --json " + StatusJson(data_dir).dump(2) + "\nheartbeats:\n" +
         Heartbeats(data_dir) + "free bytes: " + std::to_string(FreeBytes(data_dir)) + "\n" + up.Log();
}

// "ok", or what PRAGMA integrity_check found, one finding a line.
std::string IntegrityCheck(const std::string& path) {
  std::string result;
  for (const auto& row : RawSqlite(path).Rows("PRAGMA integrity_check")) {
    result += (result.empty() ? "" : "\n") + (row.empty() ? std::string("NULL") : row.front());
  }
  return result;
}

int64_t Stage(const json& stats, const char* stage) {
  return stats.is_object() && stats.contains("documents_by_stage") ? stats["documents_by_stage"].value(stage, 0) : -1;
}

class FullDiskEndToEnd : public ::testing::Test {
 protected:
  // Default attempts and leases (an outage shorter than a lease must not
  // cost a delivery); a short stage timeout and reconcile interval repair a
  // next-stage enqueue the full queue refused within seconds, not a minute.
  // The stage delay keeps documents in flight when the disk fills.
  static std::map<std::string, std::string> Env() {
    return {{"REFINERY_TEST_STAGE_DELAY_MS", "50"},
            {"REFINERY_STAGE_TIMEOUT_S", "5"},
            {"REFINERY_RECONCILE_INTERVAL_S", "1"}};
  }

  // Returns the HTTP status; records the id of an accepted document.
  long Ingest(json* reply = nullptr) {
    const ScifactDoc& doc = docs_.at(next_doc_++);
    long status = 0;
    json body = up_->Post("/ingest", {{"title", doc.title}, {"content", doc.text}}, &status);
    if (status == 201) accepted_.insert(body.at("id").get<int64_t>());
    if (reply != nullptr) *reply = body;
    return status;
  }

  void StartAndCompleteSome() {
    up_ = std::make_unique<RefineryUp>(data_, Env());
    ASSERT_TRUE(up_->WaitHealthy(seconds(30))) << up_->Log();
    for (int i = 0; i < 10; ++i) ASSERT_EQ(Ingest(), 201);
    ASSERT_TRUE(WaitUntil([&] { return Stage(GetOrNull(*up_, "/stats"), "complete") == 10; }, seconds(60)))
        << Dump(*up_, data_);
    worker_pids_ = WorkerPids(StatusJson(data_));
    ASSERT_EQ(worker_pids_.size(), kWorkers.size()) << StatusJson(data_).dump(2);
  }

  // Ingests on the way; a burst just before the end leaves documents in
  // both stages when the last byte goes.
  void FillTheDisk() {
    filler_.emplace(data_ + "/filler");
    ASSERT_TRUE(filler_->ok()) << std::strerror(errno);
    while (FreeBytes(data_) > 3 * kMiB) {
      ASSERT_TRUE(filler_->WriteUntilFull(kMiB, 2 * kMiB)) << std::strerror(errno);
      ASSERT_EQ(Ingest(), 201) << "the disk is not full yet";
    }
    for (int i = 0; i < 20; ++i) ASSERT_EQ(Ingest(), 201);
    ASSERT_TRUE(filler_->TakeTheRest()) << std::strerror(errno);
    filler_->Hold();
    full_at_ = Clock::now();
    std::cout << "full disk: filler " << filler_->written() << " bytes, free " << FreeBytes(data_) << " bytes, "
              << accepted_.size() << " documents accepted\n";
  }

  // Ingest goes on; once the blob or the row cannot be written it says so.
  void ExpectIngestUnavailable() {
    std::string message;
    for (int i = 0; i < 20 && message.empty(); ++i) {
      json reply;
      const long status = Ingest(&reply);
      if (status == 503) {
        EXPECT_EQ(reply["error"].value("code", ""), "unavailable") << reply.dump();
        message = reply["error"].value("message", "");
      } else {
        EXPECT_EQ(status, 201) << "POST /ingest on a full disk: " << reply.dump();
        std::this_thread::sleep_for(milliseconds(200));
      }
    }
    ASSERT_FALSE(message.empty()) << "no POST /ingest answered 503 on the full disk\n" << Dump(*up_, data_);
    std::cout << "full disk: POST /ingest -> 503: " << message << "\n";
  }

  void ExpectHealthReportsFullDisk() {
    long status = 0;
    json health;
    const bool reported = WaitUntil(
        [&] {
          health = GetOrNull(*up_, "/health", &status);
          return HealthReportsFullDisk(status, health);
        },
        kHealthDeadline, milliseconds(250));
    EXPECT_TRUE(reported) << "GET /health while the disk is full -> " << status << " " << health.dump();
    if (reported) std::cout << "full disk: GET /health -> " << status << " " << health.dump() << "\n";
  }

  void ExpectDoctorFailsStorage() {
    CliRun doctor = RunRefinery(data_, "doctor --json --timeout 1 --port " + std::to_string(PortOf(*up_)));
    json report = json::parse(doctor.out, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(report.is_object()) << doctor.out;
    const json sections = report.value("sections", json::object());
    const std::string database = sections.value("database", json::object()).value("status", "");
    const std::string queue = sections.value("queue", json::object()).value("status", "");
    EXPECT_EQ(doctor.exit_code, 1) << "doctor --json on a full disk:\n" << DoctorSummary(report);
    EXPECT_TRUE(database == "fail" || queue == "fail")
        << "the doctor's database (" << database << ") and queue (" << queue << ") sections pass on a full disk";
  }

  // Workers paused by the outage are the processes they were before it.
  void ExpectNoRestarts(const std::string& when) {
    json status = StatusJson(data_);
    ASSERT_TRUE(status.is_object() && status.contains("services")) << when << ": status --json unreadable";
    for (const json& service : status["services"]) {
      EXPECT_EQ(service.value("restarts", -1), 0) << when << ": " << service.dump();
    }
    for (const auto& [name, pid] : WorkerPids(status)) {
      EXPECT_EQ(pid, worker_pids_[name]) << when << ": " << name << " is not the process it was before";
    }
  }

  // Until complete + error account for every accepted document with nothing
  // left in the queues: waiting on for a document in `error` to complete
  // would only slow the failure down.
  bool Settled() const {
    json stats = GetOrNull(*up_, "/stats");
    if (!stats.contains("queue_depths")) return false;
    for (const auto& [stage, depth] : stats["queue_depths"].items()) {
      if (depth.value("ready", 1) + depth.value("in_flight", 1) + depth.value("delayed", 1) != 0) return false;
    }
    return Stage(stats, "complete") + Stage(stats, "error") == static_cast<int64_t>(accepted_.size());
  }

  // Space comes back: everything accepted completes, and so does a new document.
  void FreeSpaceAndExpectEveryDocumentComplete() {
    filler_->Release();
    const auto freed_at = Clock::now();
    const auto deadline = freed_at + kRecoveryDeadline;
    EXPECT_TRUE(WaitUntil(
        [&] {
          long status = 0;
          return GetOrNull(*up_, "/health", &status).value("status", "") == "running" && status == 200;
        },
        kRecoveryDeadline, milliseconds(250)))
        << "/health after space was freed";
    long status = 0;
    WaitUntil([&] { return (status = Ingest()) != 503; }, seconds(30), milliseconds(500));
    EXPECT_EQ(status, 201) << "POST /ingest after space was freed";
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    EXPECT_TRUE(WaitUntil([&] { return Settled(); }, left, milliseconds(250)))
        << "documents still moving " << kRecoveryDeadline.count() << " s after space was freed";
    std::cout << "full disk: settled " << std::chrono::duration<double>(Clock::now() - freed_at).count()
              << " s after space was freed\n";
    ExpectEveryDocumentComplete(GetOrNull(*up_, "/stats"));
  }

  void ExpectEveryDocumentComplete(const json& stats) {
    const auto count = static_cast<int64_t>(accepted_.size());
    EXPECT_EQ(Stage(stats, "complete"), count) << stats.dump(2);
    EXPECT_EQ(Stage(stats, "error"), 0) << stats.dump(2);
    EXPECT_EQ(Stage(stats, "chunking"), 0) << stats.dump(2);
    EXPECT_EQ(Stage(stats, "embedding"), 0) << stats.dump(2);
    EXPECT_EQ(stats.value("total_documents", -1), count) << "a refused ingest left a row: " << stats.dump(2);
    const json depths = stats.value("queue_depths", json::object());
    for (const auto& [stage, depth] : depths.items()) {
      EXPECT_EQ(depth.value("dead", -1), 0) << "the outage dead-lettered " << stage << " jobs";
    }
    for (int64_t id : accepted_) {
      json doc = GetOrNull(*up_, "/documents/" + std::to_string(id));
      EXPECT_EQ(doc.value("stage", ""), "complete") << "document " << id << ": " << doc.dump(2);
    }
    std::string counted;
    for (const std::string& line : CountedFailures(data_)) counted += "\n  " + line;
    EXPECT_TRUE(counted.empty()) << "the outage cost documents attempts:" << counted;
  }

  TempDir dir_;
  const std::string data_ = dir_.path() + "/data";
  TmpfsMount mount_{data_, kTmpfsSize};
  std::optional<DiskFiller> filler_;
  std::unique_ptr<RefineryUp> up_;
  std::vector<ScifactDoc> docs_ = LoadScifact(120);
  size_t next_doc_ = 0;
  std::set<int64_t> accepted_;
  std::map<std::string, pid_t> worker_pids_;
  Clock::time_point full_at_;
};

TEST_F(FullDiskEndToEnd, FullDataDirectoryIsReportedPausesWorkersAndLosesNoDocument) {
  if (mount_.error() == EPERM || mount_.error() == ENOSYS) {
    GTEST_SKIP() << "cannot mount a tmpfs (" << std::strerror(mount_.error()) << "): needs root or CAP_SYS_ADMIN";
  }
  ASSERT_EQ(mount_.error(), 0) << "mount tmpfs on " << data_ << ": " << std::strerror(mount_.error());
  ASSERT_NO_FATAL_FAILURE(StartAndCompleteSome());
  ASSERT_NO_FATAL_FAILURE(FillTheDisk());
  ASSERT_NO_FATAL_FAILURE(ExpectIngestUnavailable());

  // While full, /health, the doctor and the supervisor tell the truth.
  ExpectHealthReportsFullDisk();
  ExpectDoctorFailsStorage();
  ExpectNoRestarts("while the disk is full");
  std::this_thread::sleep_until(full_at_ + HoldFull());
  ExpectNoRestarts("after " + std::to_string(HoldFull().count()) + " s of a full disk");
  std::cout << "full disk: held " << std::chrono::duration<double>(Clock::now() - full_at_).count()
            << " s; heartbeats:\n"
            << Heartbeats(data_);

  FreeSpaceAndExpectEveryDocumentComplete();
  ExpectNoRestarts("after space was freed");
  if (HasFailure()) std::cout << Dump(*up_, data_) << "\n";

  // After a clean stop both databases are intact.
  up_.reset();
  EXPECT_EQ(IntegrityCheck(data_ + "/refinery.db"), "ok");
  EXPECT_EQ(IntegrityCheck(data_ + "/queue.db"), "ok");
}

}  // namespace
}  // namespace refinery::testing
