// What the Store backends share besides SQL: messages, the give-up rule's
// bookkeeping, chunk counts, which duration bucket a log entry is counted
// under, and folding the stored counter rows into StageCounters. Each store
// keeps one counter row per (stage, status, le): an append touches only the
// row of its own bucket, so concurrent workers with different durations
// never wait for each other. Not for other modules.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "store/records.h"

namespace refinery::backend_common {

std::string NotFoundMessage(int64_t id);
// Conflict: document `id` is in state `current`, not `wanted`.
Status WrongState(int64_t id, const std::string& current, const std::string& wanted);

// Marks `start` as given up on at `stage` (the document moves to "error"
// with GaveUpMessage) and returns the failure the backend then records, in
// the same transaction.
FailedAttempt GiveUp(AttemptStart& start, const std::string& stage, const std::string& state);

// A document's chunk figures after its chunks changed.
struct ChunkCounts {
  int64_t chunks = 0;    // chunk_count
  int64_t embedded = 0;  // embedded_count: chunks with an embedding
  int64_t evaluated = 0;  // evaluated_count: chunks with an evaluation
};
// The figures of a chunk set about to be written (an empty embedding is NULL).
ChunkCounts CountsOf(const std::vector<Chunk>& chunks);

// The row key `le` for a duration: the smallest StageDurationBuckets()
// bound >= seconds, +infinity past the last bound.
double BucketFor(double seconds);

// Folds one stage_totals row into `stats`. Its key is a state, or
// "error:<stage>" for the documents in "error" given up on at <stage>
// (schema v6), which count under "error" and in errors_by_stage.
void AddStageTotal(StoreStats& stats, const std::string& key, int64_t documents, int64_t chunks, int64_t embedded,
                   int64_t evaluated);
// Adds one row of chunk_failure_totals (stage "evaluate" or "extract").
void AddFailedChunks(StoreStats& stats, const std::string& stage, int64_t chunks);

// The log entry `note` asks for on document `id`, its duration measured now.
LogEntry EntryFor(int64_t id, const LogNote& note);

// Accumulates stored rows into StageCounters.
class Folder {
 public:
  // Rows may come in any order and repeat a key (PostgreSQL shards rows).
  // An `le` that is not a current bound (written under older bounds) is
  // counted under the smallest current bound >= le: never too low.
  void Add(const std::string& stage, const std::string& status, double le, int64_t count, double duration_sum_s);
  // Ordered by stage, then status.
  std::vector<StageCounter> Take();

 private:
  std::map<std::pair<std::string, std::string>, StageCounter> counters_;
};

}  // namespace refinery::backend_common
