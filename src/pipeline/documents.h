// Entry and exit of documents: ingest, delete, and an operator's retry.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace refinery {

struct Services;

struct IngestRequest {
  std::string title;
  std::string content;  // UTF-8 text
  std::string source_url;
  std::string mime_type = "text/plain";
  std::string metadata_json = "{}";
};

struct IngestOutcome {
  int64_t id = 0;
  bool created = false;  // false: identical content was already stored
};

// Stores the text as a blob of the new document's own, inserts the document
// in the first stage's state and enqueues that stage. Identical content
// returns the existing document (the blob written meanwhile is removed
// again). InvalidArgument for
// empty or non-UTF-8 content or title.
Result<IngestOutcome> IngestDocument(Services& services, const IngestRequest& request);

// Deletes a document, its chunks, log and blob. NotFound if absent.
Status DeleteDocumentEverywhere(Services& services, int64_t id);

// Sends a document in "error" back to the stage that gave up (attempts
// reset) and enqueues it. NotFound if absent; Conflict if not in "error".
Status RetryDocument(Services& services, int64_t id);

struct ReembedOutcome {
  int64_t queued = 0;  // complete documents sent back to the embed stage
  // Documents with another model's vectors still on their way through the
  // pipeline or in error: left alone (run again once they complete).
  int64_t skipped = 0;
};

// After the embedding model changed: every complete document with a vector
// of another model than services.embedder's goes back to "embedding" and
// is enqueued there (it then passes the later stages again, which are
// idempotent). With `dry_run`, only counts. Safe to run while workers run.
Result<ReembedOutcome> ReembedDocuments(Services& services, bool dry_run);

}  // namespace refinery
