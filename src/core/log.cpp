#include "core/log.h"

#include <spdlog/sinks/stdout_sinks.h>

namespace refinery {

void InitLogging(const std::string& service, const std::string& level, const std::string& format) {
  auto logger = spdlog::stderr_logger_mt(service);
  if (format == "json") {
    // Messages are written by our own code; quotes in them are escaped by
    // the callers that log user data (document titles are never logged).
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","service":"%n","pid":%P,"message":"%v"})",
                        spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n %P] %v");
  }
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace refinery
