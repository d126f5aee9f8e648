// Logging: spdlog to stderr, one line per event, text or JSON
// (REFINERY_LOG_FORMAT=json). `service` names the process (api, worker-chunk).
#pragma once

#include <string>

#include <spdlog/spdlog.h>

namespace refinery {

// Configures the default spdlog logger for this process. Call once in main.
void InitLogging(const std::string& service, const std::string& level, const std::string& format);

}  // namespace refinery
