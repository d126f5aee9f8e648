// Test helper: a Store whose every role forwards to a real store's, so a
// test can replace just the method it wants to break (hang, throw, fail):
// subclass a Forwarding<Role>, override its Do* method, and install it with
// ForwardingStore::Replace.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "store/store.h"

namespace refinery::testing {

class ForwardingDocuments : public DocumentStore {
 public:
  explicit ForwardingDocuments(DocumentStore& inner) : inner_(inner) {}

 protected:
  Result<InsertOutcome> DoInsert(const NewDocument& d) override { return inner_.Insert(d); }
  Result<Document> DoGet(int64_t id) override { return inner_.Get(id); }
  Result<DocumentPage> DoList(const std::string& state, int64_t limit, int64_t offset) override {
    return inner_.List(state, limit, offset);
  }
  Status DoDelete(int64_t id) override { return inner_.Delete(id); }
  Status DoSetState(int64_t id, const StateTransition& t) override { return inner_.SetState(id, t); }
  Result<AttemptStart> DoStartAttempt(int64_t id, const std::string& stage, const std::string& state,
                                      int max_attempts) override {
    return inner_.StartAttempt(id, stage, state, max_attempts);
  }
  Status DoReleaseAttempt(int64_t id, const std::string& state) override { return inner_.ReleaseAttempt(id, state); }
  Status DoRecordFailure(int64_t id, const FailedAttempt& f) override { return inner_.RecordFailure(id, f); }
  Result<std::vector<int64_t>> DoStale(const std::string& state, double older_than, int64_t limit) override {
    return inner_.Stale(state, older_than, limit);
  }

  DocumentStore& inner_;
};

class ForwardingChunks : public ChunkStore {
 public:
  explicit ForwardingChunks(ChunkStore& inner) : inner_(inner) {}

 protected:
  Status DoReplace(int64_t id, const std::vector<Chunk>& c, const StateTransition& t) override {
    return inner_.Replace(id, c, t);
  }
  Result<std::vector<Chunk>> DoGet(int64_t id) override { return inner_.Get(id); }
  Status DoSetEmbeddings(int64_t id, const std::string& model, const ChunkEmbeddings& v,
                         const StateTransition& t) override {
    return inner_.SetEmbeddings(id, model, v, t);
  }
  Status DoSetEvaluations(int64_t id, const ChunkEvaluations& e, const ChunkEvaluationFailures& f,
                          const StateTransition& t) override {
    return inner_.SetEvaluations(id, e, t, f);
  }
  Result<std::vector<ChunkVector>> DoScanEmbeddings(int64_t after, int64_t limit) override {
    return inner_.ScanEmbeddings(after, limit);
  }
  Result<std::vector<int64_t>> DoEmbeddedByOtherModels(const std::string& model, const std::string& state,
                                                       int64_t after, int64_t limit) override {
    return inner_.EmbeddedByOtherModels(model, state, after, limit);
  }
  Result<std::vector<ChunkHit>> DoHits(const std::vector<int64_t>& ids) override { return inner_.Hits(ids); }

  ChunkStore& inner_;
};

class ForwardingSearchIndex : public SearchIndex {
 public:
  explicit ForwardingSearchIndex(SearchIndex& inner) : inner_(inner) {}

 protected:
  Result<std::vector<LexicalHit>> DoLexical(const std::vector<std::string>& terms, int64_t limit) override {
    std::string query;
    for (const std::string& term : terms) query += term + " ";
    return inner_.Lexical(query, limit);
  }

  SearchIndex& inner_;
};

class ForwardingTelemetry : public TelemetryStore {
 public:
  explicit ForwardingTelemetry(TelemetryStore& inner) : inner_(inner) {}

 protected:
  Status DoAppendLog(const LogEntry& e) override { return inner_.AppendLog(e); }
  Result<std::vector<LogEntry>> DoGetLog(int64_t id) override { return inner_.GetLog(id); }
  Result<std::vector<StageCounter>> DoStageCounters() override { return inner_.StageCounters(); }
  Result<StoreStats> DoStats() override { return inner_.Stats(); }

  TelemetryStore& inner_;
};

class ForwardingStore : public Store {
 public:
  explicit ForwardingStore(std::unique_ptr<Store> inner)
      : inner_(std::move(inner)),
        documents_(std::make_unique<ForwardingDocuments>(inner_->documents())),
        chunks_(std::make_unique<ForwardingChunks>(inner_->chunks())),
        search_index_(std::make_unique<ForwardingSearchIndex>(inner_->search_index())),
        telemetry_(std::make_unique<ForwardingTelemetry>(inner_->telemetry())) {}

  DocumentStore& documents() override { return *documents_; }
  ChunkStore& chunks() override { return *chunks_; }
  SearchIndex& search_index() override { return *search_index_; }
  TelemetryStore& telemetry() override { return *telemetry_; }
  KnowledgeStore& knowledge() override { return inner_->knowledge(); }
  EmbeddingCache& embedding_cache() override { return inner_->embedding_cache(); }
  ReasoningCache& reasoning_cache() override { return inner_->reasoning_cache(); }
  CrawlStore& crawls() override { return inner_->crawls(); }
  Status Migrate() override { return inner_->Migrate(); }
  Result<int> SchemaVersion() override { return inner_->SchemaVersion(); }
  Status Ping() override { return inner_->Ping(); }
  Status CheckWritable() override { return inner_->CheckWritable(); }
  PoolStats GetPoolStats() override { return inner_->GetPoolStats(); }

 protected:
  // Installs a broken role (built over inner_'s) in place of the forwarding one.
  void Replace(std::unique_ptr<DocumentStore> role) { documents_ = std::move(role); }
  void Replace(std::unique_ptr<TelemetryStore> role) { telemetry_ = std::move(role); }

  std::unique_ptr<Store> inner_;

 private:
  std::unique_ptr<DocumentStore> documents_;
  std::unique_ptr<ChunkStore> chunks_;
  std::unique_ptr<SearchIndex> search_index_;
  std::unique_ptr<TelemetryStore> telemetry_;
};

}  // namespace refinery::testing
