// A checked walk over one TOML table of a profile: every read names the
// key in its error, and Finish() refuses keys nobody read, so a typo in a
// profile fails at start instead of silently meaning a default.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "core/status.h"

namespace refinery::profile_internal {

class TableReader {
 public:
  // `table` may be null (an absent section: every read keeps its default).
  TableReader(const toml::table* table, std::string path, const std::string& source)
      : table_(table), path_(std::move(path)), source_(source) {}

  // Each leaves `out` unchanged when the key is absent (unless required).
  Status Number(const char* key, double lo, double hi, double& out);
  Status Int(const char* key, int64_t lo, int64_t hi, int& out);
  Status String(const char* key, std::string& out, bool required = false);
  Status Strings(const char* key, std::vector<std::string>& out);
  // The sub-table, or null when absent; an error when not a table.
  Result<const toml::table*> Table(const char* key);
  // The array of tables, empty when absent.
  Result<std::vector<const toml::table*>> Tables(const char* key);
  // Keys of this table, sorted (for tables keyed by name).
  std::vector<std::string> Keys() const;
  void MarkRead(const std::string& key) { read_.insert(key); }
  // InvalidArgument for the first key not read.
  Status Finish() const;

  // "source: path.key: problem"
  Status Error(const std::string& key, const std::string& problem) const;
  std::string Path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  const std::string& source() const { return source_; }

 private:
  const toml::node* Find(const char* key);

  const toml::table* table_;
  std::string path_;
  const std::string& source_;
  std::set<std::string> read_;
};

}  // namespace refinery::profile_internal
