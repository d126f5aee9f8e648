// A model of gumbo 0.10.1's tree builder for the nesting limiter
// (html_nesting.cpp): the stack of open elements and the list of active
// formatting elements, driven by scanned tokens, flattening the page (by
// asking for inserted end tags) before the stack gets deeper than a limit.
// Internal to crawl/html_*.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "crawl/html_internal.h"

namespace refinery::crawl::internal {

// Tag groups of the tree construction rules (a name can be in several).
enum TagFlag : uint32_t {
  kKnown = 1u << 0,       // gumbo has a tag enum for it; unknown names compare equal
  kVoid = 1u << 1,        // never stays open (in HTML content)
  kSpecial = 1u << 2,     // stops the "any other end tag" walk
  kScope = 1u << 3,       // bounds "has an element in scope"
  kFormatting = 1u << 4,  // goes on the list of active formatting elements
  kMarker = 1u << 5,      // puts a marker on that list
  kBreakout = 1u << 6,    // a start tag that leaves SVG/MathML content
  kRawText = 1u << 7,     // content is text up to the end tag
  kClosesP = 1u << 8,     // a start tag that closes an open <p>
  kTablePart = 1u << 9,   // handled by the table insertion modes
  kHeading = 1u << 10,
  kIgnored = 1u << 11,           // html head body: no new element
  kNoReconstruct = 1u << 12,     // a start tag that reopens no formatting elements
  kTableScope = 1u << 13,        // its end tag looks in table scope
  kBlockEnd = 1u << 14,          // its end tag looks in (default) scope
  kClearsFramesetOk = 1u << 15,  // after it a <frameset> no longer replaces the body
};

// The groups `name` (lower-case) is in; 0 for names gumbo does not know.
uint32_t FlagsOf(std::string_view name);

// The form element pointer is set but no element is open (a form in a table).
inline constexpr uint64_t kFormWithoutElement = UINT64_MAX;

class NestingModel {
 public:
  // What the tokenizer reads after a start tag.
  enum class Content { kMarkup, kRawText, kPlainText };
  // Puts "</name>" into the page just before offset `at`.
  using InsertEndTag = std::function<void(size_t at, std::string_view name)>;

  NestingModel(size_t max_depth, InsertEndTag insert_end_tag)
      : max_depth_(max_depth), insert_end_tag_(std::move(insert_end_tag)) {}

  // `at` is the offset of the tag's '<' (where end tags get inserted).
  Content OnStartTag(const ScannedTag& tag, size_t at);
  void OnEndTag(std::string_view name);
  // A run of text starting at `at`; `blank` when it is all whitespace.
  void OnText(size_t at, bool blank);
  // True when the current node is SVG or MathML content (not an
  // integration point): CDATA sections exist there, raw text does not.
  bool InForeignContent() const;

 private:
  enum class Namespace { kHtml, kSvg, kMathMl };
  struct Entry {
    std::string name;
    uint32_t flags = 0;    // of the name, see html_nesting_model.cpp
    uint64_t seq = 0;      // creation order; a reopened formatting element keeps its own
    bool foreign = false;  // SVG or MathML
    bool mathml = false;
    bool integration = false;       // an SVG/MathML element whose content is HTML
    bool in_list = false;           // on the list of active formatting elements
    bool template_columns = false;  // a <template> that got a <col>: column group mode
    std::string key;                // formatting elements: name and attributes
  };

  Entry MakeEntry(const ScannedTag& tag, uint32_t flags, Namespace ns);
  void Push(Entry entry, size_t at);
  void MakeRoom(size_t at, size_t extra);

  Content StartTagInBody(const ScannedTag& tag, uint32_t flags, size_t at);
  Content StartTagInSelect(const ScannedTag& tag, uint32_t flags, size_t at);
  void StartTableTag(const ScannedTag& tag, uint32_t flags, size_t at);
  bool EndTagInSelect(std::string_view name);
  void EndTagInBody(std::string_view name);
  void ForeignEndTag(std::string_view name);
  void AnyOtherEndTag(std::string_view name);
  void FormattingEndTag(std::string_view name);
  bool AdoptOnce(std::string_view name, bool first_round);
  void FormEndTag();

  // Stack queries and pops; "HTML" entries are the non-foreign ones.
  bool TopIs(std::string_view name) const;
  bool InSelect() const;
  bool InTableBody() const;  // in table, table body or row mode (not in a cell)
  bool TableInScope() const;
  bool TableBelowSelect() const;
  bool InTemplateColumns() const { return TopIs("template") && stack_.back().template_columns; }
  bool InScope(std::string_view name) const;
  void CloseInScope(std::string_view name, uint32_t boundaries);
  void CloseP();
  void CloseListItem(bool li);
  void PopUntilTopIn(std::initializer_list<std::string_view> names);
  void PopThrough(std::string_view name);
  void PopImpliedEndTags();  // dd dt li option optgroup p rp rt
  void PopTo(size_t index);
  void PopTop();
  // Every change to stack_ goes through these, which keep the counts below.
  void Insert(size_t index, Entry entry);
  Entry Erase(size_t index);
  void Count(const Entry& entry, int delta);

  // The list of active formatting elements: entries still open are marked
  // in_list on the stack; closed ones wait in pending_ (by seq) to be
  // reopened before the next text or inline tag.
  uint64_t LastMarkerSeq() const;
  uint64_t ReconstructFloor() const;
  size_t ReconstructCount() const;
  void Reconstruct();
  void AddPending(Entry entry);
  void NoahsArk(const Entry& entry);
  void RemoveLastActive(std::string_view name);
  // Where the last list entry (after the last marker) named `name` is.
  struct ActiveRef {
    bool found = false;
    bool pending = false;  // in pending_, else on stack_
    size_t index = 0;
  };
  ActiveRef LastActive(std::string_view name) const;

  size_t max_depth_;
  InsertEndTag insert_end_tag_;
  std::vector<Entry> stack_;
  std::vector<Entry> pending_;
  uint64_t next_seq_ = 1;
  int open_paragraphs_ = 0;        // HTML <p> elements on stack_
  int open_templates_ = 0;         // HTML <template> elements on stack_
  std::vector<uint64_t> markers_;  // seqs of the marker elements on stack_, innermost last
  bool frameset_ok_ = true;        // a <frameset> would still replace the body
  bool in_frameset_ = false;       // it did: nothing but framesets nests from then on
  size_t frameset_base_ = 0;       // the depth below the outermost frameset
  uint64_t form_seq_ = 0;          // the form element pointer: 0 none, else the form's seq or kFormWithoutElement
};

}  // namespace refinery::crawl::internal
