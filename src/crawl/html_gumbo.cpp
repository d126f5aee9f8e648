// gumbo under a CPU and memory budget (crawl/html_internal.h), and the
// plain-text stand-in for pages that exhaust it.
#include <gumbo.h>

#include <algorithm>
#include <csetjmp>
#include <cstdlib>
#include <ctime>
#include <string>
#include <string_view>

#include "crawl/html_internal.h"

namespace refinery::crawl::internal {
namespace {

// gumbo records every parse error, each with a copy of the stack of open
// elements; hostile pages have millions.
constexpr int kMaxGumboErrors = 1000;
// Checking the clock on every allocation would cost more than it saves.
constexpr size_t kClockCheckInterval = 64;

double ThreadCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Tags that end a paragraph in the text-only stand-in; others join words.
bool IsBlockTag(std::string_view name) {
  static constexpr std::string_view kBlocks[] = {
      "address", "article", "aside", "blockquote", "br",  "dd",      "div",   "dl", "dt",     "figcaption", "figure",
      "footer",  "form",    "h1",    "h2",         "h3",  "h4",      "h5",    "h6", "header", "hr",         "li",
      "main",    "nav",     "ol",    "p",          "pre", "section", "table", "td", "th",     "tr",         "ul"};
  for (std::string_view block : kBlocks) {
    if (name == block) return true;
  }
  return false;
}

// Appends `text` with '<' escaped, so gumbo sees only characters (and
// character references, which it decodes).
void AppendEscaped(std::string_view text, std::string& out) {
  for (char c : text) {
    if (c == '<') {
      out += "&lt;";
    } else {
      out += c;
    }
  }
}

}  // namespace

ParseBudget BudgetFor(size_t input_bytes) {
  double mib = static_cast<double>(input_bytes) / (1 << 20);
  return {1.0 + 0.5 * mib, (size_t{64} << 20) + 24 * input_bytes};
}

GumboArena::~GumboArena() { FreeAll(); }

void* GumboArena::Allocate(void* userdata, size_t size) {
  auto* arena = static_cast<GumboArena*>(userdata);
  bool over = arena->bytes_ + size > arena->budget_.max_bytes;
  if (!over && ++arena->calls_ % kClockCheckInterval == 0) {
    over = ThreadCpuSeconds() - arena->cpu_start_ > arena->budget_.cpu_seconds;
  }
  void* raw = over ? nullptr : std::malloc(sizeof(Block) + size);
  if (raw == nullptr) {
    if (arena->abort_ != nullptr) std::longjmp(*arena->abort_, 1);  // back into RunParse
    std::abort();                                                   // gumbo cannot cope with a failed allocation
  }
  auto* block = static_cast<Block*>(raw);
  block->size = size;
  block->prev = &arena->head_;
  block->next = arena->head_.next;
  arena->head_.next->prev = block;
  arena->head_.next = block;
  arena->bytes_ += size;
  return block + 1;
}

void GumboArena::Deallocate(void* userdata, void* pointer) {
  if (pointer == nullptr) return;
  auto* arena = static_cast<GumboArena*>(userdata);
  Block* block = static_cast<Block*>(pointer) - 1;
  block->prev->next = block->next;
  block->next->prev = block->prev;
  arena->bytes_ -= block->size;
  std::free(block);
}

void GumboArena::FreeAll() {
  for (Block* block = head_.next; block != &head_;) {
    Block* next = block->next;
    std::free(block);
    block = next;
  }
  head_.next = head_.prev = &head_;
  bytes_ = 0;
}

const GumboOutput* GumboArena::Parse(std::string_view html) {
  FreeAll();
  GumboOptions options = kGumboDefaultOptions;
  options.allocator = &GumboArena::Allocate;
  options.deallocator = &GumboArena::Deallocate;
  options.userdata = this;
  options.max_errors = kMaxGumboErrors;
  return RunParse(options, html);
}

// Nothing here with a destructor lives across the setjmp: the longjmp from
// Allocate only skips gumbo's C frames, whose memory FreeAll reclaims.
const GumboOutput* GumboArena::RunParse(const GumboOptions& options, std::string_view html) {
  std::jmp_buf env;
  abort_ = &env;
  calls_ = 0;
  cpu_start_ = ThreadCpuSeconds();
  if (setjmp(env) != 0) {
    abort_ = nullptr;
    FreeAll();
    return nullptr;
  }
  const GumboOutput* output = gumbo_parse_with_options(&options, html.data(), html.size());
  abort_ = nullptr;
  return output;
}

std::string TextOnlyHtml(std::string_view html) {
  std::string out;
  out.reserve(html.size() / 2 + 16);
  out += "<p>";
  size_t pos = 0;
  while (pos < html.size()) {
    size_t lt = std::min(html.find('<', pos), html.size());
    AppendEscaped(html.substr(pos, lt - pos), out);
    if (lt == html.size()) break;
    char next = lt + 1 < html.size() ? html[lt + 1] : '\0';
    bool tag = IsAlpha(next) || (next == '/' && lt + 2 < html.size() && IsAlpha(html[lt + 2]));
    if (html.compare(lt, 4, "<!--") == 0) {
      pos = CommentEnd(html, lt);
    } else if (next == '!' || next == '?' || next == '/' || tag) {
      ScannedTag scanned;
      if (!tag || !ReadTag(html, lt, scanned)) {
        size_t end = html.find('>', lt);
        pos = end == std::string_view::npos ? html.size() : end + 1;
        continue;
      }
      pos = scanned.end_offset;
      const std::string& name = scanned.name;
      bool hidden = name == "script" || name == "style" || name == "template" || name == "noscript";
      if (!scanned.is_end && hidden) pos = RawTextEnd(html, pos, name);
      if (IsBlockTag(name)) out += "</p><p>";
    } else {
      out += "&lt;";
      pos = lt + 1;
    }
  }
  out += "</p>";
  return out;
}

}  // namespace refinery::crawl::internal
