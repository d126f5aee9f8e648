// Ollama's /api/pull, streamed: one JSON object per line, the error (if
// any) as a line after the 200.
#include "llm/model_pull.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "core/json_depth.h"

namespace refinery {
namespace {

using nlohmann::json;

constexpr size_t kMaxLineBytes = 64 * 1024;
constexpr size_t kMaxLineDepth = 8;

// A byte count of a progress line; 0 (unknown) when absent, negative or
// past 2^53 (converting 1e300 to an integer is undefined behaviour).
int64_t Bytes(const json& line, const char* key) {
  const json& v = JsonField(line, key);
  if (v.is_number_unsigned()) return v.get<uint64_t>() <= (uint64_t{1} << 53) ? v.get<int64_t>() : 0;
  if (v.is_number_integer()) return std::max<int64_t>(v.get<int64_t>(), 0);
  if (!v.is_number_float()) return 0;
  const double d = v.get<double>();
  return d >= 0 && d <= 9007199254740992.0 ? static_cast<int64_t>(d) : 0;
}

std::string Quote(std::string_view text) { return std::string(text.substr(0, 200)); }

// Splits the stream into lines and reads each; remembers the server's
// error, or the reason the stream is unusable, and whether it succeeded.
class PullStream {
 public:
  explicit PullStream(const std::function<bool(const PullProgress&)>& on_progress) : on_progress_(on_progress) {}

  // One pass over each piece: the consumed lines are erased once, not one
  // by one (quadratic on a hostile stream of many short lines).
  bool Feed(std::string_view piece) {
    pending_.append(piece);
    size_t start = 0;
    for (size_t eol; (eol = pending_.find('\n', start)) != std::string::npos; start = eol + 1) {
      if (!Line(std::string_view(pending_).substr(start, eol - start))) return false;
    }
    pending_.erase(0, start);
    if (pending_.size() > kMaxLineBytes) return Fail("a progress line over 64 KiB");
    return true;
  }
  bool Finish() { return pending_.empty() || Line(pending_); }

  bool succeeded() const { return succeeded_; }
  const std::string& error() const { return error_; }

 private:
  bool Line(std::string_view line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) return true;
    if (!JsonDepthWithin(line, kMaxLineDepth)) return Fail("a progress line nested too deeply");
    const json parsed = json::parse(line, nullptr, false);
    if (!parsed.is_object()) return Fail("not a JSON progress line: " + Quote(line));
    const json& error = JsonField(parsed, "error");
    if (!error.is_null()) return Fail(error.is_string() ? error.get<std::string>() : error.dump());
    PullProgress p;
    const json& status = JsonField(parsed, "status");
    p.status = status.is_string() ? status.get<std::string>() : "";
    p.completed = Bytes(parsed, "completed");
    p.total = Bytes(parsed, "total");
    if (p.status == "success") succeeded_ = true;
    if (on_progress_ && !on_progress_(p)) return Fail("stopped");
    return true;
  }
  bool Fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    return false;
  }

  const std::function<bool(const PullProgress&)>& on_progress_;
  std::string pending_;
  std::string error_;
  bool succeeded_ = false;
};

}  // namespace

std::string PullProgress::Describe() const {
  if (total <= 0) return status;
  char text[96];
  std::snprintf(text, sizeof text, ": %.0f%% of %.1f GB", 100.0 * static_cast<double>(completed) / total,
                static_cast<double>(total) / 1e9);
  return status + text;
}

Status PullModel(const LlmEndpoint& endpoint, const std::function<bool(const PullProgress&)>& on_progress,
                 const std::function<bool()>& keep_going, double stall_timeout_s) {
  const LlmEndpointConfig& config = endpoint.config();
  if (config.provider != "ollama") {
    return Status::InvalidArgument(endpoint.role() + ": only an Ollama server can pull a model (provider " +
                                   config.provider + ")");
  }
  PullStream stream(on_progress);
  HttpRequest request;
  request.method = "POST";
  request.url = endpoint.Url("/api/pull");
  request.body = json{{"model", config.model}, {"stream", true}}.dump();
  request.headers["Content-Type"] = "application/json";
  request.connect_timeout_s = config.connect_timeout_s;
  request.timeout_s = 24 * 3600;  // gigabytes on a slow line: the stall timeout is the real limit
  request.stall_timeout_s = stall_timeout_s;
  request.on_body = [&stream](std::string_view piece) { return stream.Feed(piece); };
  request.keep_going = keep_going;
  const std::string what = endpoint.role() + " pull of " + config.model + " from " + config.url;
  auto response = HttpCall(request);
  if (!stream.error().empty()) return Status::Unavailable(what + ": " + stream.error());
  if (!response.ok()) return Status(response.status().code(), what + ": " + response.status().message());
  if (!stream.Finish()) return Status::Unavailable(what + ": " + stream.error());
  if (response->status != 200) return Status::Unavailable(what + ": HTTP " + std::to_string(response->status));
  if (!stream.succeeded()) return Status::Unavailable(what + ": the stream ended before \"success\"");
  return Status::Ok();
}

ModelPuller::ModelPuller(const LlmEndpoint& endpoint) : endpoint_(endpoint) {}

ModelPuller::~ModelPuller() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

std::string ModelPuller::Ensure() {
  std::lock_guard lock(mutex_);
  const std::string& model = endpoint_.config().model;
  if (running_) return "pulling " + model + ": " + state_;
  const double wait = failed_at_ + kRetryAfterFailureS - MonotonicSeconds();
  if (wait > 0) return state_ + "; next try in " + std::to_string(static_cast<int>(wait) + 1) + " s";
  if (thread_.joinable()) thread_.join();  // the last pull has ended: its thread is done
  running_ = true;
  state_ = "starting";
  ++pulls_started_;
  thread_ = std::thread([this] { Run(); });
  return "pulling " + model + ": starting";
}

int ModelPuller::pulls_started() const {
  std::lock_guard lock(mutex_);
  return pulls_started_;
}

void ModelPuller::Run() {
  const std::string& model = endpoint_.config().model;
  spdlog::info("{}: pulling model {} from {}", endpoint_.role(), model, endpoint_.config().url);
  std::string last_logged;
  Status result = PullModel(endpoint_, [&](const PullProgress& p) {
    const std::string now = p.Describe();
    {
      std::lock_guard lock(mutex_);
      state_ = now;
    }
    if (p.status != last_logged) spdlog::info("{}: pull of {}: {}", endpoint_.role(), model, now);
    last_logged = p.status;
    return true;
  }, [this] { return !stopping_.load(); });
  std::lock_guard lock(mutex_);
  running_ = false;
  if (result.ok()) {
    spdlog::info("{}: model {} pulled", endpoint_.role(), model);
    state_ = "pulled";
  } else {
    spdlog::warn("{}", result.message());
    state_ = result.message();
    failed_at_ = MonotonicSeconds();
  }
}

Status EndpointHealth(LlmEndpoint& endpoint, ModelPuller* puller) {
  if (puller == nullptr) return InspectEndpoint(endpoint).status();
  auto report = ListEndpoint(endpoint);
  if (!report.ok()) return report.status();
  if (report->model_present) return Status::Ok();
  return Status::Unavailable(endpoint.role() + " " + endpoint.config().url + ": model '" + endpoint.config().model +
                             "' is not available there; " + puller->Ensure());
}

}  // namespace refinery
