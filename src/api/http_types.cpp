#include "api/http_types.h"

#include <algorithm>
#include <cctype>

namespace refinery::api {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
std::string_view TrimOws(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

bool AllDigits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string Request::param(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (key == name) return value;
  }
  return "";
}

bool Request::has_param(std::string_view name) const {
  return std::any_of(params.begin(), params.end(), [&](const auto& p) { return p.first == name; });
}

std::string Request::header(std::string_view lower_name) const {
  for (const auto& [key, value] : headers) {
    if (key == lower_name) return value;
  }
  return "";
}

void Response::set_header(const std::string& name, const std::string& value) {
  std::erase_if(headers, [&](const auto& h) { return EqualsIgnoreCase(h.first, name); });
  headers.emplace_back(name, value);
}

std::string PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      int hi = HexValue(text[i + 1]);
      int lo = HexValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += plus_is_space && c == '+' ? ' ' : c;
  }
  return out;
}

void ParseTarget(Request& request) {
  std::string_view target = request.target;
  // Absolute form (RFC 9112 3.2.2): keep only what follows the authority.
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.size() >= scheme.size() && EqualsIgnoreCase(target.substr(0, scheme.size()), scheme)) {
      size_t slash = target.find_first_of("/?", scheme.size());
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
      break;
    }
  }
  size_t question = target.find('?');
  std::string_view path = target.substr(0, question);
  request.path = path.empty() ? "/" : PercentDecode(path, /*plus_is_space=*/false);
  request.params.clear();
  if (question == std::string_view::npos) return;
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    request.params.emplace_back(PercentDecode(key, true), PercentDecode(value, true));
  }
}

std::optional<std::string> FramingProblem(const HeaderFields& fields, bool http11) {
  std::optional<std::string_view> length;
  int transfer_encodings = 0;
  int hosts = 0;
  for (const auto& [name, raw] : fields) {
    const std::string_view value = TrimOws(raw);
    if (name == "content-length") {
      if (!AllDigits(value)) return "invalid Content-Length '" + std::string(value) + "' (digits only)";
      if (length && *length != value) return std::string("conflicting Content-Length headers");
      length = value;
    } else if (name == "transfer-encoding") {
      if (++transfer_encodings > 1) return std::string("repeated Transfer-Encoding header");
      if (!EqualsIgnoreCase(value, "chunked")) {
        return "unsupported Transfer-Encoding '" + std::string(value) + "' (only chunked)";
      }
    } else if (name == "host") {
      ++hosts;
    }
  }
  if (length && transfer_encodings > 0) return std::string("Content-Length together with Transfer-Encoding");
  if (http11 && hosts != 1) return std::string(hosts == 0 ? "missing Host header" : "repeated Host header");
  return std::nullopt;
}

}  // namespace refinery::api
