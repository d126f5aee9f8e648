// Pieces of LoadConfig shared by the core's config files only.
#pragma once

#include <string>

#include <toml++/toml.h>

#include "core/config.h"

namespace refinery {

// Reads the [services.<name>] tables of a parsed refinery.toml at `path`
// into config.services. Unknown keys and wrong types fail with a message
// naming the file and key; service names are checked by `refinery up`,
// which knows which services exist.
Status ApplyServicesToml(Config& config, const toml::table& services, const std::string& path);

}  // namespace refinery
