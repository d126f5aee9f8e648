// Process-level load and outage helpers for the PostgreSQL resilience tests:
// a bare `refinery api` process, a multi-threaded HTTP load generator that
// records every request, and PostgreSQL stop/start/terminate controls.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "supervisor/supervisor.h"

namespace refinery::testing {

// One `refinery <args...>` child (e.g. {"api", "--port", P} or
// {"worker", "chunk"}) with REFINERY_DATA_DIR=data_dir and `env` on top;
// output goes to data_dir/<log_name>. Throws if it cannot be spawned.
class RefineryProcess {
 public:
  RefineryProcess(const std::string& data_dir, const std::vector<std::string>& args,
                  std::map<std::string, std::string> env, const std::string& log_name);
  bool running() { return !process_.Poll().has_value(); }
  pid_t pid() const { return process_.pid(); }
  std::string Log() const;  // the tail of its log, for failure messages

 private:
  std::string log_path_;
  Subprocess process_;
};

// `refinery api` on a free port.
class ApiProcess {
 public:
  ApiProcess(const std::string& data_dir, std::map<std::string, std::string> env);
  std::string url(const std::string& path) const;
  // Until GET /health answers 200.
  bool WaitHealthy(std::chrono::milliseconds timeout);
  bool running() { return process_.running(); }
  std::string Log() const { return process_.Log(); }

 private:
  int port_;
  RefineryProcess process_;
};

// POSTs `count` distinct SciFact abstracts to /ingest; returns their ids.
// Throws on any answer other than 201.
std::vector<int64_t> SeedDocuments(const ApiProcess& api, size_t count);

// What one request of a load run saw.
struct Sample {
  double start_s = 0;  // since the run began
  double latency_s = 0;
  long status = 0;     // 0: transport error (refused, reset, timed out)
  bool valid = false;  // 200 with a JSON body, or 503 with {"error":{code,message}}
  std::string path;
  std::string detail;  // transport error or body prefix, when not valid
};

struct LoadSpec {
  std::string base_url;   // http://127.0.0.1:PORT
  int clients = 16;       // threads, each with its own request loop
  double timeout_s = 10;  // per request; a slower answer is a transport error
  // The next path for a client; called on that client's thread.
  std::function<std::string(std::mt19937&)> next_path;
};

// Runs the clients, calls `during(run_start)` on this thread, and stops the
// clients once it returns. Returns every request's sample, in no order.
std::vector<Sample> RunLoad(const LoadSpec& spec,
                            const std::function<void(std::chrono::steady_clock::time_point)>& during);

// The reads the resilience tests spread over: /stats, a page of documents,
// one seeded document; every one answered from the database.
std::function<std::string(std::mt19937&)> DatabaseReadMix(std::vector<int64_t> ids);

// Latency percentile (0 < p <= 100) over `samples`, in seconds.
double LatencyPercentile(const std::vector<Sample>& samples, double p);
// A line: requests, by status, invalid, p50/p99/max latency.
std::string Summary(const std::vector<Sample>& samples);
// Up to `limit` invalid samples, one line each, for failure messages.
std::string Failures(const std::vector<Sample>& samples, size_t limit = 10);

// The `n` slowest samples, one line each, for failure messages.
std::string Slowest(std::vector<Sample> samples, size_t n = 5);

// Seconds since `start`.
double SecondsSince(std::chrono::steady_clock::time_point start);

// "$REFINERY_TEST_PG_CTL <action>" through bash; true on exit code 0.
bool PgCtl(const std::string& action);
// True once the server behind `database_url` accepts connections (PQping).
bool PgAcceptsConnections(const std::string& database_url);
// Terminates every other backend of the database behind `database_url`;
// returns how many, or -1 when the statement failed.
int64_t TerminateBackends(const std::string& database_url);

// One PostgreSQL outage under load: the clients run, PostgreSQL is stopped
// at `stop_at_s` for `outage_s`, started again, and the load goes on for
// `after_s` past the moment it accepts connections.
struct OutageTimeline {
  double stopped_s = -1;    // pg_ctl stop returned (the server is down)
  double restarted_s = -1;  // the server accepted connections again
  bool stop_ok = false;
  bool start_ok = false;
};
OutageTimeline RunPgOutage(const std::string& database_url, double stop_at_s, double outage_s, double after_s,
                           std::chrono::steady_clock::time_point run_start);

}  // namespace refinery::testing
