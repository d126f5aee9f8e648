// DocumentStore's shared front: the argument checks every backend relies on.
#include "store/documents.h"

#include <nlohmann/json.hpp>

namespace refinery {
namespace {

Status Required(const std::string& value, const char* what) {
  return value.empty() ? Status::InvalidArgument(std::string(what) + " is required") : Status::Ok();
}

// Validated without building a DOM (json::accept is a SAX pass), so even a
// hostile, deeply nested value costs no recursion here.
Status CheckMetadata(const std::string& json) {
  const size_t first = json.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || json[first] != '{' || !nlohmann::json::accept(json)) {
    return Status::InvalidArgument("metadata must be a JSON object");
  }
  return Status::Ok();
}

}  // namespace

Result<InsertOutcome> DocumentStore::Insert(const NewDocument& doc) {
  REFINERY_RETURN_IF_ERROR(Required(doc.content_hash, "content_hash"));
  REFINERY_RETURN_IF_ERROR(Required(doc.state, "state"));
  if (doc.metadata_json.empty()) {
    NewDocument with_metadata = doc;
    with_metadata.metadata_json = "{}";
    return DoInsert(with_metadata);
  }
  REFINERY_RETURN_IF_ERROR(CheckMetadata(doc.metadata_json));
  return DoInsert(doc);
}

Result<Document> DocumentStore::Get(int64_t id) { return DoGet(id); }

Result<DocumentPage> DocumentStore::List(const std::string& state, int64_t limit, int64_t offset) {
  if (limit < 0 || offset < 0) return Status::InvalidArgument("limit and offset must be >= 0");
  return DoList(state, limit, offset);
}

Status DocumentStore::Delete(int64_t id) { return DoDelete(id); }

Status DocumentStore::SetState(int64_t id, const StateTransition& t) {
  REFINERY_RETURN_IF_ERROR(Required(t.from, "transition from"));
  REFINERY_RETURN_IF_ERROR(Required(t.to, "transition to"));
  return DoSetState(id, t);
}

Result<AttemptStart> DocumentStore::StartAttempt(int64_t id, const std::string& stage, const std::string& state,
                                                 int max_attempts) {
  REFINERY_RETURN_IF_ERROR(Required(stage, "stage"));
  REFINERY_RETURN_IF_ERROR(Required(state, "state"));
  if (max_attempts < 1) return Status::InvalidArgument("max_attempts must be >= 1");
  return DoStartAttempt(id, stage, state, max_attempts);
}

Status DocumentStore::ReleaseAttempt(int64_t id, const std::string& state) {
  REFINERY_RETURN_IF_ERROR(Required(state, "state"));
  return DoReleaseAttempt(id, state);
}

Status DocumentStore::RecordFailure(int64_t id, const FailedAttempt& failure) {
  REFINERY_RETURN_IF_ERROR(Required(failure.stage, "stage"));
  REFINERY_RETURN_IF_ERROR(Required(failure.state, "state"));
  return DoRecordFailure(id, failure);
}

Result<std::vector<int64_t>> DocumentStore::Stale(const std::string& state, double older_than, int64_t limit) {
  REFINERY_RETURN_IF_ERROR(Required(state, "state"));
  if (limit < 0) return Status::InvalidArgument("limit must be >= 0");
  if (limit == 0) return std::vector<int64_t>{};
  return DoStale(state, older_than, limit);
}

}  // namespace refinery
