#include "crawl/html_page.h"

#include <gumbo.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/utf8.h"
#include "crawl/html_internal.h"

namespace refinery::crawl {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

// True when `list` (tokens separated by whitespace or any of `extra`)
// contains `token`, case-insensitively.
bool HasToken(std::string_view list, std::string_view token, std::string_view extra = "") {
  size_t pos = 0;
  while (pos < list.size()) {
    auto separator = [&](char c) { return IsSpace(c) || extra.find(c) != std::string_view::npos; };
    while (pos < list.size() && separator(list[pos])) ++pos;
    size_t end = pos;
    while (end < list.size() && !separator(list[end])) ++end;
    if (end > pos && EqualsNoCase(list.substr(pos, end - pos), token)) return true;
    pos = end;
  }
  return false;
}

// The attribute's value, or nullopt when the element does not have it.
std::optional<std::string_view> Attribute(const GumboElement& element, const char* name) {
  const GumboAttribute* attribute = gumbo_get_attribute(&element.attributes, name);
  if (attribute == nullptr) return std::nullopt;
  return std::string_view(attribute->value);
}

std::string_view AttributeOr(const GumboElement& element, const char* name) {
  return Attribute(element, name).value_or(std::string_view());
}

// Collects everything but the text in one pre-order walk.
class MetadataCollector {
 public:
  explicit MetadataCollector(HtmlPage& page) : page_(page) {}

  void Run(const GumboNode& root) {
    std::vector<const GumboNode*> stack{&root};
    while (!stack.empty()) {
      const GumboNode& node = *stack.back();
      stack.pop_back();
      const GumboVector* children = nullptr;
      if (node.type == GUMBO_NODE_DOCUMENT) children = &node.v.document.children;
      // Template contents and SVG/MathML subtrees are not the page's.
      if (node.type == GUMBO_NODE_ELEMENT && node.v.element.tag_namespace == GUMBO_NAMESPACE_HTML) {
        Visit(node);
        children = &node.v.element.children;
      }
      if (children == nullptr) continue;
      for (unsigned i = children->length; i-- > 0;) stack.push_back(static_cast<const GumboNode*>(children->data[i]));
    }
    Finish();
  }

 private:
  void Visit(const GumboNode& node) {
    const GumboElement& element = node.v.element;
    switch (element.tag) {
      case GUMBO_TAG_HTML:
        if (html_lang_.empty()) html_lang_ = Trim(AttributeOr(element, "lang"));
        break;
      case GUMBO_TAG_TITLE:
        if (!seen_title_) title_ = internal::CollapsedText(node, kMaxHtmlTitleBytes);
        seen_title_ = true;
        break;
      case GUMBO_TAG_H1:
        if (h1_.empty()) h1_ = internal::CollapsedText(node, kMaxHtmlTitleBytes);
        break;
      case GUMBO_TAG_META:
        VisitMeta(element);
        break;
      case GUMBO_TAG_BASE:
        if (auto href = Attribute(element, "href"); href && !seen_base_) {
          page_.base_href = Trim(*href);
          seen_base_ = true;
        }
        break;
      case GUMBO_TAG_LINK:
        if (auto href = Attribute(element, "href");
            href && page_.canonical.empty() && HasToken(AttributeOr(element, "rel"), "canonical")) {
          page_.canonical = Trim(*href);
        }
        break;
      case GUMBO_TAG_A:
      case GUMBO_TAG_AREA:
        VisitLink(element);
        break;
      default:
        break;
    }
  }

  void VisitMeta(const GumboElement& element) {
    std::string_view name = AttributeOr(element, "name");
    std::string_view content = AttributeOr(element, "content");
    if (EqualsNoCase(name, "robots") || EqualsNoCase(name, "refinery")) {
      bool none = HasToken(content, "none", ",");
      page_.noindex = page_.noindex || none || HasToken(content, "noindex", ",");
      page_.nofollow = page_.nofollow || none || HasToken(content, "nofollow", ",");
    }
    bool og_title = EqualsNoCase(AttributeOr(element, "property"), "og:title") || EqualsNoCase(name, "og:title");
    if (og_title && og_title_.empty()) og_title_ = internal::CollapseWhitespace(content, kMaxHtmlTitleBytes);
    if (EqualsNoCase(Trim(AttributeOr(element, "http-equiv")), "content-language") && meta_lang_.empty()) {
      meta_lang_ = Trim(content);
    }
  }

  void VisitLink(const GumboElement& element) {
    auto href = Attribute(element, "href");
    if (!href || page_.links.size() >= kMaxHtmlLinks) return;
    std::string_view trimmed = Trim(*href);
    if (trimmed.empty() || trimmed.size() > kMaxHtmlHrefBytes) return;
    page_.links.push_back({std::string(trimmed), HasToken(AttributeOr(element, "rel"), "nofollow")});
  }

  void Finish() {
    page_.title = !title_.empty() ? title_ : !og_title_.empty() ? og_title_ : h1_;
    page_.language = !html_lang_.empty() ? html_lang_ : meta_lang_;
  }

  HtmlPage& page_;
  bool seen_title_ = false;
  bool seen_base_ = false;
  std::string title_, og_title_, h1_;
  std::string html_lang_, meta_lang_;
};

}  // namespace

HtmlPage ParseHtmlPage(std::string_view html) {
  html = Utf8Prefix(html, kMaxHtmlInputBytes);  // core/utf8.h
  // Budgeted by the page's own size: flattening can double it.
  internal::GumboArena arena(internal::BudgetFor(html.size()));
  std::optional<std::string> flattened = internal::FlattenDeepNesting(html);
  if (flattened) html = *flattened;

  HtmlPage page;
  if (const GumboOutput* output = arena.Parse(html)) {
    MetadataCollector(page).Run(*output->document);
    page.text = internal::ExtractText(*output->document, kMaxHtmlTextBytes);
    return page;
  }
  // gumbo gave up (a page built to be slow or huge to parse): keep its text.
  std::string text_only = internal::TextOnlyHtml(html);
  if (const GumboOutput* output = arena.Parse(text_only)) {
    page.text = internal::ExtractText(*output->document, kMaxHtmlTextBytes);
  }
  return page;
}

}  // namespace refinery::crawl
