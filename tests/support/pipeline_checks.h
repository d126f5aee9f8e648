// Checks end-to-end tests make on what a `refinery up` run produced.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "support/process_util.h"
#include "support/refinery_process.h"

namespace refinery::testing {

// Documents in "complete" per GET /stats.
int64_t CompleteCount(const RefineryUp& up);

// The first column of the first row of `sql` on the SQLite file (read-only); -1 if none.
int64_t CountSqlite(const std::string& db_path, const std::string& sql);

// gtest expectations: each document's stored chunks (GET
// /documents/{id}/chunks) are exactly a fresh chunking of its text with the
// defaults `refinery up` runs with. Returns how many documents differ.
int ExpectChunksExact(const RefineryUp& up, const std::map<int64_t, ScifactDoc>& by_id);

// How many chunks a fresh chunking of every document yields.
int64_t FreshChunkCount(const std::map<int64_t, ScifactDoc>& by_id);

}  // namespace refinery::testing
