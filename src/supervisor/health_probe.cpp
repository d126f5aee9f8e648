// Health probes (one per check kind) and size-based log rotation: the
// supervisor's only file and network I/O besides spawning children.
#include <sys/stat.h>

#include <filesystem>

#include "core/clock.h"
#include "core/http_client.h"
#include "supervisor/supervisor.h"

namespace refinery {

namespace {

bool HeartbeatFresh(const std::string& path, double max_age_s) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  const double modified = static_cast<double>(st.st_mtim.tv_sec) + st.st_mtim.tv_nsec / 1e9;
  return NowSeconds() - modified <= max_age_s;
}

bool HttpHealthy(const HealthCheckSpec& check, pid_t pid) {
  HttpRequest request;
  request.url = check.target;
  request.timeout_s = check.timeout_s;
  request.connect_timeout_s = check.timeout_s;
  auto response = HttpCall(request);
  if (!response.ok() || response->status < 200 || response->status >= 300) return false;
  if (!check.answered_by_child) return true;
  auto named = response->headers.find("x-refinery-pid");
  return named != response->headers.end() && named->second == std::to_string(pid);
}

}  // namespace

bool ProbeHealth(const HealthCheckSpec& check, pid_t pid) {
  switch (check.kind) {
    case HealthCheckSpec::Kind::kNone:
      return true;
    case HealthCheckSpec::Kind::kHttp:
      return HttpHealthy(check, pid);
    case HealthCheckSpec::Kind::kHeartbeat:
      return HeartbeatFresh(check.target, check.timeout_s);
  }
  return false;
}

Status RotateLogIfLarge(const std::string& path, int64_t max_bytes, int keep) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec || static_cast<int64_t>(size) <= max_bytes || keep < 1) return Status::Ok();
  auto numbered = [&](int n) { return path + "." + std::to_string(n); };
  fs::remove(numbered(keep), ec);
  for (int n = keep - 1; n >= 1; --n) fs::rename(numbered(n), numbered(n + 1), ec);  // missing ones: fine
  fs::copy_file(path, numbered(1), fs::copy_options::overwrite_existing, ec);
  if (ec) return Status::Internal("rotate " + path + ": " + ec.message());
  fs::resize_file(path, 0, ec);
  if (ec) return Status::Internal("truncate " + path + ": " + ec.message());
  return Status::Ok();
}

}  // namespace refinery
