// A real HTTP/1.1 server on loopback serving a small scripted web site, for
// the crawler's tests: static or computed answers per path, misbehaviours
// (slow drips, delays, close-delimited bodies, gzip) and a log of every
// request to assert on (fetch counts, User-Agent, politeness intervals).
//
// Not a production server: one thread per connection, everything in memory.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace refinery::testing {

// One request as the site received it (its body, if any, is discarded).
struct SiteRequest {
  std::string method;                                       // "GET", "HEAD", ...
  std::string target;                                       // as sent: "/a/b?x=1"
  std::map<std::string, std::string, std::less<>> headers;  // lower-case names; repeats joined with ", "
  std::chrono::steady_clock::time_point received;           // when its head was complete

  std::string Header(std::string_view lower_case_name) const;  // "" when absent
  std::string Path() const;                                    // target without "?query"
};

// One response the site gives for a path. Fill it field by field or with
// MakeResponse: GCC 12's -Wmissing-field-initializers rejects designated
// initializers that skip fields.
struct SiteResponse {
  int status = 200;
  std::string content_type = "text/html; charset=utf-8";  // empty: no Content-Type header
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Location, Retry-After, ETag, ...)
  bool gzip = false;            // gzip-encode the body (Content-Encoding: gzip) when Accept-Encoding allows gzip
  double drip_bytes_per_s = 0;  // > 0: send the body in ~64-byte pieces, never ahead of this rate; Stop() cuts it
  double delay_s = 0;           // wait this long before answering; Stop() cuts it (the client gets no answer)
  bool no_length = false;       // close-delimited body: no Content-Length, Connection: close (size-cap tests)
};

SiteResponse MakeResponse(int status, std::string body, std::string content_type = "text/html; charset=utf-8");
// A redirect: `status` (301, 302, 303, 307, 308) with Location: `location` and a short HTML body.
SiteResponse Redirect(int status, std::string location);

// A loopback HTTP/1.1 server on an ephemeral port, listening from
// construction. One thread per connection, keep-alive (HTTP/1.1 default,
// HTTP/1.0 on request), HEAD answered without a body, 204/304 without one.
// Request heads over 64 KiB get 431; Content-Length request bodies are read
// and dropped; after a chunked one the connection is closed. Unknown paths:
// 404 text/plain "not found". A throwing handler: 500 with its what().
// All members are thread-safe.
class TestSite {
 public:
  // Throws std::runtime_error when it cannot listen on bind_address (IPv4),
  // e.g. "127.0.0.2" for a second "host" on the same machine.
  explicit TestSite(std::string bind_address = "127.0.0.1");
  ~TestSite();  // Stop()s
  TestSite(const TestSite&) = delete;
  TestSite& operator=(const TestSite&) = delete;

  int port() const;
  std::string host() const;      // the bind address
  std::string base_url() const;  // "http://127.0.0.1:PORT", no trailing slash

  // Static response for a target: "/a/b?x=1" matches exactly; a bare path
  // "/a/b" also answers any query on it that has no exact entry. Replaces
  // an earlier Set for the same key; takes effect on the next request.
  void Set(std::string path, SiteResponse response);
  // Dynamic responses, matched like Set; a handler wins over any Set entry
  // (even an exact one) for the request. Called on the connection's thread
  // without locks held, possibly concurrently: keep its state thread-safe.
  using Handler = std::function<SiteResponse(const SiteRequest&)>;
  void SetHandler(std::string path, Handler handler);

  // Every request seen so far, in arrival order (logged before answering).
  std::vector<SiteRequest> Requests() const;
  int CountRequests(std::string_view target) const;  // exact target, query included
  // Blocks until `n` requests for `target` have arrived, the timeout passes
  // or the site stops; whether they did.
  bool WaitForRequests(std::string_view target, int n, double timeout_s) const;

  // Closes the listener and every connection (idle, delayed or mid-drip:
  // clients see the server gone) and joins all threads. Idempotent; the
  // request log stays readable. There is no restart.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// CRC-32 (IEEE 802.3, as gzip and PNG use it): Crc32("123456789") == 0xCBF43926.
std::uint32_t Crc32(std::string_view bytes);
// A valid gzip stream of `bytes` without compression: DEFLATE stored blocks
// (BTYPE=00) of at most 65,535 bytes between the gzip header and the
// CRC-32 + ISIZE trailer. Any gzip decoder accepts it.
std::string GzipStored(std::string_view bytes);

// Serves the crawler tests' site on `site`; `other_base_url` (another
// TestSite, e.g. on 127.0.0.2) is where the cross-site links point. Call it
// on the other site too (with this one's base URL) to serve /external.html
// and /refused.html there. Every HTML page has at least 200 characters of
// distinct prose unless said otherwise. The pages:
//   /robots.txt            "User-agent: *\nDisallow: /private/\nCrawl-delay: 0.1\n" (text/plain)
//   /                      links /a.html /b.html /private/secret.html /redirect/1 /loop/1 /to-refused
//                          /latin1.html /gzip.html /slow.html /big.html /image.png /nofollow.html
//                          /canonical-dup.html /doc.pdf OTHER/external.html mailto: javascript: #top
//                          ./a.html#frag (nothing else: the rest are for tests to seed directly)
//   /a.html -> /deep/level2.html -> /deep/level3.html -> /deep/level4.html   (depths 1..4)
//   /b.html                <base href="/sub/">, link "page.html" (= /sub/page.html), canonical /b.html
//   /redirect/1 301-> /redirect/2 302-> /redirect/3 307-> /final.html
//   /loop/1 302-> /loop/2 302-> /loop/1
//   /redirect/many/N       N = 1..10: 302-> /redirect/many/N+1; /redirect/many/11 is a page
//   /to-refused            302-> OTHER/refused.html
//   /latin1.html           text/html; charset=iso-8859-1, bytes "caf\xE9 cr\xE8me" (and more Latin-1)
//   /meta-charset.html     text/html (no charset), <meta charset="windows-1252">, bytes 0x93 0x94 0x80
//   /shiftjis.html         text/html; charset=Shift_JIS, bytes 93 FA 96 7B 8C EA ("日本語")
//   /gzip.html             gzip = true
//   /slow.html             4,000-byte body dripped at 200 bytes/s (20 s)
//   /big.html              3 MiB (3,145,728-byte) body; /big-nolength.html the same, close-delimited
//   /image.png             image/png (a valid 1x1 PNG)
//   /wrong-type.html       an HTML page served as application/octet-stream
//   /doc.pdf               application/pdf, one page: "Refinery test PDF" and a sentence more
//   /nofollow.html         <meta name="robots" content="nofollow">, links /nf-target1.html
//   /relnofollow.html      <a rel="nofollow" href="/nf-target2.html">, normal link /c.html
//   /noindex.html          <meta name="robots" content="noindex">, links /c.html
//   /canonical-dup.html    canonical /a.html (a printer version of /a.html's text)
//   /tiny.html             under 50 characters of text
//   /flaky.html            503 the first time, then 200
//   /ratelimited.html      429 with Retry-After: 1 the first time, then 200
//   /timeout-once.html     the first answer after 5 s (delay_s), then at once
//   /gone.html             404 (an HTML page)
//   /c.html /final.html /sub/page.html /nf-target1.html /nf-target2.html /private/secret.html
//   /deep/level4.html /external.html /refused.html      ordinary pages
void AddCrawlTestPages(TestSite& site, const std::string& other_base_url);

}  // namespace refinery::testing
