// The release version, defined once in CMakeLists.txt (project VERSION).
#pragma once

namespace refinery {

inline constexpr const char* kVersion = REFINERY_VERSION;

}  // namespace refinery
