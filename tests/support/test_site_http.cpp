// TestSite's HTTP/1.1 framing and encodings: request parsing, answer
// heads, reason phrases, CRC-32 and the stored-block gzip writer.
#include <sys/socket.h>
#include <sys/types.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <utility>

#include "support/test_site_internal.h"

namespace refinery::testing {
namespace site_internal {
namespace {

// Appends what the socket has (blocking); false on EOF or error.
bool Fill(int fd, std::string& buffer) {
  char chunk[16 * 1024];
  while (true) {
    ssize_t got = ::recv(fd, chunk, sizeof chunk, 0);
    if (got > 0) {
      buffer.append(chunk, static_cast<size_t>(got));
      return true;
    }
    if (got < 0 && errno == EINTR) continue;
    return false;
  }
}

// Drops the next `length` body bytes, buffered or still to come.
bool Discard(int fd, std::string& buffer, size_t length) {
  while (buffer.size() < length) {
    length -= buffer.size();
    buffer.clear();
    if (!Fill(fd, buffer)) return false;
  }
  buffer.erase(0, length);
  return true;
}

// Parses the header lines (after the request line) into `request`; false when one has no colon.
bool ParseFields(std::string_view lines, SiteRequest& request) {
  while (!lines.empty()) {
    size_t end = lines.find("\r\n");
    std::string_view field = lines.substr(0, end);
    lines = end == std::string_view::npos ? std::string_view() : lines.substr(end + 2);
    size_t colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    std::string name = Lower(Trim(field.substr(0, colon)));
    std::string value(Trim(field.substr(colon + 1)));
    auto [it, fresh] = request.headers.emplace(name, value);
    if (!fresh) it->second += ", " + value;
  }
  return true;
}

}  // namespace

bool SendAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);  // a gone client: EPIPE, not SIGPIPE
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(sent));
  }
  return true;
}

bool ReadRequest(int fd, std::string& buffer, Incoming& in) {
  size_t head_end;
  while (true) {
    while (buffer.starts_with("\r\n")) buffer.erase(0, 2);  // stray CRLFs between requests (RFC 9112 2.2)
    head_end = buffer.find("\r\n\r\n");
    if (head_end != std::string::npos || buffer.size() > kMaxHeadBytes) break;
    if (!Fill(fd, buffer)) return false;
  }
  if (head_end == std::string::npos || head_end > kMaxHeadBytes) {
    in.error_status = 431;
    return false;
  }
  in.request.received = std::chrono::steady_clock::now();
  std::string_view head(buffer.data(), head_end);
  size_t line_end = std::min(head.find("\r\n"), head.size());
  std::string_view line = head.substr(0, line_end);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  std::string_view version = sp2 == std::string_view::npos ? "" : line.substr(sp2 + 1);
  if (sp1 == 0 || sp2 == sp1 + 1 || !version.starts_with("HTTP/1.") ||
      !ParseFields(head.substr(std::min(line_end + 2, head.size())), in.request)) {
    in.error_status = 400;
    return false;
  }
  in.request.method = std::string(line.substr(0, sp1));
  in.request.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  std::string connection = Lower(in.request.Header("connection"));
  in.keep_alive = version == "HTTP/1.0" ? connection.find("keep-alive") != std::string::npos
                                        : connection.find("close") == std::string::npos;
  size_t length = 0;
  std::string length_text = in.request.Header("content-length");
  if (!length_text.empty()) {
    auto [end, error] = std::from_chars(length_text.data(), length_text.data() + length_text.size(), length);
    if (error != std::errc() || end != length_text.data() + length_text.size()) {
      in.error_status = 400;
      return false;
    }
  }
  if (in.request.headers.count("transfer-encoding")) in.keep_alive = false;  // its end is not ours to find
  buffer.erase(0, head_end + 4);
  return Discard(fd, buffer, length);
}

bool AcceptsGzip(std::string_view accept) {
  while (!accept.empty()) {
    size_t comma = accept.find(',');
    std::string_view item = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
    std::string name = Lower(Trim(item.substr(0, item.find(';'))));
    if (name != "gzip" && name != "x-gzip" && name != "*") continue;
    size_t q = item.find("q=");
    if (q == std::string_view::npos || std::strtod(std::string(item.substr(q + 2)).c_str(), nullptr) > 0) return true;
  }
  return false;
}

SiteResponse TextResponse(int status, std::string body) {
  SiteResponse response;
  response.status = status;
  response.content_type = "text/plain; charset=utf-8";
  response.body = std::move(body);
  return response;
}

std::string ResponseHead(const SiteResponse& response, bool gzip, bool keep_alive, std::optional<size_t> length) {
  std::string head =
      "HTTP/1.1 " + std::to_string(response.status) + " " + std::string(ReasonPhrase(response.status)) + "\r\n";
  head += "Server: refinery-test-site\r\n";
  if (!response.content_type.empty()) head += "Content-Type: " + response.content_type + "\r\n";
  for (const auto& [name, value] : response.headers) head += name + ": " + value + "\r\n";
  if (response.gzip) head += "Vary: Accept-Encoding\r\n";
  if (gzip) head += "Content-Encoding: gzip\r\n";
  if (length) head += "Content-Length: " + std::to_string(*length) + "\r\n";
  if (!keep_alive) head += "Connection: close\r\n";
  return head + "\r\n";
}

std::string_view ReasonPhrase(int status) {
  // clang-format off
  static constexpr std::pair<int, std::string_view> kReasons[] = {
      {100, "Continue"}, {200, "OK"}, {201, "Created"}, {202, "Accepted"}, {204, "No Content"},
      {206, "Partial Content"}, {301, "Moved Permanently"}, {302, "Found"}, {303, "See Other"},
      {304, "Not Modified"}, {307, "Temporary Redirect"}, {308, "Permanent Redirect"}, {400, "Bad Request"},
      {401, "Unauthorized"}, {403, "Forbidden"}, {404, "Not Found"}, {405, "Method Not Allowed"},
      {406, "Not Acceptable"}, {408, "Request Timeout"}, {410, "Gone"}, {413, "Content Too Large"},
      {415, "Unsupported Media Type"}, {429, "Too Many Requests"}, {431, "Request Header Fields Too Large"},
      {500, "Internal Server Error"}, {501, "Not Implemented"}, {502, "Bad Gateway"},
      {503, "Service Unavailable"}, {504, "Gateway Timeout"}};
  // clang-format on
  for (const auto& [code, reason] : kReasons) {
    if (code == status) return reason;
  }
  return "Status";
}

}  // namespace site_internal

namespace {

// The reflected CRC-32 table (polynomial 0xEDB88320), built at compile time.
constexpr std::array<std::uint32_t, 256> MakeCrcTable() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[n] = c;
  }
  return table;
}

constexpr std::array<std::uint32_t, 256> kCrcTable = MakeCrcTable();

void AppendLittleEndian(std::string& out, std::uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

}  // namespace

std::uint32_t Crc32(std::string_view bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : bytes) crc = kCrcTable[(crc ^ byte) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

std::string GzipStored(std::string_view bytes) {
  constexpr size_t kMaxStored = 65535;  // LEN is 16 bits (RFC 1951 3.2.4)
  // ID1 ID2, CM = 8 (deflate), FLG = 0, MTIME = 0, XFL = 0, OS = 255 (unknown) (RFC 1952 2.3).
  std::string out("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
  size_t pos = 0;
  do {  // at least one block, so empty input still ends with a final one
    size_t len = std::min(kMaxStored, bytes.size() - pos);
    bool final = pos + len == bytes.size();
    out.push_back(final ? '\x01' : '\x00');  // BFINAL, BTYPE = 00, then padding to the byte boundary
    AppendLittleEndian(out, static_cast<std::uint32_t>(len), 2);
    AppendLittleEndian(out, static_cast<std::uint32_t>(~len & 0xFFFF), 2);  // NLEN
    out.append(bytes.substr(pos, len));
    pos += len;
  } while (pos < bytes.size());
  AppendLittleEndian(out, Crc32(bytes), 4);
  AppendLittleEndian(out, static_cast<std::uint32_t>(bytes.size() & 0xFFFFFFFFu), 4);  // ISIZE: size mod 2^32
  return out;
}

std::string SiteRequest::Header(std::string_view lower_case_name) const {
  auto it = headers.find(lower_case_name);
  return it == headers.end() ? "" : it->second;
}

std::string SiteRequest::Path() const { return target.substr(0, target.find('?')); }

SiteResponse MakeResponse(int status, std::string body, std::string content_type) {
  SiteResponse response;
  response.status = status;
  response.content_type = std::move(content_type);
  response.body = std::move(body);
  return response;
}

SiteResponse Redirect(int status, std::string location) {
  SiteResponse response;
  response.status = status;
  response.body = "<html><body><p>Moved to <a href=\"" + location + "\">" + location + "</a>.</p></body></html>";
  response.headers.emplace_back("Location", std::move(location));
  return response;
}

}  // namespace refinery::testing
