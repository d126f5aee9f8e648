#include "core/disk_space.h"

#include <sys/statvfs.h>

#include <filesystem>

namespace refinery {

Status CheckFreeSpace(const std::string& path, const std::string& what) {
  struct statvfs fs {};
  std::string probe = path;
  if (::statvfs(probe.c_str(), &fs) != 0) {
    probe = std::filesystem::path(path).parent_path().string();
    if (probe.empty() || ::statvfs(probe.c_str(), &fs) != 0) return Status::Ok();
  }
  // f_bavail: what an unprivileged writer may still use.
  const auto free_bytes = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
  if (free_bytes >= kMinFreeDiskBytes) return Status::Ok();
  return Status::Unavailable(what + ": disk full: " + std::to_string(free_bytes / 1024) +
                             " KiB free on the filesystem of " + path);
}

}  // namespace refinery
