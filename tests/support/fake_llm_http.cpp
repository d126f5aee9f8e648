// FakeLlmServer's HTTP/1.1 framing: strict request parsing (Content-Length
// or chunked bodies, Expect: 100-continue) and answers with Content-Length
// or, for streams, chunked encoding.
#include <sys/socket.h>
#include <sys/types.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "support/fake_llm_internal.h"

namespace refinery::testing::fake_llm {
namespace {

constexpr size_t kMaxHeaderBytes = 64 * 1024;
constexpr size_t kMaxBodyBytes = 64 * 1024 * 1024;

// Appends what the socket has (blocking); false on EOF or error.
bool Fill(int fd, std::string& buffer) {
  char chunk[64 * 1024];
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

// Reads until a CRLF at or after `from`; its position, or nullopt (closed, or a line over `limit`).
std::optional<size_t> LineEnd(int fd, std::string& buffer, size_t from, size_t limit) {
  while (true) {
    size_t end = buffer.find("\r\n", from);
    if (end != std::string::npos) return end;
    if (buffer.size() - from > limit || !Fill(fd, buffer)) return std::nullopt;
  }
}

std::string Trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return "";
  size_t end = text.find_last_not_of(" \t");
  return std::string(text.substr(begin, end - begin + 1));
}

bool IsToken(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// Parses "Content-Length"-style decimal or chunk-size hex; nullopt unless all digits.
std::optional<size_t> ParseSize(std::string_view text, int base) {
  size_t value = 0;
  if (text.empty()) return std::nullopt;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Reads a chunked body starting at buffer[pos]; the position after it, or nullopt with error_status set.
std::optional<size_t> ReadChunked(int fd, std::string& buffer, size_t pos, std::string& body, int& error_status) {
  while (true) {
    auto end = LineEnd(fd, buffer, pos, 1024);
    if (!end) return std::nullopt;  // the client went away mid-body
    std::string_view line(buffer.data() + pos, *end - pos);
    auto size = ParseSize(Trim(line.substr(0, line.find(';'))), 16);
    if (!size) {
      error_status = 400;
      return std::nullopt;
    }
    pos = *end + 2;
    if (*size == 0) break;
    if (body.size() + *size > kMaxBodyBytes) {
      error_status = 413;
      return std::nullopt;
    }
    while (buffer.size() < pos + *size + 2) {
      if (!Fill(fd, buffer)) return std::nullopt;
    }
    if (buffer.compare(pos + *size, 2, "\r\n") != 0) {
      error_status = 400;
      return std::nullopt;
    }
    body.append(buffer, pos, *size);
    pos += *size + 2;
  }
  while (true) {  // trailer fields, up to the empty line
    auto end = LineEnd(fd, buffer, pos, 8 * 1024);
    if (!end) return std::nullopt;
    bool empty = *end == pos;
    pos = *end + 2;
    if (empty) return pos;
  }
}

const char* Reason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 417:
      return "Expectation Failed";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Status";
  }
}

}  // namespace

bool ReadRequest(int fd, std::string& buffer, Request& request, int& error_status) {
  error_status = 0;
  size_t head_end;
  while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
    if (buffer.size() > kMaxHeaderBytes) {
      error_status = 431;
      return false;
    }
    if (!Fill(fd, buffer)) return false;  // closed between requests, or mid-head
  }
  std::string_view head(buffer.data(), head_end);
  size_t line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    error_status = 400;
    return false;
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method) || target.empty() || target[0] != '/' || !version.starts_with("HTTP/")) {
    error_status = 400;
    return false;
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    error_status = 505;
    return false;
  }
  request = Request{};
  request.method = std::string(method);
  request.path = std::string(target.substr(0, target.find('?')));
  while (line_end != std::string_view::npos) {
    size_t next = head.find("\r\n", line_end + 2);
    std::string_view field = head.substr(line_end + 2, next == std::string_view::npos ? next : next - line_end - 2);
    line_end = next;
    size_t colon = field.find(':');
    // No name, whitespace before the colon, or obsolete line folding: all rejected (RFC 9112 5.1, 5.2).
    if (colon == std::string_view::npos || !IsToken(field.substr(0, colon))) {
      error_status = 400;
      return false;
    }
    std::string name = Lower(std::string(field.substr(0, colon)));
    std::string value = Trim(field.substr(colon + 1));
    auto [it, fresh] = request.headers.emplace(name, value);
    if (!fresh) {
      if (name == "content-length" || name == "host") {  // conflicting framing or authority
        error_status = 400;
        return false;
      }
      it->second += ", " + value;
    }
  }
  const bool http11 = version == "HTTP/1.1";
  std::string connection = request.headers.count("connection") ? Lower(request.headers["connection"]) : "";
  request.keep_alive =
      http11 ? connection.find("close") == std::string::npos : connection.find("keep-alive") != std::string::npos;
  if (http11 && !request.headers.count("host")) {
    error_status = 400;
    return false;
  }
  bool chunked = request.headers.count("transfer-encoding") > 0;
  std::optional<size_t> length = 0;
  if (chunked) {
    // Anything but plain "chunked", or chunked with a Content-Length too, is ambiguous framing.
    if (Lower(request.headers["transfer-encoding"]) != "chunked" || request.headers.count("content-length")) {
      error_status = 400;
      return false;
    }
  } else if (request.headers.count("content-length")) {
    length = ParseSize(request.headers["content-length"], 10);
    if (!length) {
      error_status = 400;
      return false;
    }
    if (*length > kMaxBodyBytes) {
      error_status = 413;
      return false;
    }
  }
  size_t pos = head_end + 4;
  if (request.headers.count("expect")) {
    if (Lower(request.headers["expect"]) != "100-continue") {
      error_status = 417;
      return false;
    }
    // The client waits for this before sending the body (RFC 9110 10.1.1);
    // not needed once some of the body is here already.
    if (http11 && (chunked || *length > 0) && buffer.size() == pos && !SendAll(fd, "HTTP/1.1 100 Continue\r\n\r\n")) {
      return false;
    }
  }
  if (chunked) {
    auto after = ReadChunked(fd, buffer, pos, request.body, error_status);
    if (!after) return false;
    pos = *after;
  } else {
    while (buffer.size() < pos + *length) {
      if (!Fill(fd, buffer)) return false;
    }
    request.body = buffer.substr(pos, *length);
    pos += *length;
  }
  buffer.erase(0, pos);
  return true;
}

bool SendAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(sent));
  }
  return true;
}

std::string AnswerHead(const Answer& answer, bool keep_alive, std::optional<size_t> content_length) {
  std::string head = "HTTP/1.1 " + std::to_string(answer.status) + " " + Reason(answer.status) + "\r\n";
  head += "Content-Type: " + answer.content_type + "\r\n";
  for (const auto& [name, value] : answer.headers) head += name + ": " + value + "\r\n";
  if (content_length) {
    head += "Content-Length: " + std::to_string(*content_length) + "\r\n";
  } else {
    head += "Transfer-Encoding: chunked\r\n";
  }
  if (!keep_alive) head += "Connection: close\r\n";
  return head + "\r\n";
}

bool SendAnswer(int fd, const Answer& answer, bool keep_alive, bool head_only, const std::function<bool()>& pause) {
  if (answer.stream.empty() || head_only) {
    std::string body = WholeBody(answer);
    std::string bytes = AnswerHead(answer, keep_alive, body.size());
    if (!head_only) bytes += body;
    return SendAll(fd, bytes);
  }
  if (!SendAll(fd, AnswerHead(answer, keep_alive, std::nullopt))) return false;
  for (size_t i = 0; i < answer.stream.size(); ++i) {
    const std::string& chunk = answer.stream[i];
    if (chunk.empty()) continue;  // an empty chunk would end the body
    if (i > 0 && pause && !pause()) return false;
    if (i + 1 == answer.stream.size() && answer.before_last_chunk) answer.before_last_chunk();
    char size[20];
    auto [end, error] = std::to_chars(size, size + sizeof size, chunk.size(), 16);
    if (error != std::errc() || !SendAll(fd, std::string(size, end) + "\r\n" + chunk + "\r\n")) return false;
  }
  return SendAll(fd, "0\r\n\r\n");
}

}  // namespace refinery::testing::fake_llm
