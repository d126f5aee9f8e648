#include "text/chunker.h"

#include <algorithm>

#include "core/utf8.h"
#include "text/sentences.h"

namespace refinery {
namespace {

using ingest::IsSpaceByte;
using ingest::TextSpan;

// The packing atom: a whole sentence, or a piece of one longer than the target.
struct Unit {
  size_t start = 0;
  size_t end = 0;
  bool whole = true;      // a whole sentence (only those may be repeated as overlap)
  bool para_end = false;  // the last unit of its paragraph
};

// Where a sentence longer than `target` is cut: after the last whitespace
// that keeps the piece within target, else at the last code point boundary
// within target, else (one code point wider than target) after that code point.
// Returns the piece's end; `next` receives the next piece's start.
size_t CutPoint(std::string_view text, size_t start, size_t end, size_t target, size_t& next) {
  size_t limit = start + target;
  size_t cut = limit;
  while (cut > start && !IsSpaceByte(static_cast<unsigned char>(text[cut]))) --cut;
  if (cut > start) {
    while (IsSpaceByte(static_cast<unsigned char>(text[cut - 1]))) --cut;
  } else {
    cut = limit;
    while (cut > start && !IsCodePointBoundary(text, cut)) --cut;
    if (cut == start) {
      cut = start + 1;
      while (cut < end && !IsCodePointBoundary(text, cut)) ++cut;
    }
  }
  next = cut;
  while (next < end && IsSpaceByte(static_cast<unsigned char>(text[next]))) ++next;
  return cut;
}

void AddSentence(std::string_view text, TextSpan sentence, size_t target, std::vector<Unit>& units) {
  size_t start = sentence.start;
  while (sentence.end - start > target) {
    size_t next = 0;
    size_t piece_end = CutPoint(text, start, sentence.end, target, next);
    units.push_back({start, piece_end, false, false});
    start = next;
  }
  // A code point wider than the target can leave nothing for a last piece.
  if (start < sentence.end) units.push_back({start, sentence.end, sentence.start == start, false});
}

std::vector<Unit> BuildUnits(std::string_view text, size_t target) {
  std::vector<Unit> units;
  std::vector<TextSpan> sentences;
  for (const TextSpan& paragraph : ingest::SplitParagraphs(text)) {
    sentences.clear();
    ingest::SplitSentences(text, paragraph, sentences);
    for (const TextSpan& sentence : sentences) AddSentence(text, sentence, target, units);
    units.back().para_end = true;
  }
  return units;
}

size_t Span(const std::vector<Unit>& units, size_t first, size_t last) { return units[last].end - units[first].start; }

// The last unit that still fits in a chunk starting at `first` (at least `first`).
size_t LastFitting(const std::vector<Unit>& units, size_t first, size_t target) {
  size_t last = first;
  while (last + 1 < units.size() && Span(units, first, last + 1) <= target) ++last;
  return last;
}

// Ends the chunk at an earlier paragraph end when that leaves it at least
// half full, so chunks rarely straddle paragraphs. Never ends before
// `floor_unit` (just past the previous chunk's last unit): each chunk adds text.
size_t PreferParagraphEnd(const std::vector<Unit>& units, size_t first, size_t last, size_t floor_unit, size_t target) {
  if (units[last].para_end || last + 1 == units.size()) return last;
  for (size_t m = last; m-- > floor_unit;) {
    if (!units[m].para_end) continue;
    return Span(units, first, m) * 2 >= target ? m : last;
  }
  return last;
}

// The first unit of the chunk after [first, last]: the earliest trailing
// whole sentences of it spanning <= overlap bytes that still leave room for
// the next new unit; last + 1 when none qualify. Always > first.
size_t NextStart(const std::vector<Unit>& units, size_t first, size_t last, size_t overlap, size_t target) {
  size_t next = last + 1;
  for (size_t c = last; c > first; --c) {
    if (!units[c].whole || Span(units, c, last) > overlap || Span(units, c, last + 1) > target) break;
    next = c;
  }
  return next;
}

TextChunk MakeChunk(std::string_view text, size_t start, size_t end) {
  TextChunk chunk;
  chunk.start = static_cast<int64_t>(start);
  chunk.end = static_cast<int64_t>(end);
  chunk.content.assign(text.substr(start, end - start));
  chunk.token_count = CountTokens(chunk.content);
  return chunk;
}

// Decodes the code point at `pos` (length in `length`); an invalid byte
// reads as U+FFFD with length 1 so counting never stalls.
uint32_t DecodeAt(std::string_view text, size_t pos, size_t& length) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char c = byte(pos);
  length = 1;
  if (c < 0x80) return c;
  size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
  constexpr uint32_t kReplacement = 0xFFFD;
  if (n == 1 || pos + n > text.size()) return kReplacement;
  uint32_t cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((byte(pos + k) & 0xC0) != 0x80) return kReplacement;
    cp = (cp << 6) | (byte(pos + k) & 0x3F);
  }
  length = n;
  return cp;
}

// Letters of alphabetic scripts join into words; CJK, emoji and symbols do not.
bool IsWordCodePoint(uint32_t cp) {
  if (cp < 0x80) {
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9');
  }
  if (cp == 0xD7 || cp == 0xF7) return false;  // multiplication and division signs
  return (cp >= 0xC0 && cp <= 0x24F) ||        // Latin-1 and Latin Extended letters
         (cp >= 0x300 && cp <= 0x52F) ||       // combining marks, Greek, Cyrillic
         (cp >= 0x1E00 && cp <= 0x1FFF);       // Latin Extended Additional, Greek Extended
}

}  // namespace

std::vector<TextChunk> ChunkText(std::string_view text, const ChunkerOptions& options) {
  size_t target = static_cast<size_t>(std::max(options.target_chars, 1));
  size_t overlap = static_cast<size_t>(std::max(options.overlap_chars, 0));
  std::vector<Unit> units = BuildUnits(text, target);
  std::vector<TextChunk> chunks;
  size_t first = 0;
  size_t floor_unit = 0;  // a chunk may end at a paragraph end no earlier than this unit
  while (first < units.size()) {
    size_t last = PreferParagraphEnd(units, first, LastFitting(units, first, target), floor_unit, target);
    chunks.push_back(MakeChunk(text, units[first].start, units[last].end));
    if (last + 1 >= units.size()) break;
    first = NextStart(units, first, last, overlap, target);
    floor_unit = last + 1;
  }
  return chunks;
}

int CountTokens(std::string_view text) {
  int count = 0;
  bool in_word = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t length = 1;
    uint32_t cp = DecodeAt(text, pos, length);
    pos += length;
    if (cp < 0x80 && IsSpaceByte(static_cast<unsigned char>(cp))) {
      in_word = false;
    } else if (IsWordCodePoint(cp)) {
      count += in_word ? 0 : 1;
      in_word = true;
    } else {
      count += cp == 0xA0 ? 0 : 1;  // a no-break space separates like a space
      in_word = false;
    }
  }
  return count;
}

}  // namespace refinery
