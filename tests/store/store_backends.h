// The Store conformance fixture, parameterized over every backend.
// Adding a backend (e.g. PostgreSQL) means adding one entry to StoreBackends().
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pg_test_util.h"
#include "store/postgres_store.h"
#include "store/sqlite_store.h"
#include "store/store.h"
#include "support/test_support.h"

namespace refinery {

inline const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const Result<T>& r) {
  return r.status();
}
// Each evaluates `expr` once and prints the Status on failure.
#define ASSERT_STORE_OK(expr)                                                              \
  do {                                                                                     \
    const auto& store_ok_value_ = (expr);                                                  \
    ASSERT_TRUE(store_ok_value_.ok()) << ::refinery::StatusOf(store_ok_value_).ToString(); \
  } while (0)
#define EXPECT_STORE_OK(expr)                                                              \
  do {                                                                                     \
    const auto& store_ok_value_ = (expr);                                                  \
    EXPECT_TRUE(store_ok_value_.ok()) << ::refinery::StatusOf(store_ok_value_).ToString(); \
  } while (0)
#define EXPECT_STORE_CODE(expr, status_code) \
  EXPECT_EQ(::refinery::StatusOf(expr).code(), ::refinery::StatusCode::status_code)

struct StoreBackend {
  std::string name;
  // A fresh, empty store (files, if any, under `temp_dir`). A null store
  // means the backend is not available on this machine: its tests skip.
  std::function<Result<std::unique_ptr<Store>>(const std::string& temp_dir)> make;
};

inline std::vector<StoreBackend> StoreBackends() {
  return {
      {"sqlite",
       [](const std::string& dir) -> Result<std::unique_ptr<Store>> {
         auto store = SqliteStore::Open(dir + "/store.db");
         if (!store.ok()) return store.status();
         return std::unique_ptr<Store>(std::move(*store));
       }},
      // A database of its own per test on the server of REFINERY_TEST_DATABASE_URL;
      // skipped when that is unset.
      {"postgres",
       [](const std::string&) -> Result<std::unique_ptr<Store>> {
         auto url = pgtest::FreshDatabaseUrl();
         if (!url.ok()) return url.status();
         if (url->empty()) return std::unique_ptr<Store>();
         auto store = PostgresStore::Open(pgtest::ConfigFor(*url));
         if (!store.ok()) return store.status();
         return std::unique_ptr<Store>(std::move(*store));
       }},
  };
}

inline std::string BackendName(const ::testing::TestParamInfo<StoreBackend>& info) { return info.param.name; }

class StoreConformance : public ::testing::TestWithParam<StoreBackend> {
 protected:
  void SetUp() override {
    auto store = GetParam().make(dir_.path());
    ASSERT_STORE_OK(store);
    if (*store == nullptr) GTEST_SKIP() << GetParam().name << " is not available here";
    store_ = std::move(*store);
    ASSERT_STORE_OK(store_->Migrate());
  }

  Store& store() { return *store_; }

  static NewDocument NewDoc(const std::string& hash, const std::string& stage = "chunking") {
    NewDocument doc;
    doc.title = "title " + hash;
    doc.source_url = "https://example.org/" + hash;
    doc.content_hash = hash;
    doc.state = stage;
    return doc;
  }

  // Inserts a new document and returns its id (0 after a failed assertion).
  int64_t Insert(const std::string& hash, const std::string& stage = "chunking") {
    auto outcome = store().documents().Insert(NewDoc(hash, stage));
    EXPECT_TRUE(outcome.ok()) << outcome.status().ToString();
    return outcome.ok() ? outcome->id : 0;
  }

  static std::vector<Chunk> MakeChunks(int count, const std::string& prefix) {
    std::vector<Chunk> chunks;
    for (int i = 0; i < count; ++i) {
      Chunk c;
      c.chunk_index = i;
      c.content = prefix + " chunk " + std::to_string(i);
      c.char_start = i * 100;
      c.char_end = i * 100 + 90;
      c.token_count = 10 + i;
      chunks.push_back(c);
    }
    return chunks;
  }

  // Takes `count` new documents of its own through insert, chunking and, by
  // turns: embedding (some chunks) to complete; a terminal failure; deletion;
  // completion and a re-run back to chunking. Returns the first failure, or "".
  std::string WalkDocumentsThroughEveryChange(int worker, int count) {
    for (int i = 0; i < count; ++i) {
      const std::string hash = "walk-" + std::to_string(worker) + "-" + std::to_string(i);
      auto doc = store().documents().Insert(NewDoc(hash));
      if (!doc.ok()) return "insert: " + doc.status().ToString();
      const int64_t id = doc->id;
      Status s = store().chunks().Replace(id, MakeChunks(1 + i % 4, hash), {"chunking", "embedding"});
      if (!s.ok()) return "replace chunks: " + s.ToString();
      auto chunks = store().chunks().Get(id);
      if (!chunks.ok()) return "get chunks: " + chunks.status().ToString();
      std::vector<std::pair<int64_t, std::vector<float>>> vectors;
      for (size_t k = 0; k < chunks->size(); k += 2) vectors.emplace_back((*chunks)[k].id, std::vector<float>{1.0f});
      switch (i % 4) {
        case 0:
          s = store().chunks().SetEmbeddings(id, "test-model", vectors, {"embedding", "complete"});
          break;
        case 1:
          s = store().documents().RecordFailure(id, {"embed", "embedding", "boom", /*terminal=*/true, 0});
          break;
        case 2:
          s = store().documents().Delete(id);
          break;
        default:
          s = store().chunks().SetEmbeddings(id, "test-model", vectors, {"embedding", "complete"});
          if (s.ok()) s = store().documents().SetState(id, {"complete", "chunking"});
      }
      if (!s.ok()) return "change " + std::to_string(i % 4) + ": " + s.ToString();
    }
    return "";
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

}  // namespace refinery
