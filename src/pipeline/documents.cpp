// Entry and exit of documents: ingest, delete, retry, re-embed.
#include <functional>

#include <spdlog/spdlog.h>

#include "pipeline/documents.h"

#include "core/hash.h"
#include "core/random.h"
#include "core/utf8.h"
#include "pipeline/services.h"
#include "pipeline/stage_chain.h"

namespace refinery {
namespace {

// Every document owns its blob: the content hash plus a random nonce. With
// a key per content instead, deleting a document raced an identical
// re-ingest: the new row pointed at the blob the delete then removed.
std::string NewBlobKey(const std::string& hash) {
  return "documents/" + hash.substr(0, 2) + "/" + hash + "-" + RandomHex(64) + ".txt";
}

Status ValidateIngest(const IngestRequest& r) {
  if (r.content.find_first_not_of(" \t\r\n") == std::string::npos) {
    return Status::InvalidArgument("content: must not be empty");
  }
  if (!IsValidUtf8(r.content)) return Status::InvalidArgument("content: is not valid UTF-8");
  if (!IsValidUtf8(r.title)) return Status::InvalidArgument("title: is not valid UTF-8");
  return Status::Ok();
}

}  // namespace

Result<IngestOutcome> IngestDocument(Services& services, const IngestRequest& request) {
  REFINERY_RETURN_IF_ERROR(ValidateIngest(request));
  const StageDef& first = StageChain().front();
  NewDocument doc;
  doc.title = request.title;
  doc.source_url = request.source_url;
  doc.content_hash = Sha256Hex(request.content);
  doc.mime_type = request.mime_type;
  doc.blob_key = NewBlobKey(doc.content_hash);
  doc.state = first.state;
  doc.metadata_json = request.metadata_json;
  // Blob first: a document row must never point at a blob that is not there.
  REFINERY_RETURN_IF_ERROR(services.blobs->Put(doc.blob_key, request.content));
  auto inserted = services.store->documents().Insert(doc);
  if (!inserted.ok() || !inserted->created) {
    // Rejected, or the content was already stored: no row owns this blob.
    Status removed = services.blobs->Delete(doc.blob_key);
    if (!removed.ok()) spdlog::warn("blob {} left behind: {}", doc.blob_key, removed.ToString());
  }
  if (!inserted.ok()) return inserted.status();
  if (inserted->created) {
    Status queued = services.queue->Enqueue(first.name, inserted->id);
    if (!queued.ok()) {
      // The document is stored; the reconciler enqueues it once the queue is back.
      spdlog::warn("document {} stored but not enqueued: {}", inserted->id, queued.ToString());
    }
  }
  return IngestOutcome{inserted->id, inserted->created};
}

Status DeleteDocumentEverywhere(Services& services, int64_t id) {
  auto doc = services.store->documents().Get(id);
  if (!doc.ok()) return doc.status();
  // With its mentions; every entity it was a source of is recounted in the
  // same transaction, so the answer comes after the recount committed.
  REFINERY_RETURN_IF_ERROR(services.store->knowledge().DeleteDocument(id, services.resolver));
  // A queued job for this document finds it gone and is acknowledged as
  // done. The blob is this document's alone (NewBlobKey): no other row can
  // point at it, so removing it after the row is safe.
  return services.blobs->Delete(doc->blob_key);
}

Status RetryDocument(Services& services, int64_t id) {
  auto doc = services.store->documents().Get(id);
  if (!doc.ok()) return doc.status();
  if (doc->state != kStateError) {
    return Status::Conflict("document " + std::to_string(id) + " is in state '" + doc->state +
                            "', not 'error'; only failed documents can be retried");
  }
  const StageDef* stage = FindStage(doc->error_stage);
  if (stage == nullptr) stage = &StageChain().front();
  REFINERY_RETURN_IF_ERROR(services.store->documents().SetState(id, {kStateError, stage->state}));
  return services.queue->Enqueue(stage->name, id);
}

namespace {

constexpr int64_t kReembedPage = 500;

// Calls `each` with every document in `state` embedded by another model.
Status ForEachOtherModel(Services& services, const std::string& state, const std::function<Status(int64_t)>& each) {
  const std::string model = services.embedder->Name();
  for (int64_t after = 0;;) {
    auto ids = services.store->chunks().EmbeddedByOtherModels(model, state, after, kReembedPage);
    if (!ids.ok()) return ids.status();
    for (int64_t id : *ids) REFINERY_RETURN_IF_ERROR(each(id));
    if (static_cast<int64_t>(ids->size()) < kReembedPage) return Status::Ok();
    after = ids->back();
  }
}

}  // namespace

Result<ReembedOutcome> ReembedDocuments(Services& services, bool dry_run) {
  const StageDef* embed = FindStage("embed");
  if (embed == nullptr) return Status::Internal("no embed stage");
  ReembedOutcome outcome;
  REFINERY_RETURN_IF_ERROR(ForEachOtherModel(services, kStateComplete, [&](int64_t id) -> Status {
    if (dry_run) {
      ++outcome.queued;
      return Status::Ok();
    }
    LogNote note{embed->name, kLogRequeued, "re-embedding with " + services.embedder->Name(), 0};
    Status moved = services.store->documents().SetState(id, {kStateComplete, embed->state, note});
    if (moved.code() == StatusCode::kConflict || moved.code() == StatusCode::kNotFound) return Status::Ok();
    REFINERY_RETURN_IF_ERROR(moved);
    ++outcome.queued;
    // Enqueue failing leaves it in "embedding": the reconciler enqueues it.
    return services.queue->Enqueue(embed->name, id);
  }));
  // Documents up to the embed stage's state get the configured model's
  // vectors anyway; those past it (and in error) are only counted.
  bool past_embed = false;
  for (const std::string& state : AllStates()) {
    const bool skip = !past_embed || state == kStateComplete;
    if (state == embed->state) past_embed = true;
    if (skip) continue;
    REFINERY_RETURN_IF_ERROR(ForEachOtherModel(services, state, [&](int64_t) -> Status {
      ++outcome.skipped;
      return Status::Ok();
    }));
  }
  return outcome;
}

}  // namespace refinery
