// Test helper: a Store that forwards every call to a real one, so a test
// can override just the method it wants to break (hang, throw, fail).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "store/store.h"

namespace refinery::testing {

class ForwardingStore : public Store {
 public:
  explicit ForwardingStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

  Status Ping() override { return inner_->Ping(); }
  Status CheckWritable() override { return inner_->CheckWritable(); }
  Status Migrate() override { return inner_->Migrate(); }
  Result<int> SchemaVersion() override { return inner_->SchemaVersion(); }
  Result<InsertOutcome> InsertDocument(const NewDocument& d) override { return inner_->InsertDocument(d); }
  Result<Document> GetDocument(int64_t id) override { return inner_->GetDocument(id); }
  Result<DocumentPage> ListDocuments(const std::string& stage, int64_t limit, int64_t offset) override {
    return inner_->ListDocuments(stage, limit, offset);
  }
  Status DeleteDocument(int64_t id) override { return inner_->DeleteDocument(id); }
  Status SetStage(int64_t id, const StageTransition& t) override { return inner_->SetStage(id, t); }
  Status ReplaceChunks(int64_t id, const std::vector<Chunk>& c, const StageTransition& t) override {
    return inner_->ReplaceChunks(id, c, t);
  }
  Result<std::vector<Chunk>> GetChunks(int64_t id) override { return inner_->GetChunks(id); }
  Status SetEmbeddings(int64_t id, const std::vector<std::pair<int64_t, std::vector<float>>>& v,
                       const StageTransition& t) override {
    return inner_->SetEmbeddings(id, v, t);
  }
  Result<AttemptStart> StartAttempt(int64_t id, const std::string& stage, const std::string& state,
                                    int max_attempts) override {
    return inner_->StartAttempt(id, stage, state, max_attempts);
  }
  Status ReleaseAttempt(int64_t id, const std::string& state) override { return inner_->ReleaseAttempt(id, state); }
  Status RecordFailure(int64_t id, const FailedAttempt& f) override { return inner_->RecordFailure(id, f); }
  Status AppendLog(const LogEntry& e) override { return inner_->AppendLog(e); }
  Result<std::vector<LogEntry>> GetLog(int64_t id) override { return inner_->GetLog(id); }
  Result<std::vector<int64_t>> StaleDocuments(const std::string& state, double older_than,
                                              int64_t limit) override {
    return inner_->StaleDocuments(state, older_than, limit);
  }
  Result<StoreStats> Stats() override { return inner_->Stats(); }
  Result<std::vector<StageCounter>> StageCounters() override { return inner_->StageCounters(); }
  Result<std::vector<ChunkVector>> ScanEmbeddings(int64_t after, int64_t limit) override {
    return inner_->ScanEmbeddings(after, limit);
  }
  Result<std::vector<ChunkHit>> GetChunkHits(const std::vector<int64_t>& ids) override {
    return inner_->GetChunkHits(ids);
  }
  Result<std::vector<LexicalHit>> LexicalSearch(const std::string& query, int64_t limit) override {
    return inner_->LexicalSearch(query, limit);
  }
  PoolStats GetPoolStats() override { return inner_->GetPoolStats(); }

 protected:
  std::unique_ptr<Store> inner_;
};

}  // namespace refinery::testing
