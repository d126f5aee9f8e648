// Finding a profile by name or path (LoadProfile, BuiltinProfileNames).
#include <filesystem>
#include <fstream>
#include <sstream>

#include "knowledge/builtin_profiles.h"
#include "knowledge/profile.h"

namespace refinery {
namespace {

// Profiles are small; anything bigger is not a profile.
constexpr std::uintmax_t kMaxProfileBytes = 4 << 20;

Result<Profile> ParseFile(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return Status::InvalidArgument(path + ": cannot read profile: " + ec.message());
  if (size > kMaxProfileBytes) return Status::InvalidArgument(path + ": not a profile (larger than 4 MiB)");
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) return Status::InvalidArgument(path + ": cannot read profile");
  return ParseProfile(text.str(), path);
}

bool LooksLikePath(const std::string& name) {
  return name.find('/') != std::string::npos || name.ends_with(".toml");
}

}  // namespace

Result<Profile> LoadProfile(const std::string& name_or_path, const std::string& profiles_dir) {
  if (name_or_path.empty()) return Status::InvalidArgument("REFINERY_PROFILE: empty profile name");
  if (LooksLikePath(name_or_path)) return ParseFile(name_or_path);
  std::error_code ec;
  for (const std::string& dir : {profiles_dir, std::string("profiles")}) {
    if (dir.empty()) continue;
    const std::string path = dir + "/" + name_or_path + ".toml";
    if (std::filesystem::is_regular_file(path, ec)) return ParseFile(path);
  }
  for (const auto& [name, text] : profile_internal::BuiltinProfileTexts()) {
    if (name == name_or_path) return ParseProfile(text, "built-in:" + std::string(name));
  }
  std::string known;
  for (const std::string& name : BuiltinProfileNames()) known += (known.empty() ? "" : ", ") + name;
  return Status::InvalidArgument("REFINERY_PROFILE: no profile named '" + name_or_path + "' (built in: " + known +
                                 "; or give a path to a .toml file)");
}

std::vector<std::string> BuiltinProfileNames() {
  std::vector<std::string> names;
  for (const auto& entry : profile_internal::BuiltinProfileTexts()) names.emplace_back(entry.first);
  return names;
}

}  // namespace refinery
