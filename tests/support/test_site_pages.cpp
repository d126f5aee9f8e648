// The crawler tests' site (AddCrawlTestPages): hand-written pages with
// distinct prose, so content dedup never merges two of them by accident.
#include <atomic>
#include <cstddef>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/test_site.h"

namespace refinery::testing {
namespace {

// A complete HTML page: `head` goes into <head> after the title, `prose` (HTML) into the body, then `links` as a list.
std::string Html(std::string_view title, std::string_view prose, const std::vector<std::string>& links = {},
                 std::string_view head = "") {
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<title>" + std::string(title) + "</title>\n";
  html += std::string(head) + (head.empty() ? "" : "\n");
  html += "</head>\n<body>\n<h1 id=\"top\">" + std::string(title) + "</h1>\n" + std::string(prose) + "\n";
  if (!links.empty()) {
    html += "<ul>\n";
    for (const std::string& href : links) html += "<li><a href=\"" + href + "\">" + href + "</a></li>\n";
    html += "</ul>\n";
  }
  return html + "</body>\n</html>\n";
}

SiteResponse Page(std::string body, std::string content_type = "text/html; charset=utf-8") {
  return MakeResponse(200, std::move(body), std::move(content_type));
}

// `html` grown to exactly `size` bytes with numbered paragraphs (and a comment's filler) before </body>.
std::string PadTo(std::string html, size_t size, std::string_view paragraph) {
  const std::string tail = "</body>\n</html>\n";
  html.resize(html.rfind("</body>"));
  for (int n = 1; html.size() + paragraph.size() + 32 + tail.size() < size; ++n) {
    html += "<p>" + std::to_string(n) + ". " + std::string(paragraph) + "</p>\n";
  }
  size_t filler = size - html.size() - tail.size();
  html += filler >= 8 ? "<!--" + std::string(filler - 8, '.') + "-->\n" : std::string(filler, '\n');
  return html + tail;
}

// A one-page PDF 1.4 with Helvetica text; the xref offsets are counted as it is written.
std::string MinimalPdf() {
  const std::string text =
      "BT /F1 24 Tf 72 720 Td (Refinery test PDF) Tj /F1 12 Tf 0 -36 Td "
      "(This page exists so that the crawler can be seen to fetch and store documents that are not HTML.) Tj ET";
  const std::vector<std::string> objects = {
      "<< /Type /Catalog /Pages 2 0 R >>",
      "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
      "<< /Length " + std::to_string(text.size()) + " >>\nstream\n" + text + "\nendstream",
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  };
  std::string pdf = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";  // the binary comment marks the file as binary
  std::vector<size_t> offsets;
  for (size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(pdf.size());
    pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
  }
  const size_t xref = pdf.size();
  pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
  for (size_t offset : offsets) {
    char entry[21];  // exactly 20 bytes each (PDF 1.7 7.5.4)
    std::snprintf(entry, sizeof entry, "%010zu 00000 n \n", offset);
    pdf += entry;
  }
  pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) + " /Root 1 0 R >>\nstartxref\n" +
         std::to_string(xref) + "\n%%EOF\n";
  return pdf;
}

// A valid 1x1 transparent PNG.
std::string TinyPng() {
  static constexpr unsigned char kBytes[] = {
      0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00,
      0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00,
      0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01,
      0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82};
  return std::string(reinterpret_cast<const char*>(kBytes), sizeof kBytes);
}

// Answers `first` to the first request and `later` to every one after it.
TestSite::Handler FirstThen(SiteResponse first, SiteResponse later) {
  auto seen = std::make_shared<std::atomic<int>>(0);
  return [seen, first = std::move(first), later = std::move(later)](const SiteRequest&) {
    return seen->fetch_add(1) == 0 ? first : later;
  };
}

constexpr std::string_view kIndexProse =
    "<p>Welcome to the Refinery crawl test site. This front page is the root of a small web of documents that "
    "exercise a crawler: ordinary articles, pages several links deep, redirect chains and loops, pages in old "
    "character sets, compressed and slow answers, oversized bodies, images and documents that are not HTML, and "
    "pages that ask robots not to follow or index them. <a href=\"./a.html#frag\">The first article</a> is a "
    "good place to start.</p>";

constexpr std::string_view kArticleProse =
    "<p>Lighthouse keepers once lived on remote rocks for months at a time, trimming wicks, polishing the great "
    "lenses and winding the clockwork that turned the light. Their logbooks record storms, shipwrecks and the "
    "slow arrival of supply boats, and many keepers kept gardens in the thin soil around the tower.</p>";

// An ordinary page: its path, title, prose and at most one link.
struct Article {
  std::string_view path, title, prose, link;
};

constexpr Article kArticles[] = {
    {"/deep/level2.html", "Baking sourdough",
     "<p>A sourdough starter is a living culture of wild yeast and lactic bacteria. Bakers feed it flour and water "
     "every day, and the acids it makes give the bread its tang and its keeping quality. A long, cool rise lets "
     "the dough develop flavour and an open crumb before it goes into a very hot oven.</p>",
     "/deep/level3.html"},
    {"/deep/level3.html", "Life in tide pools",
     "<p>When the tide goes out, rock pools along the shore become small worlds of their own. Anemones close up "
     "against the drying air, hermit crabs trade shells, and periwinkles graze on films of algae. The animals that "
     "live there must survive heat, fresh rain and pounding waves twice every single day.</p>",
     "/deep/level4.html"},
    {"/deep/level4.html", "The craft of glassblowing",
     "<p>A glassblower gathers molten glass on the end of a long iron pipe, then shapes it by blowing, turning and "
     "swinging it while it is still soft. The piece goes back into the glory hole again and again to stay workable, "
     "and it must cool slowly in an annealing oven overnight or it will crack.</p>",
     ""},
    {"/sub/page.html", "Drawing old maps",
     "<p>Before satellites, surveyors measured the land with chains, compasses and theodolites, triangulating from "
     "hilltop to hilltop. Engravers then cut the coastlines, rivers and roads into copper plates by hand, and a "
     "single sheet of a national survey could take many years to finish and print.</p>",
     ""},
    {"/final.html", "Repairing mechanical clocks",
     "<p>A clock repairer takes the movement apart wheel by wheel, cleans every pivot and inspects the teeth for "
     "wear. The escapement is the heart of the clock: it lets the gear train advance one tooth at a time, and a "
     "badly worn pallet will make the clock gain or lose minutes every day.</p>",
     ""},
    {"/redirect/many/11", "Night trains of Europe",
     "<p>Sleeper trains carry passengers across borders while they sleep, in couchettes of six berths or in small "
     "private compartments with a washbasin. Many routes closed when cheap flights arrived, but new operators have "
     "brought back services between cities such as Vienna, Brussels, Zurich and Amsterdam.</p>",
     ""},
    {"/c.html", "Chess openings for beginners",
     "<p>The first moves of a chess game decide who controls the centre of the board. Beginners are told to move "
     "a centre pawn, develop their knights before their bishops, castle early to keep the king safe, and avoid "
     "moving the same piece twice before the others have joined the game.</p>",
     ""},
    {"/nf-target1.html", "How volcanoes erupt",
     "<p>Magma rises from deep below the crust because it is lighter than the solid rock around it. Gas dissolved "
     "in the melt comes out of solution as the pressure drops, much like bubbles in a bottle of soda, and when it "
     "cannot escape gently the eruption becomes an explosion of ash and pumice.</p>",
     ""},
    {"/nf-target2.html", "Folding paper cranes",
     "<p>Origami cranes start from a square sheet folded into a bird base, with careful creases along both "
     "diagonals. The neck and tail are reverse folded, the head is pinched into shape, and the wings are pulled "
     "apart gently so that the body puffs out. A thousand cranes strung together are a traditional gift.</p>",
     ""},
    {"/external.html", "Keeping an apple orchard",
     "<p>Apple trees do not grow true from seed, so every named variety is grafted onto a rootstock that decides "
     "how tall the tree will grow. Orchard keepers prune in winter to open the canopy to light, thin the fruit in "
     "early summer and pick by hand in autumn before storing the crop cool and dark.</p>",
     ""},
    {"/refused.html", "Exploring flooded caves",
     "<p>Cave divers follow a fixed guideline from the entrance into the dark, because silt stirred up by a fin "
     "can drop the visibility to nothing in seconds. They carry at least three lights, plan to use only a third "
     "of their gas going in, and keep the rest for the long swim back to daylight.</p>",
     ""},
    {"/private/secret.html", "A private page",
     "<p>This page sits under the private directory that robots.txt disallows for every user agent. A polite "
     "crawler never requests it, so a test that finds it in the request log has found a crawler that ignored the "
     "rules; its content is otherwise an ordinary paragraph about nothing in particular.</p>",
     ""},
};

constexpr std::string_view kWrongTypeProse =
    "<p>Stamp collectors prize errors: an inverted centre, a missing colour or a perforation in the wrong place "
    "can make a common stamp worth a fortune. They soak stamps off envelopes in cool water, dry them flat between "
    "blotting papers and handle them with tongs, so that skin oils never touch the paper.</p>";

constexpr std::string_view kBaseProse =
    "<p>A honeybee colony in summer holds tens of thousands of workers, a few hundred drones and a single queen. "
    "Beekeepers open the hive on calm, warm days, lift out the frames one at a time to look for eggs and capped "
    "brood, and add boxes on top when the bees need more room to store their honey.</p>";

constexpr std::string_view kGzipProse =
    "<p>The DEFLATE format behind gzip combines two old ideas: LZ77, which replaces repeated strings with short "
    "references back into the text already seen, and Huffman coding, which gives common symbols short codes. A "
    "stored block skips both and copies the bytes as they are, which is still a perfectly valid stream.</p>";

constexpr std::string_view kSlowProse =
    "A garden snail moves at roughly a metre an hour, gliding on a film of mucus that it lays down under its foot "
    "and that lets it climb walls and cross the edge of a razor blade unharmed.";

constexpr std::string_view kBigProse =
    "The almanac lists, for every day of the year, the times of sunrise and sunset, the phase of the moon, the "
    "height of the tides at the chief ports and the saints remembered on that date.";

constexpr std::string_view kFollowProse =
    "<p>Many songbirds migrate at night, steering by the stars and by the earth's magnetic field. Some fly "
    "thousands of kilometres without stopping, doubling their body weight beforehand in fat that they burn on the "
    "way; ringing records show the same birds returning to the same hedges year after year.</p>";

constexpr std::string_view kRelNofollowProse =
    "<p>Potters throw a bowl by centring a lump of clay on the wheel, opening it with their thumbs and pulling the "
    "walls up in slow, even passes. After drying to leather hard it is trimmed, fired once as bisque, glazed and "
    "fired again far hotter. A <a rel=\"nofollow\" href=\"/nf-target2.html\">sponsored link</a> sits here.</p>";

constexpr std::string_view kNoindexProse =
    "<p>These are draft notes that the site does not want in any search index: half-finished thoughts about a "
    "walking route along the old canal towpath, the locks that still work, the pubs that have closed and the "
    "herons that stand in the shallows waiting for fish near the lock gates.</p>";

constexpr std::string_view kRetryProse =
    "<p>Weather forecasters run numerical models that divide the atmosphere into a grid of boxes and step the "
    "equations of fluid motion forward a few minutes at a time. Small errors in the starting state grow, so they "
    "run the model many times with slightly different inputs and report the spread as a probability.</p>";

constexpr std::string_view kRateLimitedProse =
    "<p>Public libraries lend far more than books: many lend tools, telescopes, musical instruments and seeds for "
    "the garden. Librarians catalogue each item, and the oldest libraries still keep handwritten ledgers of loans "
    "going back centuries, a record of what a town was reading in every decade.</p>";

constexpr std::string_view kTimeoutProse =
    "<p>A river's long profile runs steep near its source and flattens towards the sea. In the uplands it cuts "
    "down into rock and carries boulders; in the lowlands it wanders across a flood plain in wide meanders, "
    "dropping fine silt that makes the surrounding fields some of the most fertile land.</p>";

constexpr std::string_view kGoneProse =
    "<p>The page you asked for is not here any more. It was removed when the site was reorganised, and nothing "
    "replaces it; a crawler should record the 404 and not keep asking for it on every visit, and it should not "
    "store this short explanation as though it were the article that used to live here.</p>";

// ISO-8859-1 bytes, in octal (a hex escape would swallow the letters after it): \351 is "é", \350 "è",
// \347 "ç", \340 "à", \352 "ê", \357 "ï".
constexpr std::string_view kLatin1Prose =
    "<p>Au caf\351 du coin, on commande un caf\351 cr\350me et une cr\352pe au citron. Le gar\347on, tr\350s na\357ve, "
    "croit que la cuisine fran\347aise se r\351sume \340 cela. This page is served as ISO-8859-1, so every accented "
    "letter above is a single byte; a crawler that assumed UTF-8 would show replacement characters instead.</p>";

// Windows-1252 bytes, in octal: \223 and \224 (0x93, 0x94) are curly double quotes, \200 (0x80) the euro sign.
constexpr std::string_view kCp1252Prose =
    "<p>The market stall sold \223fresh\224 bread at \2003 a loaf and called the day-old loaves a \223bargain\224 at "
    "\2001. The page declares its character set only in a meta tag, so the bytes for the quotes and the euro sign "
    "decode correctly only when the crawler reads that tag before decoding the text.</p>";

// Shift_JIS bytes: 93 FA 96 7B 8C EA is "日本語".
constexpr std::string_view kShiftJisProse =
    "<p>The word for the Japanese language, \x93\xFA\x96\x7B\x8C\xEA (nihongo), is written here in Shift_JIS, the "
    "encoding many older Japanese sites still use. Its two-byte characters must be decoded with the charset the "
    "server names in its Content-Type header, or the crawler stores nonsense.</p>";

}  // namespace

void AddCrawlTestPages(TestSite& site, const std::string& other_base_url) {
  SiteResponse robots = Page("User-agent: *\nDisallow: /private/\nCrawl-delay: 0.1\n", "text/plain; charset=utf-8");
  site.Set("/robots.txt", robots);
  site.Set("/", Page(Html("Refinery crawl test site", kIndexProse,
                          {"/a.html", "/b.html", "/private/secret.html", "/redirect/1", "/loop/1", "/to-refused",
                           "/latin1.html", "/gzip.html", "/slow.html", "/big.html", "/image.png", "/nofollow.html",
                           "/canonical-dup.html", "/doc.pdf", other_base_url + "/external.html",
                           "mailto:webmaster@example.com", "javascript:void(0)", "#top", "./a.html#frag"})));
  for (const Article& article : kArticles) {
    std::vector<std::string> links;
    if (!article.link.empty()) links.emplace_back(article.link);
    site.Set(std::string(article.path), Page(Html(article.title, article.prose, links)));
  }
  site.Set("/a.html", Page(Html("The lives of lighthouse keepers", kArticleProse, {"/deep/level2.html"})));
  site.Set("/canonical-dup.html",
           Page(Html("The lives of lighthouse keepers (printer version)",
                     std::string(kArticleProse) + "\n<p>This is the printer-friendly copy of the article.</p>", {},
                     "<link rel=\"canonical\" href=\"/a.html\">")));
  site.Set("/b.html", Page(Html("Keeping bees", kBaseProse, {"page.html"},
                                "<base href=\"/sub/\">\n<link rel=\"canonical\" href=\"/b.html\">")));

  site.Set("/redirect/1", Redirect(301, "/redirect/2"));
  site.Set("/redirect/2", Redirect(302, "/redirect/3"));
  site.Set("/redirect/3", Redirect(307, "/final.html"));
  site.Set("/loop/1", Redirect(302, "/loop/2"));
  site.Set("/loop/2", Redirect(302, "/loop/1"));
  for (int n = 1; n <= 10; ++n) {
    site.Set("/redirect/many/" + std::to_string(n), Redirect(302, "/redirect/many/" + std::to_string(n + 1)));
  }
  site.Set("/to-refused", Redirect(302, other_base_url + "/refused.html"));

  site.Set("/latin1.html", Page(Html("Un caf\351", kLatin1Prose), "text/html; charset=iso-8859-1"));
  site.Set("/meta-charset.html",
           Page(Html("Market prices", kCp1252Prose, {}, "<meta charset=\"windows-1252\">"), "text/html"));
  site.Set("/shiftjis.html", Page(Html("Nihongo", kShiftJisProse), "text/html; charset=Shift_JIS"));

  SiteResponse gzip = Page(Html("How gzip works", kGzipProse));
  gzip.gzip = true;
  site.Set("/gzip.html", gzip);
  SiteResponse slow = Page(PadTo(Html("Snails", "<p>A slow page about snails.</p>"), 4000, kSlowProse));
  slow.drip_bytes_per_s = 200;
  site.Set("/slow.html", slow);
  SiteResponse big = Page(PadTo(Html("The almanac", "<p>A very long page.</p>"), 3 * 1024 * 1024, kBigProse));
  site.Set("/big.html", big);
  big.no_length = true;
  site.Set("/big-nolength.html", std::move(big));

  site.Set("/image.png", Page(TinyPng(), "image/png"));
  site.Set("/doc.pdf", Page(MinimalPdf(), "application/pdf"));
  site.Set("/wrong-type.html", Page(Html("Collecting postage stamps", kWrongTypeProse), "application/octet-stream"));

  site.Set("/nofollow.html", Page(Html("Bird migration", kFollowProse, {"/nf-target1.html"},
                                       "<meta name=\"robots\" content=\"nofollow\">")));
  site.Set("/relnofollow.html", Page(Html("Throwing pots", kRelNofollowProse, {"/c.html"})));
  site.Set("/noindex.html",
           Page(Html("Draft notes", kNoindexProse, {"/c.html"}, "<meta name=\"robots\" content=\"noindex\">")));
  site.Set("/tiny.html",
           Page("<!DOCTYPE html>\n<html><head><title>Tiny</title></head><body><p>Short.</p></body></html>\n"));

  SiteResponse unavailable = Page("<html><body><p>Try again later.</p></body></html>");
  unavailable.status = 503;
  site.SetHandler("/flaky.html", FirstThen(unavailable, Page(Html("Forecasting the weather", kRetryProse))));
  SiteResponse limited = Page("<html><body><p>Too many requests.</p></body></html>");
  limited.status = 429;
  limited.headers.emplace_back("Retry-After", "1");
  site.SetHandler("/ratelimited.html", FirstThen(limited, Page(Html("Public libraries", kRateLimitedProse))));
  SiteResponse river = Page(Html("The course of a river", kTimeoutProse));
  SiteResponse late = river;
  late.delay_s = 5;
  site.SetHandler("/timeout-once.html", FirstThen(late, river));
  SiteResponse gone = Page(Html("Page gone", kGoneProse));
  gone.status = 404;
  site.Set("/gone.html", gone);
}

}  // namespace refinery::testing
