#include "support/full_disk.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>

namespace refinery::testing {

TmpfsMount::TmpfsMount(const std::string& dir, const char* options) : dir_(dir) {
  std::filesystem::create_directories(dir_);
  if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, options) != 0) error_ = errno;
}

TmpfsMount::~TmpfsMount() {
  if (error_ == 0) ::umount2(dir_.c_str(), MNT_DETACH);
}

int64_t FreeBytes(const std::string& dir) {
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0) return -1;
  return static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
}

DiskFiller::DiskFiller(const std::string& path)
    : path_(path), fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) {}

bool DiskFiller::WriteUntilFull(int64_t chunk, int64_t limit) {
  const std::string data(static_cast<size_t>(chunk), 'x');
  for (int64_t done = 0; done < limit;) {
    const ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno == ENOSPC;
    written_ += n;
    done += n;
  }
  return true;
}

bool DiskFiller::TakeTheRest() {
  for (int64_t chunk : {int64_t{1} << 20, int64_t{64} << 10, int64_t{4096}, int64_t{512}, int64_t{1}}) {
    if (!WriteUntilFull(chunk)) return false;
  }
  return true;
}

void DiskFiller::Hold() {
  holder_ = std::jthread([this](std::stop_token stop) {
    while (!stop.stop_requested()) {
      (void)TakeTheRest();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
}

void DiskFiller::Release() {
  if (holder_.joinable()) {
    holder_.request_stop();
    holder_.join();
  }
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  ::unlink(path_.c_str());
}

}  // namespace refinery::testing
