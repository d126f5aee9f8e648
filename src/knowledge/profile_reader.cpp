#include "knowledge/profile_reader.h"

#include <cmath>
#include <cstdio>

namespace refinery::profile_internal {

const toml::node* TableReader::Find(const char* key) {
  read_.insert(key);
  if (table_ == nullptr) return nullptr;
  return table_->get(key);
}

Status TableReader::Error(const std::string& key, const std::string& problem) const {
  return Status::InvalidArgument(source_ + ": " + Path(key) + ": " + problem);
}

Status TableReader::Number(const char* key, double lo, double hi, double& out) {
  const toml::node* node = Find(key);
  if (node == nullptr) return Status::Ok();
  std::optional<double> value = node->value<double>();  // integers convert too
  if (!value || !std::isfinite(*value) || *value < lo || *value > hi) {
    char range[64];
    std::snprintf(range, sizeof(range), "%g..%g", lo, hi);
    return Error(key, std::string("expected a number in ") + range);
  }
  out = *value;
  return Status::Ok();
}

Status TableReader::Int(const char* key, int64_t lo, int64_t hi, int& out) {
  const toml::node* node = Find(key);
  if (node == nullptr) return Status::Ok();
  if (!node->is_integer() || *node->value<int64_t>() < lo || *node->value<int64_t>() > hi) {
    return Error(key, "expected an integer in " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  out = static_cast<int>(*node->value<int64_t>());
  return Status::Ok();
}

Status TableReader::String(const char* key, std::string& out, bool required) {
  const toml::node* node = Find(key);
  if (node == nullptr) return required ? Error(key, "missing (required)") : Status::Ok();
  if (!node->is_string()) return Error(key, "expected a string");
  out = *node->value<std::string>();
  return Status::Ok();
}

Status TableReader::Strings(const char* key, std::vector<std::string>& out) {
  const toml::node* node = Find(key);
  if (node == nullptr) return Status::Ok();
  const toml::array* array = node->as_array();
  if (array == nullptr) return Error(key, "expected an array of strings");
  std::vector<std::string> values;
  for (const toml::node& item : *array) {
    if (!item.is_string()) return Error(key, "expected an array of strings");
    values.push_back(*item.value<std::string>());
  }
  out = std::move(values);
  return Status::Ok();
}

Result<const toml::table*> TableReader::Table(const char* key) {
  const toml::node* node = Find(key);
  if (node == nullptr) return static_cast<const toml::table*>(nullptr);
  if (!node->is_table()) return Error(key, "expected a table");
  return node->as_table();
}

Result<std::vector<const toml::table*>> TableReader::Tables(const char* key) {
  std::vector<const toml::table*> tables;
  const toml::node* node = Find(key);
  if (node == nullptr) return tables;
  const toml::array* array = node->as_array();
  if (array == nullptr) return Error(key, "expected an array of tables ([[" + Path(key) + "]])");
  for (const toml::node& item : *array) {
    if (!item.is_table()) return Error(key, "expected an array of tables ([[" + Path(key) + "]])");
    tables.push_back(item.as_table());
  }
  return tables;
}

std::vector<std::string> TableReader::Keys() const {
  std::vector<std::string> keys;
  if (table_ == nullptr) return keys;
  for (const auto& [key, node] : *table_) keys.emplace_back(key.str());
  return keys;
}

Status TableReader::Finish() const {
  if (table_ == nullptr) return Status::Ok();
  for (const auto& [key, node] : *table_) {
    if (read_.count(std::string(key.str())) == 0) return Error(std::string(key.str()), "unknown key");
  }
  return Status::Ok();
}

}  // namespace refinery::profile_internal
