// HTML page parsing (crawl/html_page.h): metadata, links, readable text, and
// robustness against hostile markup. Pure, no network.
#include "crawl/html_page.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/utf8.h"
#include "crawl/html_internal.h"

namespace refinery::crawl {
namespace {

std::string Text(std::string_view html) { return ParseHtmlPage(html).text; }

std::string Repeat(std::string_view unit, size_t times) {
  std::string out;
  out.reserve(unit.size() * times);
  for (size_t i = 0; i < times; ++i) out += unit;
  return out;
}

void ExpectValid(const HtmlPage& page) {
  EXPECT_TRUE(IsValidUtf8(page.title));
  EXPECT_TRUE(IsValidUtf8(page.text));
  EXPECT_TRUE(IsValidUtf8(page.base_href));
  EXPECT_TRUE(IsValidUtf8(page.canonical));
  EXPECT_TRUE(IsValidUtf8(page.language));
  for (const HtmlLink& link : page.links) EXPECT_TRUE(IsValidUtf8(link.href));
}

// The deepest element nesting gumbo builds for `html` (after the limiter).
size_t GumboDepth(std::string_view html) {
  internal::GumboArena arena(internal::BudgetFor(html.size()));
  const GumboOutput* output = arena.Parse(html);
  if (output == nullptr) return SIZE_MAX;
  std::vector<std::pair<const GumboNode*, size_t>> stack{{output->document, 0}};
  size_t deepest = 0;
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    deepest = std::max(deepest, depth);
    const GumboVector* children = node->type == GUMBO_NODE_DOCUMENT ? &node->v.document.children
                                  : node->type == GUMBO_NODE_TEXT || node->type == GUMBO_NODE_WHITESPACE ||
                                          node->type == GUMBO_NODE_COMMENT || node->type == GUMBO_NODE_CDATA
                                      ? nullptr
                                      : &node->v.element.children;
    if (children == nullptr) continue;
    for (unsigned i = 0; i < children->length; ++i) {
      stack.emplace_back(static_cast<const GumboNode*>(children->data[i]), depth + 1);
    }
  }
  return deepest;
}

size_t FlattenedDepth(std::string_view html, size_t max_depth) {
  std::optional<std::string> flattened = internal::FlattenDeepNesting(html, max_depth);
  return GumboDepth(flattened ? *flattened : std::string(html));
}

// ---------------------------------------------------------------- metadata

TEST(HtmlTitleTest, TitleElementCollapsed) {
  HtmlPage page = ParseHtmlPage(
      "<html><head><title>\n  Hello   &amp;\tworld \n</title>"
      "<meta property=og:title content=OG></head><body><h1>H1</h1></body></html>");
  EXPECT_EQ(page.title, "Hello & world");
}

TEST(HtmlTitleTest, OgTitleWhenNoTitle) {
  EXPECT_EQ(ParseHtmlPage("<meta property=\"og:title\" content=\"  Open  Graph \"><h1>H1</h1>").title, "Open Graph");
  EXPECT_EQ(ParseHtmlPage("<title>  </title><meta name=og:title content=Named><h1>H1</h1>").title, "Named");
}

TEST(HtmlTitleTest, FirstH1Last) {
  EXPECT_EQ(ParseHtmlPage("<body><h1> The <em>big</em>\nstory </h1><h1>Second</h1>").title, "The big story");
  EXPECT_EQ(ParseHtmlPage("<h1><img alt=logo></h1><h1>Real</h1>").title, "Real");
  EXPECT_EQ(ParseHtmlPage("<p>nothing</p>").title, "");
}

TEST(HtmlMetaTest, BaseAndCanonical) {
  HtmlPage page = ParseHtmlPage(
      "<head><base target=_blank><base href=' /docs/ '><base href=/other/>"
      "<link rel=stylesheet href=a.css><link rel=\"Alternate  CANONICAL\" href=\"\n/page?id=1 \">"
      "<link rel=canonical href=/second></head>");
  EXPECT_EQ(page.base_href, "/docs/");
  EXPECT_EQ(page.canonical, "/page?id=1");
  EXPECT_EQ(ParseHtmlPage("<p>x").base_href, "");
  EXPECT_EQ(ParseHtmlPage("<link rel=canonicalx href=/a>").canonical, "");
}

TEST(HtmlMetaTest, Language) {
  EXPECT_EQ(ParseHtmlPage("<html lang=' de-CH '><meta http-equiv=content-language content=fr>").language, "de-CH");
  EXPECT_EQ(ParseHtmlPage("<meta http-equiv=\"Content-Language\" content=\" fr \"><p>x").language, "fr");
  EXPECT_EQ(ParseHtmlPage("<p>x").language, "");
}

TEST(HtmlMetaTest, RobotsDirectives) {
  HtmlPage page = ParseHtmlPage("<meta name=robots content=\"NOINDEX, follow\">");
  EXPECT_TRUE(page.noindex);
  EXPECT_FALSE(page.nofollow);
  page = ParseHtmlPage("<meta name=ROBOTS content=nofollow>");
  EXPECT_FALSE(page.noindex);
  EXPECT_TRUE(page.nofollow);
  page = ParseHtmlPage("<meta name=robots content=none>");
  EXPECT_TRUE(page.noindex);
  EXPECT_TRUE(page.nofollow);
  page = ParseHtmlPage("<meta name=Refinery content='noarchive,noindex'>");
  EXPECT_TRUE(page.noindex);
  page = ParseHtmlPage("<meta name=googlebot content=noindex><meta name=robots content='index, follow'>");
  EXPECT_FALSE(page.noindex);
  EXPECT_FALSE(page.nofollow);
  EXPECT_FALSE(ParseHtmlPage("<meta name=robots content=noindexing>").noindex);
}

// ------------------------------------------------------------------ links

TEST(HtmlLinksTest, DocumentOrderAndNofollow) {
  HtmlPage page = ParseHtmlPage(
      "<nav><a href=/home>Home</a></nav><p><a href=' /a?x=1&amp;y=2 '>A</a>"
      "<a rel='external NoFollow' href=https://other.example/>B</a><a name=anchor>no href</a>"
      "<a href=''>empty</a><map><area href=/map rel=nofollow></map><a href=#frag>F</a>"
      "<template><a href=/template>T</a></template><svg><a href=/svg>S</a></svg>");
  ASSERT_EQ(page.links.size(), 5u);
  EXPECT_EQ(page.links[0].href, "/home");
  EXPECT_EQ(page.links[1].href, "/a?x=1&y=2");
  EXPECT_FALSE(page.links[1].nofollow);
  EXPECT_EQ(page.links[2].href, "https://other.example/");
  EXPECT_TRUE(page.links[2].nofollow);
  EXPECT_EQ(page.links[3].href, "/map");
  EXPECT_TRUE(page.links[3].nofollow);
  EXPECT_EQ(page.links[4].href, "#frag");
}

TEST(HtmlLinksTest, LongHrefsSkipped) {
  std::string long_href(kMaxHtmlHrefBytes + 1, 'a');
  HtmlPage page = ParseHtmlPage("<a href=/" + long_href + ">x</a><a href=/ok>ok</a>");
  ASSERT_EQ(page.links.size(), 1u);
  EXPECT_EQ(page.links[0].href, "/ok");
}

TEST(HtmlLinksTest, AtMostTenThousand) {
  HtmlPage page = ParseHtmlPage(Repeat("<a href=/l>x</a>", kMaxHtmlLinks + 50));
  EXPECT_EQ(page.links.size(), kMaxHtmlLinks);
}

// ------------------------------------------------------------------- text

TEST(HtmlTextTest, DroppedElements) {
  std::string text = Text(
      "<html><head><title>T</title><style>p{}</style><script>var x;</script></head><body>"
      "<header>Site header</header><nav>Menu</nav><aside>Side</aside>"
      "<main><p>Keep <!-- a comment -->this</p><noscript>Enable JS</noscript>"
      "<form>Name <input><button>Send</button><select><option>Opt</option></select></form>"
      "<svg><text>Vector</text></svg><iframe>frame</iframe><template>tpl</template></main>"
      "<footer>Copyright</footer><script>more()</script></body></html>");
  EXPECT_EQ(text, "Keep this");
}

TEST(HtmlTextTest, BlocksAndBlankLines) {
  EXPECT_EQ(Text("<p>One</p><p>Two</p>"), "One\n\nTwo");
  EXPECT_EQ(Text("<div><div><p>Deep</p></div></div><section><article><p>Er</p></article></section>"), "Deep\n\nEr");
  EXPECT_EQ(Text("<h1>Title</h1>Intro <b>bold</b>and<i> more</i><h2>Sub</h2><p>Body</p>"),
            "Title\n\nIntro boldand more\n\nSub\n\nBody");
  EXPECT_EQ(Text("<p>  lots \n\t of   space  </p>"), "lots of space");
  EXPECT_EQ(Text("<p></p><div> </div><p>x</p><p></p>"), "x");
  EXPECT_EQ(Text("a<hr>b<blockquote>c</blockquote>d"), "a\n\nb\n\nc\n\nd");
  EXPECT_EQ(Text("<dl><dt>Term</dt><dd>Def</dd></dl><figure>F<figcaption>Cap</figcaption></figure>"),
            "Term\n\nDef\n\nF\n\nCap");
}

TEST(HtmlTextTest, LineBreaks) {
  EXPECT_EQ(Text("<p>one<br>two<br/>three</p>"), "one\ntwo\nthree");
  EXPECT_EQ(Text("<p>a<br><br><br><br>b</p>"), "a\n\nb");  // never more than one blank line
  EXPECT_EQ(Text("<br><br>start"), "start");
}

TEST(HtmlTextTest, Lists) {
  EXPECT_EQ(Text("<ul><li>One</li><li>Two <b>bold</b></li></ul>"), "- One\n\n- Two bold");
  EXPECT_EQ(Text("<ol><li><p>Para item</p></li><li></li><li>Last</li></ol>"), "- Para item\n\n- Last");
  EXPECT_EQ(Text("<ul><li>Outer<ul><li>Inner</li></ul></li></ul>"), "- Outer\n\n- Inner");
}

TEST(HtmlTextTest, Tables) {
  EXPECT_EQ(Text("<table><tr><th>Name</th><th>Age</th></tr><tr><td>Ann</td><td>31</td></tr></table>"),
            "Name | Age\n\nAnn | 31");
  EXPECT_EQ(Text("<table><tr><td><p>Block</p> in cell</td><td></td><td>z</td></tr></table>"), "Block in cell | z");
  EXPECT_EQ(Text("<p>before</p><table><tr><td>a</td></tr></table><p>after</p>"), "before\n\na\n\nafter");
}

TEST(HtmlTextTest, Preformatted) {
  EXPECT_EQ(Text("<p>Code:</p><pre>\nint main() {\n  return 0;\n}\n</pre><p>done</p>"),
            "Code:\n\nint main() {\n  return 0;\n}\n\ndone");
  EXPECT_EQ(Text("<pre>a\n\n\n\n\nb</pre>"), "a\n\nb");
  EXPECT_EQ(Text("<pre>  keep  inner   spaces</pre>"), "  keep  inner   spaces");
}

TEST(HtmlTextTest, Entities) {
  EXPECT_EQ(Text("<p>Fish &amp; chips &lt;3 caf&eacute; &#x263A; &#9731; a&nbsp;b &copy</p>"),
            "Fish & chips <3 café ☺ ☃ a b ©");
  EXPECT_EQ(Text("<p>&bogus; &#0; &#xD800;</p>"), "&bogus; \xEF\xBF\xBD \xEF\xBF\xBD");
}

TEST(HtmlTextTest, TextCapAtCodePointBoundary) {
  std::string html = "<p>" + Repeat("é", 100) + "</p>";
  internal::GumboArena arena(internal::BudgetFor(html.size()));
  const GumboOutput* output = arena.Parse(html);
  ASSERT_NE(output, nullptr);
  std::string text = internal::ExtractText(*output->document, 51);
  EXPECT_EQ(text, Repeat("é", 25));
}

// ------------------------------------------------------------- robustness

TEST(HtmlRobustnessTest, HundredThousandNestedDivs) {
  auto start = std::chrono::steady_clock::now();
  HtmlPage page = ParseHtmlPage(Repeat("<div>", 100000) + "deep" + Repeat("</div>", 100000) + "<p>after</p>");
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(page.text, "deep\n\nafter");
  EXPECT_LT(seconds, 20.0);  // without flattening gumbo alone takes half a minute
}

TEST(HtmlRobustnessTest, HundredThousandNestedInlineElements) {
  HtmlPage page = ParseHtmlPage("<p>" + Repeat("<b>", 100000) + "bold" + Repeat("<a href=/x>", 1000) + "link");
  EXPECT_EQ(page.text, "boldlink");
  EXPECT_EQ(page.links.size(), 1000u);
  EXPECT_EQ(ParseHtmlPage(Repeat("<span><i>", 50000) + "x").text, "x");
}

TEST(HtmlRobustnessTest, FlatteningBoundsGumboDepth) {
  const char* patterns[] = {"<div>",           "<b>",       "<span><div></span>", "<i><b></i>",
                            "<table><td>",     "<svg><g>",  "<ul><li>",           "<foo><bar></foo>",
                            "<a href=x><div>", "<font><p>", "<select><div>",      "<li><ul><li>"};
  for (const char* pattern : patterns) {
    EXPECT_LT(FlattenedDepth(Repeat(pattern, 5000), 64), 300u) << pattern;
  }
  // Ordinary pages pass through untouched.
  EXPECT_FALSE(internal::FlattenDeepNesting("<html><body><div><p>a<b>b</b></p><ul><li>x</ul></div>").has_value());
}

TEST(HtmlRobustnessTest, FlatteningBoundsRandomTagSoup) {
  const char* names[] = {"div",  "span",          "b",      "i",     "a",        "p",      "li",      "ul",   "dd",
                         "dt",   "table",         "tr",     "td",    "th",       "tbody",  "caption", "svg",  "math",
                         "mi",   "foreignObject", "desc",   "g",     "select",   "option", "button",  "form", "nobr",
                         "font", "object",        "script", "style", "textarea", "h1",     "h2",      "pre",  "ruby",
                         "rt",   "foo",           "input",  "img",   "br",       "em",     "code"};
  std::mt19937 rng(20240611);
  for (int round = 0; round < 200; ++round) {
    std::string html;
    for (int token = 0; token < 2000; ++token) {
      std::string name = names[rng() % std::size(names)];
      unsigned kind = rng() % 10;
      if (kind < 5) html += "<" + name + (rng() % 6 == 0 ? " color=red>" : ">");
      if (kind >= 5 && kind < 8) html += "</" + name + ">";
      if (kind == 8) html += "text";
      if (kind == 9) html += rng() % 2 ? "<!-- c -->" : " ";
    }
    ASSERT_LE(FlattenedDepth(html, 16), 3 * 16u + 10) << html;
  }
}

TEST(HtmlRobustnessTest, BudgetStopsGumbo) {
  internal::GumboArena starved({1.0, 0});  // no memory at all
  EXPECT_EQ(starved.Parse("<p>hello</p>"), nullptr);
  internal::GumboArena arena(internal::BudgetFor(20));
  const GumboOutput* output = arena.Parse("<p>hello</p>");
  ASSERT_NE(output, nullptr);
  EXPECT_EQ(internal::ExtractText(*output->document, 100), "hello");
}

TEST(HtmlRobustnessTest, TextOnlyStandIn) {
  std::string html = internal::TextOnlyHtml(
      "<div>one <b>t</b>wo<script>x<y</script><!-- c --></div><p>a < b &amp; c<style>p{}</style>");
  internal::GumboArena arena(internal::BudgetFor(html.size()));
  const GumboOutput* output = arena.Parse(html);
  ASSERT_NE(output, nullptr);
  EXPECT_EQ(internal::ExtractText(*output->document, 1000), "one two\n\na < b & c");
}

TEST(HtmlRobustnessTest, TruncatedHtml) {
  EXPECT_EQ(Text("<html><body><p>Hello <b>wor"), "Hello wor");
  HtmlPage page = ParseHtmlPage("<p>text</p><a href=\"/unterminated");
  EXPECT_EQ(page.text, "text");
  EXPECT_TRUE(page.links.empty());
  EXPECT_EQ(Text("<p>x</p><!-- open comment"), "x");
  EXPECT_EQ(Text("<title>Only a title"), "");
  EXPECT_EQ(ParseHtmlPage("<title>Only a title").title, "Only a title");
  EXPECT_EQ(Text(""), "");
  EXPECT_EQ(Text("<"), "<");
}

TEST(HtmlRobustnessTest, MegabyteAttribute) {
  std::string value(size_t{1} << 20, 'v');
  HtmlPage page = ParseHtmlPage("<div data-x=\"" + value + "\"><a title='" + value + "' href=/ok>ok</a></div>");
  EXPECT_EQ(page.text, "ok");
  ASSERT_EQ(page.links.size(), 1u);
  EXPECT_EQ(page.links[0].href, "/ok");
}

TEST(HtmlRobustnessTest, InvalidUtf8Input) {
  HtmlPage page = ParseHtmlPage("<title>bad \xFF\xFE bytes</title><p>caf\xE9 \xC3</p><a href=/\x80>x</a>");
  ExpectValid(page);
  EXPECT_EQ(page.title, "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes");
}

TEST(HtmlRobustnessTest, RandomBytes) {
  std::mt19937 rng(12345);
  const std::string alphabet = "<>/=\"' &;#!-abcdiprtvx\n\xC3\xA9\xFF";
  for (int i = 0; i < 2000; ++i) {
    std::string bytes(rng() % 4097, '\0');
    bool markup_heavy = i % 2 == 0;
    for (char& c : bytes) {
      c = markup_heavy ? alphabet[rng() % alphabet.size()] : static_cast<char>(rng() % 256);
    }
    HtmlPage page = ParseHtmlPage(bytes);
    ExpectValid(page);
    if (HasFailure()) FAIL() << "input " << i;
  }
}

TEST(HtmlRobustnessTest, MutatedRealPage) {
  const std::string page =
      "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>Docs &ndash; Refinery</title>"
      "<meta name=robots content='index,follow'><link rel=canonical href='https://example.com/docs'>"
      "<style>body{margin:0}</style><script>window.x = '<div>';</script></head><body>"
      "<header><nav><a href=/>Home</a> <a href=/docs>Docs</a></nav></header><main><article>"
      "<h1>Getting started</h1><p>Install with <code>apt install refinery</code>, then run it.</p>"
      "<ul><li>Fast</li><li>Small &amp; simple</li></ul><table><tr><th>Flag</th><th>Meaning</th></tr>"
      "<tr><td>-v</td><td>verbose</td></tr></table><pre>refinery --serve\n  --port 8080</pre>"
      "<p>See <a href='/docs/api?v=2#top' rel=nofollow>the API</a>.<br>Questions? <a href=mailto:x@y>Mail</a></p>"
      "</article></main><footer>&copy; 2024</footer></body></html>";
  HtmlPage clean = ParseHtmlPage(page);
  EXPECT_EQ(clean.title, "Docs – Refinery");
  EXPECT_EQ(clean.language, "en");
  EXPECT_EQ(clean.canonical, "https://example.com/docs");
  EXPECT_EQ(clean.links.size(), 4u);
  EXPECT_EQ(clean.text,
            "Getting started\n\nInstall with apt install refinery, then run it.\n\n- Fast\n\n- Small & simple\n\n"
            "Flag | Meaning\n\n-v | verbose\n\nrefinery --serve\n  --port 8080\n\nSee the API.\nQuestions? Mail");
  std::mt19937 rng(99);
  for (int i = 0; i < 1000; ++i) {
    std::string mutated = page;
    for (int edits = 1 + static_cast<int>(rng() % 8); edits > 0; --edits) {
      size_t at = rng() % mutated.size();
      switch (rng() % 4) {
        case 0:
          mutated.erase(at, rng() % 16);
          break;
        case 1:
          mutated.insert(at, 1, "<>/\"'=&\xFF"[rng() % 8]);
          break;
        case 2:
          mutated[at] = static_cast<char>(rng() % 256);
          break;
        default:
          mutated.insert(at, mutated.substr(rng() % mutated.size(), rng() % 64));
          break;
      }
    }
    ExpectValid(ParseHtmlPage(mutated));
    if (HasFailure()) FAIL() << "mutation " << i << ": " << mutated;
  }
}

}  // namespace
}  // namespace refinery::crawl
