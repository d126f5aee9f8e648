// Raw SQL on a SQLite file behind a backend's back -- to look at it, hold
// its write lock, or write what an older version wrote -- through the one
// SQLite layer (core/sqlite.h), on a connection of its own.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/sqlite.h"

namespace refinery::testing {

class RawSqlite {
 public:
  // Adds a test failure when the file cannot be opened (then every query
  // answers as if empty).
  explicit RawSqlite(const std::string& path, bool read_only = false);

  // One or more statements; the Status says why not.
  Status Exec(const std::string& sql);
  // Every row, each column as text (NULL as "").
  std::vector<std::vector<std::string>> Rows(const std::string& sql);
  // The first column of the first row: "<no row>" when there is none.
  std::string Text(const std::string& sql);
  // The first column of the first row as an integer; -1 when there is none.
  int64_t Int(const std::string& sql);
  // Rows changed by the latest statement.
  int64_t Changes() const;

 private:
  std::unique_ptr<sqlite::Connection> conn_;
};

}  // namespace refinery::testing
