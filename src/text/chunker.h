// Chunker: splits a UTF-8 text into overlapping, paragraph- and
// sentence-aware chunks whose byte offsets map back to the text exactly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace refinery {

struct ChunkerOptions {
  int target_chars =
      1000;  // aim; a chunk exceeds it only for one over-long sentence (then cut at a word or code point)
  int overlap_chars = 150;  // at most this many trailing bytes (whole sentences) repeat at the next chunk's head
};

struct TextChunk {
  int64_t start = 0;  // byte offset, inclusive
  int64_t end = 0;    // byte offset, exclusive; text.substr(start, end - start) == content
  std::string content;
  int token_count = 0;
};

// Pure and deterministic: the same text and options give the same chunks.
// Guarantees: every chunk is non-empty, not all whitespace, starts and ends
// on UTF-8 code point boundaries, starts after the previous chunk's start;
// together the chunks cover every non-whitespace byte of the text.
std::vector<TextChunk> ChunkText(std::string_view text, const ChunkerOptions& options);

// Word-like tokens (runs of letters/digits; each other non-space code point
// counts as one), an estimate of what an LLM tokenizer would see.
int CountTokens(std::string_view text);

}  // namespace refinery
