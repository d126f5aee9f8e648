// The stage chain and the stages built so far (chunk, embed, evaluate).
#include <chrono>
#include <thread>

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
  return s.store->chunks().SetEmbeddings(doc.id, updates, t);
}

// Judges every chunk; evaluating again replaces the earlier judgement, so a
// re-delivered job changes nothing. An evaluator failure fails the attempt
// (retried), never a default score.
Status RunEvaluate(Services& s, const Document& doc, const StateTransition& t) {
  auto chunks = s.store->chunks().Get(doc.id);
  if (!chunks.ok()) return chunks.status();
  TestDelay(s.config);
  ChunkEvaluations evaluations;
  evaluations.reserve(chunks->size());
  for (const Chunk& chunk : *chunks) {
    auto e = s.evaluator->Evaluate({chunk.content, doc.title, doc.source_url});
    if (!e.ok()) return e.status();
    evaluations.emplace_back(
        chunk.id, ChunkEvaluation{e->trust_score, e->relevance_score, e->domain, e->reasoning, e->evaluator});
  }
  return s.store->chunks().SetEvaluations(doc.id, evaluations, t);
}

}  // namespace

const std::vector<StageDef>& StageChain() {
  // Later issues insert crawl (state "pending") before chunk, and evaluate,
  // extract, resolve after embed: rows here, nothing else.
  static const std::vector<StageDef> kChain = {
      {"chunk", "chunking", "embedding", "embed", RunChunk},
      {"embed", "embedding", "evaluating", "evaluate", RunEmbed},
      {"evaluate", "evaluating", kStateComplete, "", RunEvaluate},
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
