#include "support/raw_sqlite.h"

#include <gtest/gtest.h>

namespace refinery::testing {

RawSqlite::RawSqlite(const std::string& path, bool read_only) {
  auto conn = sqlite::Connection::Open(path, {.busy_timeout_ms = 10000, .read_only = read_only});
  EXPECT_TRUE(conn.ok()) << conn.status().ToString();
  if (conn.ok()) conn_ = std::move(*conn);
}

Status RawSqlite::Exec(const std::string& sql) {
  if (conn_ == nullptr) return Status::Unavailable("not open");
  return conn_->Exec(sql.c_str());
}

std::vector<std::vector<std::string>> RawSqlite::Rows(const std::string& sql) {
  std::vector<std::vector<std::string>> rows;
  if (conn_ == nullptr) return rows;
  auto stmt = conn_->Prepare(sql.c_str());
  EXPECT_TRUE(stmt.ok()) << stmt.status().ToString();
  if (!stmt.ok()) return rows;
  const int columns = stmt->Columns();
  for (auto row = stmt->Step(); row.ok() && *row; row = stmt->Step()) {
    rows.emplace_back();
    for (int i = 0; i < columns; ++i) rows.back().push_back(stmt->Text(i));
  }
  return rows;
}

std::string RawSqlite::Text(const std::string& sql) {
  auto rows = Rows(sql);
  return rows.empty() || rows.front().empty() ? "<no row>" : rows.front().front();
}

int64_t RawSqlite::Int(const std::string& sql) {
  auto rows = Rows(sql);
  if (rows.empty() || rows.front().empty() || rows.front().front().empty()) return -1;
  return std::stoll(rows.front().front());
}

int64_t RawSqlite::Changes() const { return conn_ == nullptr ? 0 : conn_->Changes(); }

}  // namespace refinery::testing
