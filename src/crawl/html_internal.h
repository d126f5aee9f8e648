// Internals of crawl/html_page: text extraction over a gumbo tree
// (html_text.cpp) and the nesting limiter run before gumbo
// (html_nesting.cpp). Not for use outside crawl/html_*.
#pragma once

#include <gumbo.h>

#include <csetjmp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace refinery::crawl::internal {

// The readable text of the tree under `root` (see HtmlPage::text), cut to
// at most `max_bytes` at a code point boundary. Iterative: any depth.
std::string ExtractText(const GumboNode& root, size_t max_bytes);

// The text content of `node` (scripts and styles skipped), whitespace runs
// collapsed to one space and trimmed, cut to at most `max_bytes`.
std::string CollapsedText(const GumboNode& node, size_t max_bytes);

// `text` with whitespace runs collapsed to one space and trimmed, cut to at
// most `max_bytes` at a code point boundary.
std::string CollapseWhitespace(std::string_view text, size_t max_bytes);

// A start or end tag as the HTML tokenizer reads it.
struct ScannedTag {
  std::string name;  // ASCII lower-cased
  bool is_end = false;
  bool self_closing = false;
  std::vector<std::pair<std::string, std::string>> attributes;  // lower-case names, raw values
  size_t end_offset = 0;                                        // one past the tag's '>'
};

// Reads the tag whose '<' is at `pos` (followed by a letter, or by '/' and a
// letter), attribute quoting included; false when the input ends inside it
// (the tokenizer then drops it).
bool ReadTag(std::string_view s, size_t pos, ScannedTag& tag);

// One past the end of the comment whose "<!--" is at `pos` ("-->" or
// "--!>"; "<!-->" counts), or s.size().
size_t CommentEnd(std::string_view s, size_t pos);

// Where the raw text (script, style, textarea...) starting at `pos` ends:
// the '<' of the first "</name" followed by whitespace, '/' or '>' (any
// case), or s.size().
size_t RawTextEnd(std::string_view s, size_t pos, std::string_view name);

// What one gumbo parse may use before it is abandoned.
struct ParseBudget {
  double cpu_seconds;  // CPU time of the parsing thread
  size_t max_bytes;    // memory held by gumbo at once
};

// The budget for a page of `input_bytes`: ordinary pages parse at about
// 16 MB/s holding 12 bytes per input byte, so this allows about ten times
// the time and twice the memory (plus a floor for small pages).
ParseBudget BudgetFor(size_t input_bytes);

// Owns every allocation gumbo makes in a parse, the output tree included,
// and abandons a parse that exceeds its budget: gumbo is quadratic on some
// inputs the nesting limiter misjudges, and cannot be stopped otherwise. The
// allocator longjmps back out of gumbo (only C frames are skipped) and the
// arena frees what gumbo held. Freeing is one sweep of a list, so no
// gumbo_destroy_output, which recurses once per tree level.
class GumboArena {
 public:
  explicit GumboArena(ParseBudget budget) : budget_(budget) {}
  ~GumboArena();
  GumboArena(const GumboArena&) = delete;
  GumboArena& operator=(const GumboArena&) = delete;

  // The parse of `html`, valid until the next Parse or the arena's end;
  // null when the budget ran out.
  const GumboOutput* Parse(std::string_view html);

 private:
  struct Block {  // header of each allocation, 32 bytes: keeps malloc's alignment
    Block* prev;
    Block* next;
    size_t size;
    size_t unused;
  };
  static void* Allocate(void* userdata, size_t size);
  static void Deallocate(void* userdata, void* pointer);
  const GumboOutput* RunParse(const GumboOptions& options, std::string_view html);
  void FreeAll();

  ParseBudget budget_;
  Block head_{&head_, &head_, 0, 0};  // sentinel of the circular list of blocks
  size_t bytes_ = 0;
  size_t calls_ = 0;
  double cpu_start_ = 0;
  std::jmp_buf* abort_ = nullptr;  // set while gumbo runs
};

// The text of `html` as paragraphs of escaped text ("<p>...</p>"): tags,
// comments and script/style content dropped. For pages gumbo gave up on;
// gumbo parses this in linear time and still decodes character references.
std::string TextOnlyHtml(std::string_view html);

// How deep FlattenDeepNesting lets elements nest. Blink stops at 512; text
// extraction needs far less, and gumbo's per-tag cost grows with the depth.
inline constexpr size_t kMaxHtmlNesting = 128;

// gumbo 0.10.1 has no depth limit and its tree builder walks the stack of
// open elements for almost every tag, so parsing costs O(tags x depth): 100k
// nested <div>s take half a minute. This scans `html` with a model of
// gumbo's stack of open elements (tokenizer states, scopes, tables, select,
// foreign content, formatting-element reconstruction) and, before a tag that
// would open an element deeper than `max_depth`, inserts end tags for the
// innermost open elements, so deeper elements become siblings, as browsers
// do past their own limit. The model errs towards counting too deep: an
// extra end tag for an element that is not open is ignored by the parser.
// Returns nullopt when nothing needed inserting (all ordinary pages).
std::optional<std::string> FlattenDeepNesting(std::string_view html, size_t max_depth = kMaxHtmlNesting);

}  // namespace refinery::crawl::internal
