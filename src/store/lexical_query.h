// Turns a user's search text into the words a lexical (full-text) query
// looks for, and renders them in each engine's query syntax. Shared by the
// store backends so both see exactly the same words; user text only ever
// reaches an engine as these whitelisted words, never as query syntax.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace refinery::lexical {

// The most words one query keeps (the first ones): bounds the cost of an
// OR over a pasted page of text.
constexpr size_t kMaxTerms = 64;

// Lower-cased words of `text`, first occurrence order, without duplicates
// or English stop words (PostgreSQL's `english` list, so SQLite drops the
// same words PostgreSQL does). A word is a run of letters and digits (ASCII
// alphanumerics, non-ASCII letters of valid UTF-8); punctuation, symbols,
// whitespace and invalid bytes separate words, so a term never contains a
// quote, an operator or whitespace.
std::vector<std::string> Terms(std::string_view text);

// FTS5: "w1" OR "w2" ... (each a quoted string, so keywords like NOT or
// NEAR are plain words). Empty for no terms.
std::string Fts5OrQuery(const std::vector<std::string>& terms);

}  // namespace refinery::lexical
