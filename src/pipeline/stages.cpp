// The stage chain and the stages built so far (chunk, embed, evaluate,
// extract, resolve).
#include <algorithm>
#include <chrono>
#include <thread>

#include "core/log.h"
#include "pipeline/services.h"
#include "pipeline/stage_chain.h"
#include "text/chunker.h"

namespace refinery {
namespace {

// Test-only: widens the window in which a kill hits a job in flight.
void TestDelay(const Config& config) {
  if (config.test_stage_delay_ms > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(config.test_stage_delay_ms));
  }
}

using ChunkFailures = ChunkExtractionFailures;  // chunk id, why

// Logs each chunk whose LLM answer was unusable, after the stage's writes
// committed (counted per stage in /metrics as refinery_chunks_failed_total).
void LogChunkFailures(Services& s, const Document& doc, const std::string& stage, const ChunkFailures& failures) {
  for (const auto& [chunk_id, why] : failures) {
    spdlog::warn("document {} chunk {}: {} failed: {}", doc.id, chunk_id, stage, why);
    LogEntry entry;
    entry.document_id = doc.id;
    entry.stage = stage;
    entry.status = kLogChunkFailed;
    entry.message = "chunk " + std::to_string(chunk_id) + ": " + why;
    (void)s.store->telemetry().AppendLog(entry);  // best effort: the stage's own writes are in
  }
}

Status RunChunk(Services& s, const Document& doc, const StateTransition& t) {
  auto text = s.blobs->Get(doc.blob_key);
  if (!text.ok()) return text.status();
  TestDelay(s.config);
  ChunkerOptions options{s.config.chunk_target_chars, s.config.chunk_overlap_chars};
  std::vector<Chunk> chunks;
  for (const auto& piece : ChunkText(*text, options)) {
    Chunk chunk;
    chunk.document_id = doc.id;
    chunk.chunk_index = static_cast<int>(chunks.size());
    chunk.content = piece.content;
    chunk.char_start = piece.start;
    chunk.char_end = piece.end;
    chunk.token_count = piece.token_count;
    chunks.push_back(std::move(chunk));
  }
  return s.store->chunks().Replace(doc.id, chunks, t);
}

Status RunEmbed(Services& s, const Document& doc, const StateTransition& t) {
  auto chunks = s.store->chunks().Get(doc.id);
  if (!chunks.ok()) return chunks.status();
  TestDelay(s.config);
  std::vector<std::string> texts;
  texts.reserve(chunks->size());
  for (const auto& chunk : *chunks) texts.push_back(chunk.content);
  auto vectors = s.embedder->Embed(texts);
  if (!vectors.ok()) return vectors.status();
  ChunkEmbeddings updates;
  updates.reserve(chunks->size());
  for (size_t i = 0; i < chunks->size(); ++i) updates.emplace_back((*chunks)[i].id, std::move((*vectors)[i]));
  return s.store->chunks().SetEmbeddings(doc.id, s.embedder->Name(), updates, t);
}

// Judges every chunk; evaluating again replaces the earlier judgement, so a
// re-delivered job changes nothing. An unreachable evaluator fails the
// attempt (retried; an outage pauses the stage); an answer unusable even
// after its repair is recorded as the chunk's failed evaluation with the
// reason -- never a default score -- and the document goes on.
Status RunEvaluate(Services& s, const Document& doc, const StateTransition& t) {
  auto chunks = s.store->chunks().Get(doc.id);
  if (!chunks.ok()) return chunks.status();
  TestDelay(s.config);
  ChunkEvaluations evaluations;
  ChunkEvaluationFailures failures;
  evaluations.reserve(chunks->size());
  for (const Chunk& chunk : *chunks) {
    auto e = s.evaluator->Evaluate({chunk.content, doc.title, doc.source_url});
    if (e.status().code() == StatusCode::kInvalidArgument) {
      failures.emplace_back(chunk.id, EvaluationFailure{s.evaluator->Name(), e.status().message()});
      continue;
    }
    if (!e.ok()) return e.status();
    evaluations.emplace_back(
        chunk.id, ChunkEvaluation{e->trust_score, e->relevance_score, e->domain, e->reasoning, e->evaluator});
  }
  REFINERY_RETURN_IF_ERROR(s.store->chunks().SetEvaluations(doc.id, evaluations, t, failures));
  ChunkFailures logged;
  for (const auto& [chunk_id, f] : failures) logged.emplace_back(chunk_id, f.reason);
  LogChunkFailures(s, doc, "evaluate", logged);
  return Status::Ok();
}

// A chunk below the profile's extraction gate is still searched for the
// types it must never miss (always_extract: a valid DTC code), so trust
// and relevance weigh a source but never hide one.
bool Keep(const Profile& p, const Chunk& chunk, const ExtractedEntity& e) {
  const bool gated = chunk.evaluation && chunk.evaluation->relevance_score < p.extraction_gate;
  return !gated || std::find(p.always_extract.begin(), p.always_extract.end(), e.type) != p.always_extract.end();
}

// Replaces the document's mentions; the entities they touch wait for resolve.
Status RunExtract(Services& s, const Document& doc, const StateTransition& t) {
  auto chunks = s.store->chunks().Get(doc.id);
  if (!chunks.ok()) return chunks.status();
  TestDelay(s.config);
  std::vector<Mention> mentions;
  ChunkFailures failures;
  for (const Chunk& chunk : *chunks) {
    const bool gated = chunk.evaluation && chunk.evaluation->relevance_score < s.profile->extraction_gate;
    if (gated && s.profile->always_extract.empty()) continue;  // nothing it could yield is kept
    auto found = s.extractor->Extract(chunk.content);
    if (found.status().code() == StatusCode::kInvalidArgument) {  // an unusable answer: the chunk yields nothing
      failures.emplace_back(chunk.id, found.status().message());
      continue;
    }
    if (!found.ok()) return found.status();
    for (ExtractedEntity& e : *found) {
      if (!Keep(*s.profile, chunk, e)) continue;
      Mention m;
      m.chunk_id = chunk.id;
      m.entity = {std::move(e.type), std::move(e.key)};
      m.attributes_json = e.attributes.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      m.start = static_cast<int64_t>(e.start);
      m.end = static_cast<int64_t>(e.end);
      m.trust = chunk.evaluation ? chunk.evaluation->trust_score : s.profile->base_trust;
      m.parent = {std::move(e.parent_type), std::move(e.parent_key)};
      mentions.push_back(std::move(m));
    }
  }
  REFINERY_RETURN_IF_ERROR(s.store->knowledge().ReplaceMentions(doc.id, mentions, t, failures));
  LogChunkFailures(s, doc, "extract", failures);
  return Status::Ok();
}

// Recomputes every entity the document's mentions touched, from all sources.
Status RunResolve(Services& s, const Document& doc, const StateTransition& t) {
  TestDelay(s.config);
  return s.store->knowledge().ResolvePending(doc.id, s.resolver, t);
}

}  // namespace

const std::vector<StageDef>& StageChain() {
  // Later issues insert crawl (state "pending") before chunk, and evaluate,
  // extract, resolve after embed: rows here, nothing else.
  static const std::vector<StageDef> kChain = {
      {"chunk", "chunking", "embedding", "embed", RunChunk, nullptr, nullptr},
      {"embed", "embedding", "evaluating", "evaluate", RunEmbed, nullptr, nullptr},
      {"evaluate", "evaluating", "extracting", "extract", RunEvaluate, nullptr, nullptr},
      {"extract", "extracting", "resolving", "resolve", RunExtract, nullptr, nullptr},
      {"resolve", "resolving", kStateComplete, "", RunResolve, nullptr, nullptr},
  };
  return kChain;
}

const StageDef* FindStage(const std::string& name) {
  for (const auto& stage : StageChain()) {
    if (stage.name == name) return &stage;
  }
  return nullptr;
}

std::vector<std::string> AllStates() {
  std::vector<std::string> states;
  for (const auto& stage : StageChain()) states.push_back(stage.state);
  states.push_back(kStateComplete);
  states.push_back(kStateError);
  return states;
}

std::string StageNames() {
  std::string names;
  for (const auto& stage : StageChain()) names += (names.empty() ? "" : ", ") + stage.name;
  return names;
}

}  // namespace refinery
