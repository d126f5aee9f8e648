// gumbo 0.10.1's tree builder, as far as the depth of its stack of open
// elements goes (crawl/html_nesting_model.h). Tag groups follow gumbo's
// parser.c, which follows the 2013 WHATWG tree construction rules.
#include "crawl/html_nesting_model.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace refinery::crawl::internal {
namespace {

using TagTable = std::unordered_map<std::string_view, uint32_t>;

const TagTable& Tags() {
  static const TagTable table = [] {
    TagTable tags;
    auto add = [&tags](std::string_view list, uint32_t flag) {
      for (size_t pos = 0; pos < list.size();) {
        size_t end = std::min(list.find(' ', pos), list.size());
        tags[list.substr(pos, end - pos)] |= flag;
        pos = end + 1;
      }
    };
    add("html head title base link meta style script noscript template body article section nav aside "
        "h1 h2 h3 h4 h5 h6 hgroup header footer address p hr pre blockquote ol ul li dl dt dd figure "
        "figcaption main div a em strong small s cite q dfn abbr data time code var samp kbd sub sup i b u "
        "mark ruby rt rp bdi bdo span br wbr ins del image img iframe embed object param video audio "
        "source track canvas map area math mi mo mn ms mtext mglyph malignmark annotation-xml svg "
        "foreignobject desc table caption colgroup col tbody thead tfoot tr td th form fieldset legend "
        "label input button select datalist optgroup option textarea keygen output progress meter details "
        "summary menu menuitem applet acronym bgsound dir frame frameset noframes isindex listing xmp "
        "nextid noembed plaintext rb strike basefont big blink center font marquee multicol nobr spacer tt "
        "rtc",
        kKnown);
    add("area base basefont bgsound br col colgroup embed frame hr image img input isindex keygen link "
        "menuitem meta param source track wbr",
        kVoid);
    add("address applet area article aside base basefont bgsound blockquote body br button caption "
        "center col colgroup menuitem dd details dir div dl dt embed fieldset figcaption figure footer "
        "form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html iframe img input isindex li "
        "link listing main marquee menu meta nav noembed noframes noscript object ol p param plaintext "
        "pre script section select source style summary table tbody td template textarea tfoot th thead "
        "title tr ul wbr xmp mi mo mn ms mtext annotation-xml foreignobject desc",
        kSpecial);
    // frameset too: once gumbo is in a frameset, nothing else closes anything.
    add("applet caption html table td th marquee object template mi mo mn ms mtext annotation-xml "
        "foreignobject desc title frameset",
        kScope);
    add("a b big code em font i nobr s small strike strong tt u", kFormatting);
    add("applet marquee object template td th caption", kMarker);
    add("b big blockquote body br center code dd div dl dt em embed h1 h2 h3 h4 h5 h6 head hr i img li "
        "listing menu meta nobr ol p pre ruby s small span strong strike sub sup table tt u ul var",
        kBreakout);
    add("script style xmp iframe noembed noframes textarea title plaintext", kRawText);
    add("address article aside blockquote center details dir div dl fieldset figcaption figure footer "
        "header hgroup main menu nav ol p section summary ul h1 h2 h3 h4 h5 h6 pre listing form li dd dt "
        "plaintext table hr xmp isindex",
        kClosesP);
    add("col colgroup tbody thead tfoot tr td th caption", kTablePart);
    add("h1 h2 h3 h4 h5 h6", kHeading);
    add("html head body", kIgnored);
    add("pre listing li dd dt button applet marquee object table area br embed img image keygen wbr input hr "
        "isindex textarea xmp iframe select body",
        kClearsFramesetOk);
    add("address article aside blockquote center details dir div dl fieldset figcaption figure footer "
        "header hgroup main menu nav ol p section summary ul h1 h2 h3 h4 h5 h6 pre listing form li dd dt "
        "plaintext table hr textarea iframe noembed param source track base basefont bgsound link meta "
        "noframes script style template title menuitem rp rt isindex caption col colgroup frame head tbody "
        "td tfoot th thead tr html body frameset",
        kNoReconstruct);
    add("table tbody thead tfoot tr td th caption applet marquee object", kTableScope);
    add("address article aside blockquote button center details dir div dl fieldset figcaption figure "
        "footer header hgroup listing menu nav ol pre section summary ul",
        kBlockEnd);
    return tags;
  }();
  return table;
}

bool HasAttribute(const ScannedTag& tag, std::string_view name) {
  for (const auto& attribute : tag.attributes) {
    if (attribute.first == name) return true;
  }
  return false;
}

bool EqualsNoCase(std::string_view a, std::string_view b);

bool IsHiddenInput(const ScannedTag& tag) {
  for (const auto& [name, value] : tag.attributes) {
    if (name == "type") return EqualsNoCase(value, "hidden");
  }
  return false;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return lower(x) == lower(y); });
}

// The Noah's Ark identity of a formatting element: its name and attribute
// set (gumbo keeps the first of repeated attributes).
std::string FormattingKey(const ScannedTag& tag) {
  std::vector<std::string> parts;
  for (const auto& [name, value] : tag.attributes) {
    bool repeated = std::any_of(parts.begin(), parts.end(), [&](const std::string& part) {
      return part.compare(0, name.size() + 1, name + '=') == 0;
    });
    if (!repeated) parts.push_back(name + '=' + value);
  }
  std::sort(parts.begin(), parts.end());
  std::string key = tag.name;
  for (const std::string& part : parts) key.append(1, '\0').append(part);
  return key;
}

}  // namespace

uint32_t FlagsOf(std::string_view name) {
  auto it = Tags().find(name);
  return it == Tags().end() ? 0 : it->second;
}

bool NestingModel::InForeignContent() const {
  return !stack_.empty() && stack_.back().foreign && !stack_.back().integration;
}

NestingModel::Entry NestingModel::MakeEntry(const ScannedTag& tag, uint32_t flags, Namespace ns) {
  Entry entry;
  entry.name = tag.name;
  entry.flags = flags;
  entry.seq = next_seq_++;
  entry.foreign = ns != Namespace::kHtml;
  entry.mathml = ns == Namespace::kMathMl;
  const std::string& n = tag.name;
  if (ns == Namespace::kSvg) entry.integration = n == "foreignobject" || n == "desc" || n == "title";
  if (ns == Namespace::kMathMl) {
    bool html_encoding = false;
    for (const auto& [name, value] : tag.attributes) {
      if (name == "encoding") {
        html_encoding = EqualsNoCase(value, "text/html") || EqualsNoCase(value, "application/xhtml+xml");
      }
    }
    entry.integration =
        n == "mi" || n == "mo" || n == "mn" || n == "ms" || n == "mtext" || (n == "annotation-xml" && html_encoding);
  }
  entry.in_list = !entry.foreign && (flags & kFormatting);
  if (entry.in_list) entry.key = FormattingKey(tag);
  return entry;
}

// Closes innermost elements (inserting their end tags before `at`) until
// `extra` more fit under the limit, as far as the model can close them.
void NestingModel::MakeRoom(size_t at, size_t extra) {
  while (!stack_.empty() && stack_.size() + extra > max_depth_) {
    size_t before = stack_.size();
    std::string name = stack_.back().name;
    insert_end_tag_(at, name);
    OnEndTag(name);
    if (stack_.size() < before) continue;
    // The model cannot tell what that end tag closes. Past twice the limit
    // it forgets the element anyway: its own walks stay short, and gumbo,
    // if really that deep, runs into its parse budget.
    if (stack_.size() + extra <= 2 * max_depth_) break;
    PopTop();
  }
}

void NestingModel::Push(Entry entry, size_t at) {
  MakeRoom(at, 1);
  Insert(stack_.size(), std::move(entry));
}

NestingModel::Content NestingModel::OnStartTag(const ScannedTag& tag, size_t at) {
  uint32_t flags = FlagsOf(tag.name);
  if (in_frameset_) {  // only framesets nest, while one is open; all else is ignored
    if (tag.name == "frameset" && stack_.size() > frameset_base_) Push(MakeEntry(tag, flags, Namespace::kHtml), at);
    return tag.name == "noframes" ? Content::kRawText : Content::kMarkup;
  }
  // Room first: closing elements can change how the tag is treated (a
  // closed <svg> makes the next tag HTML).
  MakeRoom(at, 1 + ReconstructCount());
  if (InTemplateColumns()) {  // a template holding columns ignores all but templates
    if (tag.name == "template") Push(MakeEntry(tag, flags, Namespace::kHtml), at);
    return Content::kMarkup;
  }
  if (!stack_.empty() && stack_.back().foreign) {
    const Entry& top = stack_.back();
    bool text_point = top.integration && top.mathml && top.name != "annotation-xml";
    bool html = (top.integration && !(text_point && (tag.name == "mglyph" || tag.name == "malignmark"))) ||
                (top.mathml && top.name == "annotation-xml" && tag.name == "svg");
    bool breakout =
        (flags & kBreakout) ||
        (tag.name == "font" && (HasAttribute(tag, "color") || HasAttribute(tag, "face") || HasAttribute(tag, "size")));
    if (!html && !breakout) {
      if (!tag.self_closing) Push(MakeEntry(tag, flags, top.mathml ? Namespace::kMathMl : Namespace::kSvg), at);
      return Content::kMarkup;
    }
    if (!html) {
      while (InForeignContent()) PopTop();
    }
  }
  if (InSelect()) return StartTagInSelect(tag, flags, at);
  return StartTagInBody(tag, flags, at);
}

NestingModel::Content NestingModel::StartTagInBody(const ScannedTag& tag, uint32_t flags, size_t at) {
  const std::string& name = tag.name;
  if ((flags & kClearsFramesetOk) && !(name == "input" && IsHiddenInput(tag))) frameset_ok_ = false;
  if (name == "frameset") {
    // Replaces the body while the frameset-ok flag holds (the elements it
    // closes are still counted); ignored otherwise.
    if (!frameset_ok_ || open_templates_ > 0) return Content::kMarkup;
    frameset_base_ = stack_.size();
    in_frameset_ = true;
    Push(MakeEntry(tag, flags, Namespace::kHtml), at);
    return Content::kMarkup;
  }
  if (flags & kIgnored) return Content::kMarkup;
  if (flags & kTablePart) {
    StartTableTag(tag, flags, at);
    return Content::kMarkup;
  }
  if (name == "svg" || name == "math") {
    MakeRoom(at, ReconstructCount() + 1);
    Reconstruct();
    if (!tag.self_closing) Push(MakeEntry(tag, flags, name == "svg" ? Namespace::kSvg : Namespace::kMathMl), at);
    return Content::kMarkup;
  }
  if (name == "table" && InTableBody()) PopThrough("table");  // a table in a table closes it
  bool in_template = open_templates_ > 0;
  if (name == "form" && form_seq_ != 0 && !in_template) return Content::kMarkup;  // nested forms are ignored
  if (name == "li" || name == "dd" || name == "dt") CloseListItem(name == "li");  // before the <p>
  if (flags & kClosesP) CloseP();
  if ((flags & kHeading) && !stack_.empty() && !stack_.back().foreign && (stack_.back().flags & kHeading)) PopTop();
  if (name == "button" && InScope("button")) PopThrough("button");
  if (name == "a") RemoveLastActive("a");
  if (name == "nobr" && InScope("nobr")) FormattingEndTag("nobr");
  if ((name == "option" || name == "optgroup") && TopIs("option")) PopTop();
  if ((name == "rp" || name == "rt") && InScope("ruby")) PopImpliedEndTags();
  if (!(flags & kNoReconstruct)) {
    MakeRoom(at, ReconstructCount() + 1);
    Reconstruct();
  }
  if (flags & kRawText) return name == "plaintext" ? Content::kPlainText : Content::kRawText;
  if (flags & kVoid) return Content::kMarkup;
  if (name == "form" && InTableBody()) {  // inserted and popped at once, the pointer set
    if (!in_template) form_seq_ = kFormWithoutElement;
    return Content::kMarkup;
  }
  Entry entry = MakeEntry(tag, flags, Namespace::kHtml);
  if (name == "form" && !in_template) form_seq_ = entry.seq;
  if (entry.in_list) NoahsArk(entry);
  Push(std::move(entry), at);
  return Content::kMarkup;
}

NestingModel::Content NestingModel::StartTagInSelect(const ScannedTag& tag, uint32_t flags, size_t at) {
  const std::string& name = tag.name;
  if (name == "option" || name == "optgroup") {
    if (TopIs("option")) PopTop();
    if (name == "optgroup" && TopIs("optgroup")) PopTop();
    Push(MakeEntry(tag, flags, Namespace::kHtml), at);
  } else if (name == "select") {
    PopThrough("select");
  } else if (name == "input" || name == "keygen" || name == "textarea") {
    PopThrough("select");
    return StartTagInBody(tag, flags, at);
  } else if (name == "script") {
    return Content::kRawText;
  } else if (name == "template") {
    Push(MakeEntry(tag, flags, Namespace::kHtml), at);
  } else if (((flags & kTablePart) || name == "table") && name != "col" && name != "colgroup" && TableBelowSelect()) {
    PopThrough("select");
    return OnStartTag(tag, at);
  }
  return Content::kMarkup;  // anything else is ignored inside a select
}

// col colgroup tbody thead tfoot tr td th caption: only inside a table.
void NestingModel::StartTableTag(const ScannedTag& tag, uint32_t flags, size_t at) {
  const std::string& name = tag.name;
  if ((name == "col" || name == "colgroup") && TopIs("template")) {
    stack_.back().template_columns = true;
    return;
  }
  if (!TableInScope()) return;  // ignored in body content
  if (name == "td" || name == "th") {
    PopUntilTopIn({"tr", "tbody", "thead", "tfoot", "table", "template"});
  } else if (name == "tr") {
    PopUntilTopIn({"tbody", "thead", "tfoot", "table", "template"});
  } else {
    PopUntilTopIn({"table", "template"});
  }
  if (name == "col" || name == "colgroup") return;  // closed by the next non-col token
  Push(MakeEntry(tag, flags, Namespace::kHtml), at);
}

void NestingModel::OnEndTag(std::string_view name) {
  if (in_frameset_) {
    if (name == "frameset" && stack_.size() > frameset_base_) PopTop();
    return;
  }
  if (InTemplateColumns()) {
    if (name == "template") PopTop();
    return;
  }
  if (!stack_.empty() && stack_.back().foreign) {
    ForeignEndTag(name);
  } else if (!InSelect() || !EndTagInSelect(name)) {
    EndTagInBody(name);
  }
}

void NestingModel::ForeignEndTag(std::string_view name) {
  for (size_t i = stack_.size(); i-- > 0 && stack_[i].foreign;) {
    if (EqualsNoCase(stack_[i].name, name)) return PopTo(i);
  }
  if (!InSelect() || !EndTagInSelect(name)) EndTagInBody(name);
}

// True when the end tag was dealt with in select mode (most are ignored).
bool NestingModel::EndTagInSelect(std::string_view name) {
  if (name == "option") {
    if (TopIs("option")) PopTop();
  } else if (name == "optgroup") {
    if (TopIs("option") && stack_.size() >= 2 && stack_[stack_.size() - 2].name == "optgroup") PopTop();
    if (TopIs("optgroup")) PopTop();
  } else if (name == "select") {
    PopThrough("select");
  } else if (name == "template") {
    return false;
  } else if ((FlagsOf(name) & kTablePart) && name != "col" && name != "colgroup" && TableBelowSelect()) {
    bool in_table_scope = false;
    for (size_t i = stack_.size(); i-- > 0 && !in_table_scope;) {
      if (stack_[i].foreign) continue;
      if (stack_[i].name == name) in_table_scope = true;
      if (stack_[i].name == "table" || stack_[i].name == "template") break;
    }
    if (in_table_scope) {
      PopThrough("select");
      OnEndTag(name);
    }
  }
  return true;
}

void NestingModel::EndTagInBody(std::string_view name) {
  uint32_t flags = FlagsOf(name);
  if (name == "p") return CloseP();                     // "</p>" with no <p> makes and closes one
  if (name == "li") return CloseInScope(name, kScope);  // plus ol and ul, see CloseInScope
  if (name == "dd" || name == "dt") return CloseInScope(name, kScope);
  if (name == "form") return FormEndTag();
  if (name == "template") return PopThrough("template");
  if ((flags & kIgnored) || name == "br") return;
  if (flags & kFormatting) return FormattingEndTag(name);
  if (flags & (kTableScope | kBlockEnd | kHeading))
    return CloseInScope(name, (flags & kTableScope) ? 0u : uint32_t{kScope});
  AnyOtherEndTag(name);
}

// Walks down from the current node: an HTML element of this name is popped
// with everything above it; a special element stops the walk.
void NestingModel::AnyOtherEndTag(std::string_view name) {
  bool known = FlagsOf(name) & kKnown;
  for (size_t i = stack_.size(); i-- > 0;) {
    const Entry& entry = stack_[i];
    bool match = !entry.foreign && (known ? entry.name == name : !(entry.flags & kKnown));
    if (match) return PopTo(i);
    if (entry.flags & kSpecial) return;
  }
}

void NestingModel::FormEndTag() {
  if (open_templates_ > 0) return CloseInScope("form", kScope);
  uint64_t seq = form_seq_;
  form_seq_ = 0;
  for (size_t i = stack_.size(); i-- > 0;) {
    if (stack_[i].seq == seq && !stack_[i].foreign) {
      Erase(i);  // only the form itself
      return;
    }
    if (stack_[i].flags & kScope) return;
  }
}

}  // namespace refinery::crawl::internal
