// A full disk on demand, for tests of what a full data directory does: a
// tmpfs of a given size, and a filler that takes its free space and keeps
// it taken.
#pragma once

#include <cstdint>
#include <string>
#include <thread>

namespace refinery::testing {

// A tmpfs mounted on `dir` for the life of the object; unmounted lazily
// (MNT_DETACH) so a process still holding a file there cannot block it.
class TmpfsMount {
 public:
  TmpfsMount(const std::string& dir, const char* options);  // e.g. "size=20m"
  ~TmpfsMount();
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  int error() const { return error_; }  // errno of mount(2); 0 when mounted

 private:
  std::string dir_;
  int error_ = 0;
};

// Bytes an unprivileged writer may still use on the filesystem of `dir`; -1
// when unreadable.
int64_t FreeBytes(const std::string& dir);

// Takes a file system's free space with one file. Hold() then keeps taking
// whatever anyone frees (a removed file, a heartbeat renamed over its old
// copy), as a process that keeps writing would, so "full" stays full rather
// than a page or two short of it. Release() removes the file.
class DiskFiller {
 public:
  explicit DiskFiller(const std::string& path);
  ~DiskFiller() { Release(); }
  DiskFiller(const DiskFiller&) = delete;
  DiskFiller& operator=(const DiskFiller&) = delete;

  bool ok() const { return fd_ >= 0; }
  int64_t written() const { return written_; }

  // Writes `chunk`-sized pieces until ENOSPC (or `limit` bytes); false on
  // any other error.
  bool WriteUntilFull(int64_t chunk, int64_t limit = INT64_MAX);
  // Large writes first, then ever smaller ones to take the last bytes.
  bool TakeTheRest();
  // From now on, takes what gets freed, every 20 ms, until Release().
  void Hold();
  void Release();

 private:
  std::string path_;
  int fd_;
  int64_t written_ = 0;
  std::jthread holder_;  // last: stopped before the members it uses go
};

}  // namespace refinery::testing
