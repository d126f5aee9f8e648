#include "crawl/robots_cache.h"

#include "core/clock.h"

namespace refinery::crawl {
namespace {

RobotsAnswer AnswerFor(int status, const std::string& body) {
  RobotsAnswer answer;
  if (status >= 200 && status < 300) {
    answer.rules = RobotsRules::Parse(body, kRobotsToken);
  } else if (status >= 400 && status < 500) {
    answer.rules = RobotsRules::AllowAll();
  } else {
    answer.rules = RobotsRules::DisallowAll();
    answer.wait = true;
    answer.why = status == 0 ? "robots.txt unreachable" : "robots.txt answered HTTP " + std::to_string(status);
  }
  return answer;
}

}  // namespace

Result<RobotsAnswer> RobotsCache::For(const Url& url) {
  auto cached = store_.GetRobots(Origin(url));
  if (!cached.ok()) return cached.status();
  if (*cached && (*cached)->expires_at > NowSeconds()) return AnswerFor((*cached)->status, (*cached)->body);
  return FetchAndKeep(url);
}

Result<RobotsAnswer> RobotsCache::FetchAndKeep(const Url& url) {
  Url robots = url;
  robots.path = "/robots.txt";
  robots.query.clear();
  auto fetched = fetcher_.Fetch(robots, nullptr);
  if (!fetched.ok()) {
    if (fetched.status().code() == StatusCode::kInvalidArgument) {
      // Refused, looping or oversized: no usable file, so no rules (the
      // page itself is refused the same way if its address is).
      return RobotsAnswer{};
    }
    RobotsAnswer wait = AnswerFor(0, "");
    wait.why += ": " + fetched.status().message();
    return wait;  // not cached: asked again on the next attempt
  }
  const int status = static_cast<int>(fetched->status);
  if (status >= 500 || status < 200 || (status >= 300 && status < 400)) return AnswerFor(status, "");
  const double now = NowSeconds();
  std::string body = fetched->body.substr(0, kMaxRobotsBytes);
  REFINERY_RETURN_IF_ERROR(store_.PutRobots(RobotsEntry{Origin(url), status, body, now, now + ttl_s_}));
  return AnswerFor(status, body);
}

}  // namespace refinery::crawl
