#include "support/api_load.h"

#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/http_client.h"
#include "support/process_util.h"

namespace refinery::testing {
namespace {

using Clock = std::chrono::steady_clock;

Subprocess SpawnRefinery(const std::string& data_dir, const std::vector<std::string>& args,
                         std::map<std::string, std::string> env, const std::string& log_path) {
  env["REFINERY_DATA_DIR"] = data_dir;
  std::vector<std::string> argv = {REFINERY_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  auto spawned = Subprocess::Spawn(argv, env, log_path);
  if (!spawned.ok()) throw std::runtime_error("spawn refinery: " + spawned.status().ToString());
  return std::move(spawned).value();
}

// 200 must carry JSON; 503 must carry the API's error shape. Anything else
// (including a 500 or an HTML page) is a failed request.
bool ValidAnswer(long status, const std::string& body) {
  if (status == 200) return nlohmann::json::accept(body);
  if (status != 503) return false;
  auto json = nlohmann::json::parse(body, nullptr, false);
  return !json.is_discarded() && json.is_object() && json.contains("error") && json["error"].is_object() &&
         json["error"].contains("code") && json["error"].contains("message");
}

Sample OneRequest(const LoadSpec& spec, const std::string& path, Clock::time_point run_start) {
  Sample sample;
  sample.path = path;
  auto begin = Clock::now();
  sample.start_s = std::chrono::duration<double>(begin - run_start).count();
  auto response = HttpGet(spec.base_url + path, spec.timeout_s);
  sample.latency_s = SecondsSince(begin);
  if (!response.ok()) {
    sample.detail = response.status().ToString();
    return sample;
  }
  sample.status = response->status;
  sample.valid = ValidAnswer(response->status, response->body);
  if (!sample.valid) sample.detail = response->body.substr(0, 200);
  return sample;
}

void ClientLoop(const LoadSpec& spec, int index, const std::atomic<bool>& stop, Clock::time_point run_start,
                std::vector<Sample>& out) {
  std::mt19937 rng(static_cast<unsigned>(index) * 7919u + 17u);
  while (!stop.load(std::memory_order_relaxed)) out.push_back(OneRequest(spec, spec.next_path(rng), run_start));
}

}  // namespace

RefineryProcess::RefineryProcess(const std::string& data_dir, const std::vector<std::string>& args,
                                 std::map<std::string, std::string> env, const std::string& log_name)
    : log_path_(data_dir + "/" + log_name), process_(SpawnRefinery(data_dir, args, std::move(env), log_path_)) {
  process_.set_stop_grace(std::chrono::seconds(15));
}

std::string RefineryProcess::Log() const {
  std::ifstream in(log_path_);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::string log = buffer.str();
  return log.size() > 6000 ? log.substr(log.size() - 6000) : log;
}

ApiProcess::ApiProcess(const std::string& data_dir, std::map<std::string, std::string> env)
    : port_(FreePort()), process_(data_dir, {"api", "--port", std::to_string(port_)}, std::move(env), "api.log") {}

std::string ApiProcess::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

bool ApiProcess::WaitHealthy(std::chrono::milliseconds timeout) {
  return WaitUntil(
      [&] {
        auto response = HttpGet(url("/health"), 2);
        return response.ok() && response->status == 200;
      },
      timeout, std::chrono::milliseconds(100));
}

std::vector<int64_t> SeedDocuments(const ApiProcess& api, size_t count) {
  std::vector<int64_t> ids;
  for (const auto& doc : LoadScifact(count)) {
    nlohmann::json body = {{"title", doc.title}, {"content", doc.text}};
    auto response = HttpPostJson(api.url("/ingest"), body.dump(), 30);
    if (!response.ok() || response->status != 201) {
      throw std::runtime_error("seed ingest failed: " +
                               (response.ok() ? response->body : response.status().ToString()));
    }
    ids.push_back(nlohmann::json::parse(response->body).at("id").get<int64_t>());
  }
  return ids;
}

std::vector<Sample> RunLoad(const LoadSpec& spec, const std::function<void(Clock::time_point)>& during) {
  std::atomic<bool> stop{false};
  std::vector<std::vector<Sample>> per_client(static_cast<size_t>(spec.clients));
  auto run_start = Clock::now();
  {
    std::vector<std::jthread> clients;
    for (int i = 0; i < spec.clients; ++i) {
      clients.emplace_back([&, i] { ClientLoop(spec, i, stop, run_start, per_client[static_cast<size_t>(i)]); });
    }
    during(run_start);
    stop = true;
  }  // joins: each client finishes its request in flight (bounded by timeout_s)
  std::vector<Sample> all;
  for (auto& samples : per_client) all.insert(all.end(), samples.begin(), samples.end());
  return all;
}

std::function<std::string(std::mt19937&)> DatabaseReadMix(std::vector<int64_t> ids) {
  return [ids = std::move(ids)](std::mt19937& rng) -> std::string {
    switch (rng() % 3) {
      case 0:
        return "/stats";
      case 1:
        return "/documents?limit=20";
      default:
        return "/documents/" + std::to_string(ids[rng() % ids.size()]);
    }
  };
}

double LatencyPercentile(const std::vector<Sample>& samples, double p) {
  if (samples.empty()) return 0;
  std::vector<double> latencies;
  latencies.reserve(samples.size());
  for (const Sample& s : samples) latencies.push_back(s.latency_s);
  std::sort(latencies.begin(), latencies.end());
  size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(latencies.size()) + 0.999999);
  return latencies[std::clamp<size_t>(rank, 1, latencies.size()) - 1];
}

std::string Summary(const std::vector<Sample>& samples) {
  std::map<long, size_t> by_status;
  size_t invalid = 0;
  for (const Sample& s : samples) {
    ++by_status[s.status];
    if (!s.valid) ++invalid;
  }
  std::ostringstream out;
  out << samples.size() << " requests;";
  for (const auto& [status, n] : by_status)
    out << " " << (status == 0 ? "transport-error" : std::to_string(status)) << ":" << n;
  out << "; invalid " << invalid << "; p50 " << LatencyPercentile(samples, 50) * 1000 << " ms, p99 "
      << LatencyPercentile(samples, 99) * 1000 << " ms, max " << LatencyPercentile(samples, 100) * 1000 << " ms";
  return out.str();
}

std::string Failures(const std::vector<Sample>& samples, size_t limit) {
  std::ostringstream out;
  for (const Sample& s : samples) {
    if (s.valid || limit == 0) continue;
    --limit;
    out << "  t=" << s.start_s << "s " << s.path << " -> " << s.status << " after " << s.latency_s << "s: " << s.detail
        << "\n";
  }
  return out.str();
}

std::string Slowest(std::vector<Sample> samples, size_t n) {
  n = std::min(n, samples.size());
  std::partial_sort(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(n), samples.end(),
                    [](const Sample& a, const Sample& b) { return a.latency_s > b.latency_s; });
  std::ostringstream out;
  for (size_t i = 0; i < n; ++i) {
    out << "  t=" << samples[i].start_s << "s " << samples[i].path << " -> " << samples[i].status << " after "
        << samples[i].latency_s << "s\n";
  }
  return out.str();
}

double SecondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

bool PgCtl(const std::string& action) {
  // The variable holds a quoted -o '...' argument, so it needs a shell's eval.
  std::string command = "bash -c 'eval \"$REFINERY_TEST_PG_CTL " + action + "\"' >/dev/null 2>&1";
  return std::getenv("REFINERY_TEST_PG_CTL") != nullptr && std::system(command.c_str()) == 0;
}

bool PgAcceptsConnections(const std::string& database_url) { return PQping(database_url.c_str()) == PQPING_OK; }

int64_t TerminateBackends(const std::string& database_url) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(database_url.c_str()), PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) return -1;
  std::unique_ptr<PGresult, decltype(&PQclear)> result(
      PQexec(conn.get(),
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
             "WHERE datname = current_database() AND pid <> pg_backend_pid()"),
      PQclear);
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK || PQntuples(result.get()) != 1) return -1;
  return std::stoll(PQgetvalue(result.get(), 0, 0));
}

namespace {

void SleepUntil(Clock::time_point run_start, double at_s) {
  std::this_thread::sleep_until(run_start +
                                std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(at_s)));
}

}  // namespace

OutageTimeline RunPgOutage(const std::string& database_url, double stop_at_s, double outage_s, double after_s,
                           Clock::time_point run_start) {
  OutageTimeline timeline;
  SleepUntil(run_start, stop_at_s);
  timeline.stop_ok = PgCtl("stop");
  timeline.stopped_s = SecondsSince(run_start);
  SleepUntil(run_start, timeline.stopped_s + outage_s);
  timeline.start_ok = PgCtl("start");
  // pg_ctl -w returns once the server is ready; poll anyway so the moment
  // is measured the same way a client would see it.
  WaitUntil([&] { return PgAcceptsConnections(database_url); }, std::chrono::seconds(30),
            std::chrono::milliseconds(10));
  timeline.restarted_s = SecondsSince(run_start);
  SleepUntil(run_start, timeline.restarted_s + after_s);
  return timeline;
}

}  // namespace refinery::testing
