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

}  // namespace refinery
