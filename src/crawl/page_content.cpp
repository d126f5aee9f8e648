#include "crawl/page_content.h"

#include <algorithm>
#include <set>

#include "crawl/html_page.h"

namespace refinery::crawl {
namespace {

std::vector<Url> ResolveLinks(const HtmlPage& html, const Url& page_url) {
  Url base = page_url;
  if (!html.base_href.empty()) {
    if (auto resolved = ResolveUrl(page_url, html.base_href); resolved.ok()) base = *resolved;
  }
  std::vector<Url> links;
  std::set<std::string> seen;
  for (const auto& link : html.links) {
    if (link.nofollow) continue;
    auto url = ResolveUrl(base, link.href);
    if (!url.ok()) continue;  // mailto:, javascript:, garbage
    if (seen.insert(ToString(*url)).second) links.push_back(std::move(*url));
  }
  return links;
}

PageContent FromHtml(const FetchedPage& page) {
  PageContent content;
  content.kind = ContentKind::kHtml;
  content.mime_type = "text/html";
  const std::string utf8 = DecodePageText(page.body, page.content_type, true, &content.charset);
  HtmlPage html = ParseHtmlPage(utf8);
  content.title = std::move(html.title);
  content.text = std::move(html.text);
  content.language = std::move(html.language);
  content.noindex = html.noindex;
  content.nofollow = html.nofollow;
  if (!html.canonical.empty()) {
    if (auto canonical = ResolveUrl(page.url, html.canonical); canonical.ok()) content.canonical = ToString(*canonical);
  }
  content.links = ResolveLinks(html, page.url);
  return content;
}

}  // namespace

Result<PageContent> ExtractContent(const FetchedPage& page) {
  const ContentKind kind = ClassifyContentType(page.content_type, page.url.path);
  switch (kind) {
    case ContentKind::kHtml:
      return FromHtml(page);
    case ContentKind::kText:
    case ContentKind::kMarkdown: {
      PageContent content;
      content.kind = kind;
      content.mime_type = kind == ContentKind::kText ? "text/plain" : "text/markdown";
      content.text = DecodePageText(page.body, page.content_type, false, &content.charset);
      return content;
    }
    case ContentKind::kPdf:
      return Status::InvalidArgument("PDF pages are not extracted yet (content type " + page.content_type + ")");
    case ContentKind::kOther:
      break;
  }
  return Status::InvalidArgument("unsupported content type '" +
                                 (page.content_type.empty() ? std::string("none") : page.content_type) +
                                 "': Refinery reads HTML, XHTML, plain text and markdown");
}

bool InScope(const Url& link, const Url& start, const CrawlRecord& crawl) {
  bool site = SameSite(link, start);
  if (!site && !crawl.extra_hosts.empty()) {
    size_t from = 0;
    while (from <= crawl.extra_hosts.size() && !site) {
      size_t comma = crawl.extra_hosts.find(',', from);
      if (comma == std::string::npos) comma = crawl.extra_hosts.size();
      site = crawl.extra_hosts.compare(from, comma - from, link.host) == 0 && comma > from;
      from = comma + 1;
    }
  }
  return site && (crawl.path_prefix.empty() || HasPathPrefix(link, crawl.path_prefix));
}

}  // namespace refinery::crawl
