// Readable text from a gumbo tree (crawl/html_internal.h).
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "core/utf8.h"
#include "crawl/html_internal.h"

namespace refinery::crawl::internal {
namespace {

constexpr std::string_view kNoBreakSpace = "\xC2\xA0";

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

// Cuts `text` to at most `max_bytes` without splitting a UTF-8 sequence.
void CutAtBoundary(std::string& text, size_t max_bytes) { text.resize(Utf8Prefix(text, max_bytes).size()); }

const GumboVector* Children(const GumboNode& node) {
  if (node.type == GUMBO_NODE_DOCUMENT) return &node.v.document.children;
  if (node.type == GUMBO_NODE_ELEMENT || node.type == GUMBO_NODE_TEMPLATE) return &node.v.element.children;
  return nullptr;
}

const GumboNode& Child(const GumboVector& children, unsigned i) {
  return *static_cast<const GumboNode*>(children.data[i]);
}

bool IsText(const GumboNode& node) {
  return node.type == GUMBO_NODE_TEXT || node.type == GUMBO_NODE_CDATA || node.type == GUMBO_NODE_WHITESPACE;
}

// Elements whose content is not readable page text.
bool IsDropped(const GumboNode& node) {
  if (node.type == GUMBO_NODE_TEMPLATE) return true;
  if (node.type != GUMBO_NODE_ELEMENT) return false;
  switch (node.v.element.tag) {
    case GUMBO_TAG_SCRIPT:
    case GUMBO_TAG_STYLE:
    case GUMBO_TAG_NOSCRIPT:
    case GUMBO_TAG_TEMPLATE:
    case GUMBO_TAG_SVG:
    case GUMBO_TAG_IFRAME:
    case GUMBO_TAG_NAV:
    case GUMBO_TAG_FOOTER:
    case GUMBO_TAG_HEADER:
    case GUMBO_TAG_ASIDE:
    case GUMBO_TAG_FORM:
    case GUMBO_TAG_BUTTON:
    case GUMBO_TAG_SELECT:
    case GUMBO_TAG_HEAD:
    case GUMBO_TAG_TITLE:
      return true;
    default:
      return false;
  }
}

bool IsBlock(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_P:
    case GUMBO_TAG_DIV:
    case GUMBO_TAG_SECTION:
    case GUMBO_TAG_ARTICLE:
    case GUMBO_TAG_MAIN:
    case GUMBO_TAG_H1:
    case GUMBO_TAG_H2:
    case GUMBO_TAG_H3:
    case GUMBO_TAG_H4:
    case GUMBO_TAG_H5:
    case GUMBO_TAG_H6:
    case GUMBO_TAG_LI:
    case GUMBO_TAG_UL:
    case GUMBO_TAG_OL:
    case GUMBO_TAG_TABLE:
    case GUMBO_TAG_TR:
    case GUMBO_TAG_BLOCKQUOTE:
    case GUMBO_TAG_PRE:
    case GUMBO_TAG_DL:
    case GUMBO_TAG_DT:
    case GUMBO_TAG_DD:
    case GUMBO_TAG_FIGURE:
    case GUMBO_TAG_FIGCAPTION:
    case GUMBO_TAG_HR:
    case GUMBO_TAG_ADDRESS:
    case GUMBO_TAG_CAPTION:
    case GUMBO_TAG_DETAILS:
    case GUMBO_TAG_SUMMARY:
    case GUMBO_TAG_CENTER:
    case GUMBO_TAG_HGROUP:
    case GUMBO_TAG_LISTING:
    case GUMBO_TAG_FIELDSET:
    case GUMBO_TAG_LEGEND:
      return true;
    default:
      return false;
  }
}

// Accumulates text with deferred separators: a block break, list prefix or
// cell separator is only written once real content follows it, so empty
// elements leave no trace and breaks never pile up.
class TextBuilder {
 public:
  explicit TextBuilder(size_t max_bytes) : max_bytes_(max_bytes) {}

  bool full() const { return out_.size() >= max_bytes_; }

  // Text of a node; `preformatted` keeps its whitespace and line breaks.
  void Text(std::string_view text, bool preformatted) {
    for (size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      if (full() && (static_cast<unsigned char>(c) & 0xC0) != 0x80) return;  // stop between characters
      if (preformatted) {
        if (c == '\r') continue;
        BeginContent();
        out_ += c;
      } else if (IsSpace(c) || text.compare(i, 2, kNoBreakSpace) == 0) {
        if (!IsSpace(c)) ++i;  // U+00A0 is two bytes
        space_ = true;
      } else {
        BeginContent();
        if (space_ && !AtLineStart()) out_ += ' ';
        space_ = false;
        out_ += c;
      }
    }
  }

  // A blank line before more content (between blocks).
  void Break() { newlines_ = 2; }
  // One more line break before more content (<br>); two make a blank line.
  void LineBreak() { newlines_ = std::min(2, newlines_ + 1); }
  // Separates with a space only (blocks inside table cells).
  void Space() { space_ = true; }
  // Written at the start of the next content ("- " for a list item).
  void Prefix(std::string_view prefix) { prefix_ = prefix; }
  void StartRow() {
    row_has_content_ = false;
    cell_pending_ = false;
  }
  void StartCell() { cell_pending_ = true; }

  // The text with trailing line whitespace and surplus blank lines removed.
  std::string Finish() {
    CutAtBoundary(out_, max_bytes_);
    std::string result;
    result.reserve(out_.size());
    size_t blank_run = 0;
    for (size_t pos = 0; pos <= out_.size();) {
      size_t end = out_.find('\n', pos);
      if (end == std::string::npos) end = out_.size();
      std::string_view line(out_.data() + pos, end - pos);
      while (!line.empty() && IsSpace(line.back())) line.remove_suffix(1);
      if (line.empty()) {
        ++blank_run;
      } else {
        if (!result.empty()) result.append(blank_run > 0 ? "\n\n" : "\n");
        result.append(line);
        blank_run = 0;
      }
      pos = end + 1;
    }
    return result;
  }

 private:
  bool AtLineStart() const { return out_.empty() || out_.back() == '\n'; }

  void BeginContent() {
    if (newlines_ > 0 && !out_.empty()) {
      int have = 0;
      for (size_t i = out_.size(); i > 0 && out_[i - 1] == '\n' && have < 2; --i) ++have;
      out_.append(static_cast<size_t>(std::max(0, newlines_ - have)), '\n');
      space_ = false;
    }
    newlines_ = 0;
    if (!prefix_.empty()) {
      out_ += prefix_;
      prefix_ = {};
      space_ = false;
    }
    if (cell_pending_) {
      if (row_has_content_ && !AtLineStart()) out_ += " | ";
      cell_pending_ = false;
      space_ = false;
    }
    row_has_content_ = true;
  }

  size_t max_bytes_;
  std::string out_;
  int newlines_ = 0;
  bool space_ = false;
  std::string_view prefix_;
  bool row_has_content_ = false;
  bool cell_pending_ = false;
};

// Walks the tree, turning element boundaries into TextBuilder separators.
class TextWalker {
 public:
  explicit TextWalker(size_t max_bytes) : builder_(max_bytes) {}

  std::string Run(const GumboNode& root) {
    struct Frame {
      const GumboNode* node;
      unsigned next_child;
    };
    std::vector<Frame> stack{{&root, 0}};
    while (!stack.empty() && !builder_.full()) {
      const GumboNode& node = *stack.back().node;
      const GumboVector* children = Children(node);
      if (children == nullptr || stack.back().next_child >= children->length) {
        Close(node);
        stack.pop_back();
        continue;
      }
      const GumboNode& child = Child(*children, stack.back().next_child++);
      if (IsText(child)) {
        builder_.Text(child.v.text.text, pre_depth_ > 0);
      } else if ((child.type == GUMBO_NODE_ELEMENT) && !IsDropped(child)) {
        Open(child);
        stack.push_back({&child, 0});
      }
    }
    return builder_.Finish();
  }

 private:
  void Separate(bool line_break) {
    if (cell_depth_ > 0) {
      builder_.Space();  // keep a table row on one line
    } else if (line_break) {
      builder_.LineBreak();
    } else {
      builder_.Break();
    }
  }

  void Open(const GumboNode& node) {
    GumboTag tag = node.v.element.tag;
    if (node.v.element.tag_namespace != GUMBO_NAMESPACE_HTML) return;
    if (tag == GUMBO_TAG_BR) Separate(true);
    if (IsBlock(tag)) Separate(false);
    if (tag == GUMBO_TAG_LI) builder_.Prefix("- ");
    if (tag == GUMBO_TAG_PRE || tag == GUMBO_TAG_LISTING) ++pre_depth_;
    if (tag == GUMBO_TAG_TR) builder_.StartRow();
    if (tag == GUMBO_TAG_TD || tag == GUMBO_TAG_TH) {
      builder_.StartCell();
      ++cell_depth_;
    }
  }

  void Close(const GumboNode& node) {
    if (node.type != GUMBO_NODE_ELEMENT || node.v.element.tag_namespace != GUMBO_NAMESPACE_HTML) return;
    GumboTag tag = node.v.element.tag;
    if (tag == GUMBO_TAG_TD || tag == GUMBO_TAG_TH) {
      --cell_depth_;
      builder_.Space();
    }
    if (tag == GUMBO_TAG_PRE || tag == GUMBO_TAG_LISTING) --pre_depth_;
    if (IsBlock(tag)) Separate(false);
  }

  TextBuilder builder_;
  int pre_depth_ = 0;
  int cell_depth_ = 0;
};

}  // namespace

std::string ExtractText(const GumboNode& root, size_t max_bytes) { return TextWalker(max_bytes).Run(root); }

std::string CollapseWhitespace(std::string_view text, size_t max_bytes) {
  std::string out;
  bool space = false;
  for (size_t i = 0; i < text.size() && out.size() < max_bytes; ++i) {
    if (IsSpace(text[i]) || text.compare(i, 2, kNoBreakSpace) == 0) {
      if (!IsSpace(text[i])) ++i;
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += text[i];
  }
  CutAtBoundary(out, max_bytes);
  return out;
}

std::string CollapsedText(const GumboNode& node, size_t max_bytes) {
  std::string raw;
  std::vector<const GumboNode*> stack{&node};
  while (!stack.empty() && raw.size() < 2 * max_bytes + 64) {
    const GumboNode& current = *stack.back();
    stack.pop_back();
    if (IsText(current)) {
      raw.append(current.v.text.text);
      continue;
    }
    if (current.type != GUMBO_NODE_ELEMENT && current.type != GUMBO_NODE_DOCUMENT) continue;
    if (current.type == GUMBO_NODE_ELEMENT) {
      GumboTag tag = current.v.element.tag;
      if (tag == GUMBO_TAG_SCRIPT || tag == GUMBO_TAG_STYLE || tag == GUMBO_TAG_TEMPLATE) continue;
      if (tag == GUMBO_TAG_BR || IsBlock(tag)) raw += ' ';
    }
    const GumboVector& children = *Children(current);
    for (unsigned i = children.length; i-- > 0;) stack.push_back(&Child(children, i));
  }
  return CollapseWhitespace(raw, max_bytes);
}

}  // namespace refinery::crawl::internal
