// Per-test production backends for end-to-end tests: a fresh PostgreSQL
// database, a flushed Redis database index and a unique S3 bucket, from the
// servers scripts/test-services.sh started (REFINERY_TEST_* variables).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace refinery::testing {

class ProductionBackends {
 public:
  // nullptr when the test servers are not configured (the caller skips).
  static std::unique_ptr<ProductionBackends> Create();
  ProductionBackends() = default;  // use Create()
  ~ProductionBackends();           // drops the database
  ProductionBackends(const ProductionBackends&) = delete;
  ProductionBackends& operator=(const ProductionBackends&) = delete;

  // DATABASE_URL, REDIS_URL, MINIO_* style variables for a refinery process.
  std::map<std::string, std::string> Env() const;
  const std::string& database_url() const { return database_url_; }
  // Runs one SQL statement on the test database and returns the first
  // column of the first row as an integer (-1 on error).
  int64_t QueryInt(const std::string& sql) const;

 private:
  std::string admin_url_;  // the refinery_test database, to create/drop ours
  std::string database_name_;
  std::string database_url_;
  std::string redis_url_;
  std::string s3_url_;
  std::string bucket_;
};

}  // namespace refinery::testing
