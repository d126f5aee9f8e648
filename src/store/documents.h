// DocumentStore: documents and their states -- the source of truth of what
// must happen next to each one, and the one owner of attempts, the last
// error and the decision to give up (a queue message is only a wake-up).
//
// Every public method validates its arguments here, once, then calls the
// backend's Do* method; a backend implements only the Do* methods and may
// assume valid arguments. Errors common to every method: Unavailable (or
// Timeout) when the database is down or busy -- retry later.
//
// Thread-safety: every method may be called from many threads and from
// several processes sharing one database.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/records.h"

namespace refinery {

class DocumentStore {
 public:
  virtual ~DocumentStore() = default;

  // Inserts a document unless one with the same content_hash exists, in
  // which case that one's id is returned with created=false (atomic under
  // races). InvalidArgument: empty content_hash or state, or metadata_json
  // that is not a JSON object.
  Result<InsertOutcome> Insert(const NewDocument& doc);
  // NotFound if absent.
  Result<Document> Get(int64_t id);
  // Newest first; an empty `state` means every state. InvalidArgument for a
  // negative limit or offset.
  Result<DocumentPage> List(const std::string& state, int64_t limit, int64_t offset);
  // Removes the document with its chunks and log (not its blob: the caller
  // owns blobs). NotFound if absent. Its mentions go with it, but the
  // entities they supported are NOT recomputed: a document that may have
  // been extracted is deleted with KnowledgeStore::DeleteDocument.
  Status Delete(int64_t id);
  // Moves the document from t.from to t.to (clearing attempts and error when
  // the state changes) with t.log. NotFound if absent; Conflict (and no
  // write) if it is not in t.from.
  Status SetState(int64_t id, const StateTransition& t);

  // Starts one attempt at `stage` of a document waiting in `state`: counts
  // it (attempts + 1) and returns the document, in one transaction. A
  // worker that dies mid-attempt still used one. A document already at
  // `max_attempts` is instead moved to "error" with error_stage = stage,
  // error_message = GaveUpMessage(...) and a kLogFailed log entry, and
  // returned with gave_up. NotFound if absent; Conflict if not in `state`
  // (a duplicate wake-up: it moved on). InvalidArgument: empty stage or
  // state, max_attempts < 1.
  Result<AttemptStart> StartAttempt(int64_t id, const std::string& stage, const std::string& state, int max_attempts);
  // Takes back the attempt StartAttempt counted (never below 0), when it
  // ended through no fault of the document (a dependency outage). NotFound
  // if absent; Conflict if not in `state`.
  Status ReleaseAttempt(int64_t id, const std::string& state);
  // Records a failed attempt: stores failure.message and, when terminal,
  // moves the document to "error" with error_stage = failure.stage; appends
  // the log entry (kLogFailed when terminal, else kLogRetried) in the same
  // transaction. NotFound if absent; Conflict (and no write) if not in
  // failure.state. InvalidArgument: empty stage or state.
  Status RecordFailure(int64_t id, const FailedAttempt& failure);

  // Ids of documents in `state` whose state_changed_at is older than
  // `older_than` (epoch seconds), oldest first, at most `limit`.
  // InvalidArgument: empty state, negative limit.
  Result<std::vector<int64_t>> Stale(const std::string& state, double older_than, int64_t limit);

 protected:
  // REQUIRES (each): the arguments passed the checks documented above;
  // metadata_json is never empty.
  virtual Result<InsertOutcome> DoInsert(const NewDocument& doc) = 0;
  virtual Result<Document> DoGet(int64_t id) = 0;
  virtual Result<DocumentPage> DoList(const std::string& state, int64_t limit, int64_t offset) = 0;
  virtual Status DoDelete(int64_t id) = 0;
  virtual Status DoSetState(int64_t id, const StateTransition& t) = 0;
  virtual Result<AttemptStart> DoStartAttempt(int64_t id, const std::string& stage, const std::string& state,
                                              int max_attempts) = 0;
  virtual Status DoReleaseAttempt(int64_t id, const std::string& state) = 0;
  virtual Status DoRecordFailure(int64_t id, const FailedAttempt& failure) = 0;
  virtual Result<std::vector<int64_t>> DoStale(const std::string& state, double older_than, int64_t limit) = 0;
};

}  // namespace refinery
