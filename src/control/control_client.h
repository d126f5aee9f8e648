// The client of `refinery up`'s control socket (Config::ControlSocketPath):
// how the CLI (status, stop, start, restart, doctor) and the API (/metrics)
// reach the supervisor, without depending on it. Protocol: one request line
// ("status" | "stop NAME" | "start NAME" | "restart NAME"), one JSON reply
// line ({"services": [...]} for status, {"ok": bool, "error"?} otherwise).
#pragma once

#include <string>

#include "core/status.h"

namespace refinery {

// Sends `line` to the socket at `path` and returns the reply line.
// Unavailable when no supervisor listens there; Timeout when it does not
// answer within `timeout_s`.
Result<std::string> ControlRequest(const std::string& path, const std::string& line, double timeout_s);

}  // namespace refinery
