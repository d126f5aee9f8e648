// OpenStore: picks the Store implementation from the configuration.
#include "store/store.h"

#include <filesystem>
#include <system_error>

#include "store/postgres_store.h"
#include "store/sqlite_store.h"

namespace refinery {

std::string GaveUpMessage(int attempts, const std::string& last_error) {
  std::string message = "gave up after " + std::to_string(attempts) + (attempts == 1 ? " attempt" : " attempts");
  if (last_error.empty()) return message + " (the worker died or timed out each time)";
  return message + "; last error: " + last_error;
}

Result<std::unique_ptr<Store>> OpenStore(const Config& config, bool create) {
  std::string path;
  if (config.database_url.empty()) {
    std::error_code ec;
    if (create) std::filesystem::create_directories(config.data_dir, ec);
    if (ec) {
      return Status::Unavailable("cannot create data directory " + config.data_dir + ": " + ec.message());
    }
    path = config.SqlitePath();
  } else if (config.database_url.starts_with("sqlite:")) {
    path = config.database_url.substr(std::string_view("sqlite:").size());
    if (path.empty()) return Status::InvalidArgument("DATABASE_URL: sqlite: needs a file path");
  } else if (config.database_url.starts_with("postgresql://") || config.database_url.starts_with("postgres://")) {
    auto store = PostgresStore::Open(config);
    if (!store.ok()) return store.status();
    return std::unique_ptr<Store>(std::move(*store));
  } else {
    return Status::InvalidArgument(
        "DATABASE_URL: expected postgresql://..., postgres://... or sqlite:PATH; unset it to "
        "use the embedded SQLite store in the data directory");
  }
  std::error_code ec;
  if (!create && !std::filesystem::exists(path, ec)) {
    return Status::InvalidArgument("no database at " + path + ": run `refinery migrate` (or `up`) first");
  }
  auto store = SqliteStore::Open(path);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(std::move(*store));
}

}  // namespace refinery
