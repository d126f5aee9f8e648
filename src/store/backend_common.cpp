#include "store/backend_common.h"

#include <algorithm>
#include <limits>

#include "core/clock.h"

namespace refinery {

const std::vector<double>& StageDurationBuckets() {
  // Changing these keeps stored counts valid (each row carries its own
  // bound, see Folder::Add); the v3 migrations' backfill spells them out.
  static const std::vector<double> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                               2.5,   5,    10,    30,   60,  120,  300};
  return kBuckets;
}

namespace backend_common {
namespace {

// Index into StageCounter::buckets for a row's `le`.
size_t BucketIndex(double le) {
  const auto& bounds = StageDurationBuckets();
  return static_cast<size_t>(std::lower_bound(bounds.begin(), bounds.end(), le) - bounds.begin());
}

}  // namespace

void AddFailedChunks(StoreStats& stats, const std::string& stage, int64_t chunks) {
  if (stage == "evaluate") stats.chunks_evaluation_failed += chunks;
  if (stage == "extract") stats.chunks_extraction_failed += chunks;
}

void AddStageTotal(StoreStats& stats, const std::string& key, int64_t documents, int64_t chunks, int64_t embedded,
                   int64_t evaluated) {
  constexpr std::string_view kErrorPrefix = "error:";
  if (key.starts_with(kErrorPrefix)) {
    stats.documents_by_state["error"] += documents;
    const std::string stage = key.substr(kErrorPrefix.size());
    if (!stage.empty() && documents > 0) stats.errors_by_stage[stage] += documents;
  } else {
    stats.documents_by_state[key] += documents;
  }
  stats.total_documents += documents;
  stats.total_chunks += chunks;
  stats.chunks_with_embeddings += embedded;
  stats.chunks_evaluated += evaluated;
}

LogEntry EntryFor(int64_t id, const LogNote& note) {
  LogEntry entry;
  entry.document_id = id;
  entry.stage = note.stage;
  entry.status = note.status;
  entry.message = note.message;
  if (note.started_at > 0) entry.duration_ms = std::max(0.0, (NowSeconds() - note.started_at) * 1000);
  return entry;
}

std::string NotFoundMessage(int64_t id) { return "document " + std::to_string(id) + " does not exist"; }

Status WrongState(int64_t id, const std::string& current, const std::string& wanted) {
  return Status::Conflict("document " + std::to_string(id) + " is in state '" + current + "', not '" + wanted + "'");
}

FailedAttempt GiveUp(AttemptStart& start, const std::string& stage, const std::string& state) {
  Document& doc = start.document;
  start.gave_up = true;
  doc.error_message = GaveUpMessage(doc.attempts, doc.error_message);
  doc.state = kStateError;
  doc.error_stage = stage;
  return {stage, state, doc.error_message, true, 0};
}

ChunkCounts CountsOf(const std::vector<Chunk>& chunks) {
  ChunkCounts counts{static_cast<int64_t>(chunks.size()), 0, 0};
  for (const Chunk& c : chunks) {
    counts.embedded += c.embedding.empty() ? 0 : 1;
    counts.evaluated += c.evaluation ? 1 : 0;
  }
  return counts;
}

double BucketFor(double seconds) {
  const auto& bounds = StageDurationBuckets();
  size_t i = BucketIndex(seconds);
  return i < bounds.size() ? bounds[i] : std::numeric_limits<double>::infinity();
}

void Folder::Add(const std::string& stage, const std::string& status, double le, int64_t count, double duration_sum_s) {
  StageCounter& c = counters_[{stage, status}];
  if (c.buckets.empty()) {
    c.stage = stage;
    c.status = status;
    c.buckets.assign(StageDurationBuckets().size() + 1, 0);
  }
  c.count += count;
  c.duration_sum_s += duration_sum_s;
  c.buckets[BucketIndex(le)] += count;
}

std::vector<StageCounter> Folder::Take() {
  std::vector<StageCounter> out;
  out.reserve(counters_.size());
  for (auto& [key, counter] : counters_) out.push_back(std::move(counter));
  counters_.clear();
  return out;
}

}  // namespace backend_common
}  // namespace refinery
