#include "blob/fs_blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>

#include "blob/blob_key.h"
#include "core/disk_space.h"

namespace refinery {
namespace {

// Owns one file descriptor; closes it on destruction unless Close() was called.
class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Closes now and reports the result: a failed close can mean lost writes.
  int Close() { return ::close(std::exchange(fd_, -1)); }

 private:
  int fd_;
};

// Removes a temp file on destruction unless Release()d (after the rename).
class TempFileGuard {
 public:
  explicit TempFileGuard(std::string path) : path_(std::move(path)) {}
  ~TempFileGuard() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;
  void Release() { path_.clear(); }

 private:
  std::string path_;
};

std::string ErrnoText(int err) { return std::system_category().message(err); }

// Maps a failed system call to a Status; `what` names the operation and path.
Status ErrnoStatus(const std::string& what, int err) {
  if (err == ENAMETOOLONG) return Status::InvalidArgument(what + ": " + ErrnoText(err));
  return Status::Unavailable("blob store: " + what + ": " + ErrnoText(err));
}

Status NotFound(const std::string& key) { return Status::NotFound("blob '" + key + "' not found"); }

bool IsAbsentErrno(int err) { return err == ENOENT || err == ENOTDIR; }

std::string ParentOf(const std::string& path) { return path.substr(0, path.rfind('/')); }

int OpenNoIntr(const std::string& path, int flags, mode_t mode = 0) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

// Makes a directory entry change (create, rename, unlink) durable.
Status SyncDir(const std::string& dir) {
  UniqueFd fd(OpenNoIntr(dir, O_RDONLY | O_DIRECTORY));
  if (!fd.valid()) return ErrnoStatus("open directory '" + dir + "'", errno);
  if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync directory '" + dir + "'", errno);
  return Status::Ok();
}

// Creates the directories between `root` and `dir` (`dir` is under root),
// syncing each new entry's parent so it survives a crash.
Status MakeDirs(const std::string& root, const std::string& dir, const std::string& key) {
  for (size_t pos = root.size() + 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    std::string sub = dir.substr(0, pos);
    if (::mkdir(sub.c_str(), 0755) == 0) {
      REFINERY_RETURN_IF_ERROR(SyncDir(ParentOf(sub)));
      continue;
    }
    if (errno != EEXIST) return ErrnoStatus("create directory '" + sub + "'", errno);
    struct stat st {};
    if (::stat(sub.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
      return Status::InvalidArgument("blob key '" + key + "': '" + sub.substr(root.size() + 1) +
                                     "' is a blob, so it cannot also be a directory");
    }
  }
  return Status::Ok();
}

Status WriteAll(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("write '" + path + "'", errno);
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

// Creates a fresh temp file in `dir`: pid + counter make the name unique,
// O_EXCL guarantees it (a stale file from a dead process with our pid).
Result<std::string> CreateTempFile(const std::string& dir, int& fd_out) {
  static std::atomic<uint64_t> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string path = dir + "/.~tmp." + std::to_string(::getpid()) + "." +
                       std::to_string(counter.fetch_add(1, std::memory_order_relaxed));
    fd_out = OpenNoIntr(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd_out >= 0) return path;
    if (errno != EEXIST) return ErrnoStatus("create temp file '" + path + "'", errno);
  }
  return Status::Unavailable("blob store: no free temp file name in '" + dir + "'");
}

Status ReadAll(int fd, const std::string& path, std::string& data) {
  char buffer[64 * 1024];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("read '" + path + "'", errno);
    if (n == 0) return Status::Ok();
    data.append(buffer, static_cast<size_t>(n));
  }
}

}  // namespace

Result<std::unique_ptr<FsBlobStore>> FsBlobStore::Open(const std::string& root) {
  if (root.empty()) return Status::InvalidArgument("blob directory: empty path");
  std::string trimmed = root;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  std::error_code ec;
  std::filesystem::create_directories(trimmed, ec);
  if (ec) return Status::Unavailable("blob directory '" + trimmed + "': " + ec.message());
  auto store = std::make_unique<FsBlobStore>(trimmed);
  REFINERY_RETURN_IF_ERROR(store->Ping());
  return store;
}

Status FsBlobStore::Put(const std::string& key, const std::string& data) {
  REFINERY_RETURN_IF_ERROR(ValidateBlobKey(key));
  std::string path = PathOf(key);
  std::string dir = ParentOf(path);
  REFINERY_RETURN_IF_ERROR(MakeDirs(root_, dir, key));
  int raw_fd = -1;
  Result<std::string> temp = CreateTempFile(dir, raw_fd);
  if (!temp.ok()) return temp.status();
  UniqueFd fd(raw_fd);
  TempFileGuard guard(*temp);
  REFINERY_RETURN_IF_ERROR(WriteAll(fd.get(), data, *temp));
  if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync '" + *temp + "'", errno);
  if (fd.Close() != 0) return ErrnoStatus("close '" + *temp + "'", errno);
  if (::rename(temp->c_str(), path.c_str()) != 0) {
    if (errno == EISDIR) {
      return Status::InvalidArgument("blob key '" + key + "' is a directory of other blobs");
    }
    return ErrnoStatus("rename to '" + path + "'", errno);
  }
  guard.Release();
  return SyncDir(dir);
}

Result<std::string> FsBlobStore::Get(const std::string& key) {
  REFINERY_RETURN_IF_ERROR(ValidateBlobKey(key));
  std::string path = PathOf(key);
  UniqueFd fd(OpenNoIntr(path, O_RDONLY));
  if (!fd.valid()) {
    if (IsAbsentErrno(errno)) return NotFound(key);
    return ErrnoStatus("open '" + path + "'", errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("stat '" + path + "'", errno);
  if (!S_ISREG(st.st_mode)) return NotFound(key);  // a directory of other keys
  std::string data;
  data.reserve(static_cast<size_t>(st.st_size));
  REFINERY_RETURN_IF_ERROR(ReadAll(fd.get(), path, data));
  return data;
}

Status FsBlobStore::Delete(const std::string& key) {
  REFINERY_RETURN_IF_ERROR(ValidateBlobKey(key));
  std::string path = PathOf(key);
  if (::unlink(path.c_str()) != 0) {
    // EISDIR/EPERM: a directory of other keys, i.e. no blob by this name.
    if (IsAbsentErrno(errno) || errno == EISDIR) return Status::Ok();
    struct stat st {};
    if (errno == EPERM && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Status::Ok();
    return ErrnoStatus("delete '" + path + "'", errno);
  }
  return SyncDir(ParentOf(path));
}

Result<bool> FsBlobStore::Exists(const std::string& key) {
  REFINERY_RETURN_IF_ERROR(ValidateBlobKey(key));
  std::string path = PathOf(key);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (IsAbsentErrno(errno)) return false;
    return ErrnoStatus("stat '" + path + "'", errno);
  }
  return S_ISREG(st.st_mode);
}

Status FsBlobStore::Ping() {
  struct stat st {};
  if (::stat(root_.c_str(), &st) != 0) return ErrnoStatus("blob directory '" + root_ + "'", errno);
  if (!S_ISDIR(st.st_mode)) return Status::Unavailable("blob directory '" + root_ + "' is not a directory");
  if (::access(root_.c_str(), W_OK | X_OK) != 0) {
    return ErrnoStatus("blob directory '" + root_ + "' is not writable", errno);
  }
  return CheckFreeSpace(root_, "blob store");
}

}  // namespace refinery
