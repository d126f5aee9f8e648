// The services `refinery up` supervises, built from the configuration's
// [services.*] tables over built-in defaults. Separate from cmd_serve.cpp so
// the defaults and the checks are unit-testable.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"
#include "supervisor/supervisor.h"

namespace refinery::cli {

// The API and, per stage, `replicas` workers ("worker-<stage>", or
// "worker-<stage>.<n>" when replicated), each run as `exe api|worker ...`.
// Defaults: restart unless-stopped, first restart after 0.1 s doubling to
// 10 s; the API probed on /health/live (ready for dependents on
// /health/ready: store and queue reachable), workers by heartbeat file;
// workers depend on the API. Fails, naming the refinery.toml key, on an
// unknown service or setting value.
Result<std::vector<ServiceSpec>> UpServiceSpecs(const Config& config, const std::string& exe);

// Supervisor-wide options (stop grace, log rotation, the stopped-by-hand file).
SupervisorOptions UpSupervisorOptions(const Config& config);

}  // namespace refinery::cli
