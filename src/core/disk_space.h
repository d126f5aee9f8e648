// Free space of the filesystem holding a file, for health checks of the
// embedded backends: on a full disk reads still work and small writes may
// still fit in space a file already holds, so a probe write alone can say
// "writable" while the next real write fails.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace refinery {

// Below this a filesystem counts as full: a chunked document or a WAL
// checkpoint needs more than a few pages.
inline constexpr int64_t kMinFreeDiskBytes = 1 << 20;

// Unavailable ("<what>: disk full: 12 KiB free on the filesystem of PATH")
// when the filesystem holding `path` (a file or a directory; for a file
// that does not exist yet, its directory) has less than kMinFreeDiskBytes
// available; OK otherwise, and OK when the figure cannot be read.
Status CheckFreeSpace(const std::string& path, const std::string& what);

}  // namespace refinery
