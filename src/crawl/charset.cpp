#include "crawl/charset.h"

#include <iconv.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <string>
#include <string_view>

#include "crawl/charset_internal.h"

namespace refinery::crawl {

using internal::Encoding;
using internal::EncodingKind;
using internal::Utf8Step;

namespace {

constexpr size_t kMaxConvertBytes = size_t{64} << 20;
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// Every WHATWG encoding label (https://encoding.spec.whatwg.org/#names-and-labels)
// iconv can decode, grouped by encoding; "replacement" and x-user-defined
// are left out, so they count as unknown.
constexpr std::array<Encoding, 39> kEncodings = {{
    {"utf-8", "UTF-8", EncodingKind::kUtf8, "unicode-1-1-utf-8 unicode11utf8 unicode20utf8 utf-8 utf8 x-unicode20utf8"},
    {"windows-1252", "WINDOWS-1252", EncodingKind::kAscii, "ansi_x3.4-1968 ascii us-ascii"},
    {"windows-1252", "WINDOWS-1252", EncodingKind::kLegacy,
     "cp1252 cp819 csisolatin1 ibm819 iso-8859-1 iso-ir-100 iso8859-1 iso88591 iso_8859-1 "
     "iso_8859-1:1987 l1 latin1 windows-1252 x-cp1252"},
    {"ibm866", "IBM866", EncodingKind::kLegacy, "866 cp866 csibm866 ibm866"},
    {"iso-8859-2", "ISO-8859-2", EncodingKind::kLegacy,
     "csisolatin2 iso-8859-2 iso-ir-101 iso8859-2 iso88592 iso_8859-2 iso_8859-2:1987 l2 latin2"},
    {"iso-8859-3", "ISO-8859-3", EncodingKind::kLegacy,
     "csisolatin3 iso-8859-3 iso-ir-109 iso8859-3 iso88593 iso_8859-3 iso_8859-3:1988 l3 latin3"},
    {"iso-8859-4", "ISO-8859-4", EncodingKind::kLegacy,
     "csisolatin4 iso-8859-4 iso-ir-110 iso8859-4 iso88594 iso_8859-4 iso_8859-4:1988 l4 latin4"},
    {"iso-8859-5", "ISO-8859-5", EncodingKind::kLegacy,
     "csisolatincyrillic cyrillic iso-8859-5 iso-ir-144 iso8859-5 iso88595 iso_8859-5 "
     "iso_8859-5:1988"},
    {"iso-8859-6", "ISO-8859-6", EncodingKind::kLegacy,
     "arabic asmo-708 csiso88596e csiso88596i csisolatinarabic ecma-114 iso-8859-6 iso-8859-6-e "
     "iso-8859-6-i iso-ir-127 iso8859-6 iso88596 iso_8859-6 iso_8859-6:1987"},
    {"iso-8859-7", "ISO-8859-7", EncodingKind::kLegacy,
     "csisolatingreek ecma-118 elot_928 greek greek8 iso-8859-7 iso-ir-126 iso8859-7 iso88597 "
     "iso_8859-7 iso_8859-7:1987 sun_eu_greek"},
    {"iso-8859-8", "ISO-8859-8", EncodingKind::kLegacy,
     "csiso88598e csisolatinhebrew hebrew iso-8859-8 iso-8859-8-e iso-ir-138 iso8859-8 iso88598 "
     "iso_8859-8 iso_8859-8:1988 visual"},
    {"iso-8859-8-i", "ISO-8859-8", EncodingKind::kLegacy, "csiso88598i iso-8859-8-i logical"},
    {"iso-8859-10", "ISO-8859-10", EncodingKind::kLegacy,
     "csisolatin6 iso-8859-10 iso-ir-157 iso8859-10 iso885910 l6 latin6"},
    {"iso-8859-13", "ISO-8859-13", EncodingKind::kLegacy, "iso-8859-13 iso8859-13 iso885913"},
    {"iso-8859-14", "ISO-8859-14", EncodingKind::kLegacy, "iso-8859-14 iso8859-14 iso885914"},
    {"iso-8859-15", "ISO-8859-15", EncodingKind::kLegacy,
     "csisolatin9 iso-8859-15 iso8859-15 iso885915 iso_8859-15 l9"},
    {"iso-8859-16", "ISO-8859-16", EncodingKind::kLegacy, "iso-8859-16"},
    {"koi8-r", "KOI8-R", EncodingKind::kLegacy, "cskoi8r koi koi8 koi8-r koi8_r"},
    {"koi8-u", "KOI8-U", EncodingKind::kLegacy, "koi8-ru koi8-u"},
    {"macintosh", "MACINTOSH", EncodingKind::kLegacy, "csmacintosh mac macintosh x-mac-roman"},
    {"windows-874", "WINDOWS-874", EncodingKind::kLegacy,
     "dos-874 iso-8859-11 iso8859-11 iso885911 tis-620 windows-874"},
    {"windows-1250", "WINDOWS-1250", EncodingKind::kLegacy, "cp1250 windows-1250 x-cp1250"},
    {"windows-1251", "WINDOWS-1251", EncodingKind::kLegacy, "cp1251 windows-1251 x-cp1251"},
    {"windows-1253", "WINDOWS-1253", EncodingKind::kLegacy, "cp1253 windows-1253 x-cp1253"},
    {"windows-1254", "WINDOWS-1254", EncodingKind::kLegacy,
     "cp1254 csisolatin5 iso-8859-9 iso-ir-148 iso8859-9 iso88599 iso_8859-9 iso_8859-9:1989 l5 "
     "latin5 windows-1254 x-cp1254"},
    {"windows-1255", "WINDOWS-1255", EncodingKind::kLegacy, "cp1255 windows-1255 x-cp1255"},
    {"windows-1256", "WINDOWS-1256", EncodingKind::kLegacy, "cp1256 windows-1256 x-cp1256"},
    {"windows-1257", "WINDOWS-1257", EncodingKind::kLegacy, "cp1257 windows-1257 x-cp1257"},
    {"windows-1258", "WINDOWS-1258", EncodingKind::kLegacy, "cp1258 windows-1258 x-cp1258"},
    {"x-mac-cyrillic", "MAC-CYRILLIC", EncodingKind::kLegacy, "x-mac-cyrillic x-mac-ukrainian"},
    {"gbk", "GB18030", EncodingKind::kLegacy,
     "chinese csgb2312 csiso58gb231280 gb2312 gb_2312 gb_2312-80 gbk iso-ir-58 x-gbk"},
    {"gb18030", "GB18030", EncodingKind::kLegacy, "gb18030"},
    {"big5", "BIG5-HKSCS", EncodingKind::kLegacy, "big5 big5-hkscs cn-big5 csbig5 x-x-big5"},
    {"euc-jp", "EUC-JP", EncodingKind::kLegacy, "cseucpkdfmtjapanese euc-jp x-euc-jp"},
    {"iso-2022-jp", "ISO-2022-JP", EncodingKind::kLegacy, "csiso2022jp iso-2022-jp"},
    {"shift_jis", "CP932", EncodingKind::kLegacy,
     "csshiftjis ms932 ms_kanji shift-jis shift_jis sjis windows-31j x-sjis"},
    {"euc-kr", "CP949", EncodingKind::kLegacy,
     "cseuckr csksc56011987 euc-kr iso-ir-149 korean ks_c_5601-1987 ks_c_5601-1989 ksc5601 "
     "ksc_5601 windows-949"},
    {"utf-16be", "UTF-16BE", EncodingKind::kUtf16, "unicodefffe utf-16be"},
    {"utf-16le", "UTF-16LE", EncodingKind::kUtf16,
     "csunicode iso-10646-ucs-2 ucs-2 unicode unicodefeff utf-16 utf-16le"},
}};

// True when `word` is one of the space-separated words of `list`.
bool HasWord(std::string_view list, std::string_view word) {
  for (size_t pos = 0; pos <= list.size();) {
    size_t end = list.find(' ', pos);
    if (end == std::string_view::npos) end = list.size();
    if (list.substr(pos, end - pos) == word) return true;
    pos = end + 1;
  }
  return false;
}

bool IsValidUtf8(std::string_view text) {
  bool valid = true;
  for (size_t pos = 0; pos < text.size() && valid;) pos += Utf8Step(text, pos, &valid);
  return valid;
}

void StripUtf8Bom(std::string& text) {
  if (text.compare(0, kUtf8Bom.size(), kUtf8Bom) == 0) text.erase(0, kUtf8Bom.size());
}

// Owns an iconv conversion descriptor to UTF-8.
class IconvToUtf8 {
 public:
  explicit IconvToUtf8(const char* from) : cd_(iconv_open("UTF-8", from)) {}
  ~IconvToUtf8() {
    if (ok()) iconv_close(cd_);
  }
  IconvToUtf8(const IconvToUtf8&) = delete;
  IconvToUtf8& operator=(const IconvToUtf8&) = delete;

  bool ok() const { return cd_ != reinterpret_cast<iconv_t>(-1); }
  iconv_t get() const { return cd_; }

 private:
  iconv_t cd_;
};

// Decodes `body` with iconv, turning each invalid `unit` (1 byte, 2 for
// UTF-16) into U+FFFD and a truncated sequence at the end into one U+FFFD.
// Fails only when iconv does not know `from`.
Result<std::string> IconvDecode(std::string_view body, const char* from, size_t unit) {
  IconvToUtf8 cd(from);
  if (!cd.ok()) return Status::InvalidArgument(std::string("charset '") + from + "' is not supported");
  std::string out;
  out.reserve(body.size() + body.size() / 2 + 16);
  std::array<char, 16384> buffer;
  char* in = const_cast<char*>(body.data());  // iconv never writes through it
  size_t in_left = body.size();
  while (in_left > 0) {
    char* out_ptr = buffer.data();
    size_t out_left = buffer.size();
    size_t rc = iconv(cd.get(), &in, &in_left, &out_ptr, &out_left);
    int error = errno;
    out.append(buffer.data(), static_cast<size_t>(out_ptr - buffer.data()));
    if (rc != static_cast<size_t>(-1) || error == E2BIG) continue;
    out += kReplacement;
    if (error == EINVAL) break;             // an incomplete sequence at the very end
    size_t skip = std::min(unit, in_left);  // EILSEQ (or anything else): skip and go on
    in += skip;
    in_left -= skip;
  }
  char* out_ptr = buffer.data();
  size_t out_left = buffer.size();
  iconv(cd.get(), nullptr, nullptr, &out_ptr, &out_left);  // flush stateful encodings
  out.append(buffer.data(), static_cast<size_t>(out_ptr - buffer.data()));
  return out;
}

std::string PrintableLabel(std::string_view label) {
  std::string out;
  for (char c : label.substr(0, 64)) out += (c >= 0x20 && c < 0x7F) ? c : '?';
  return out;
}

}  // namespace

namespace internal {

size_t Utf8Step(std::string_view text, size_t pos, bool* valid) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(pos);
  *valid = true;
  if (lead < 0x80) return 1;
  size_t need = 0;
  unsigned char low = 0x80, high = 0xBF;  // the range allowed for the next byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 2;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 3;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // past U+10FFFF
  } else {
    *valid = false;
    return 1;
  }
  for (size_t k = 1; k <= need; ++k) {
    if (pos + k >= text.size() || byte(pos + k) < low || byte(pos + k) > high) {
      *valid = false;
      return k;
    }
    low = 0x80;
    high = 0xBF;
  }
  return need + 1;
}

std::string NormalizeLabel(std::string_view label) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; };
  while (!label.empty() && space(label.front())) label.remove_prefix(1);
  while (!label.empty() && space(label.back())) label.remove_suffix(1);
  std::string out(label);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

const Encoding* FindEncoding(std::string_view label) {
  std::string normalized = NormalizeLabel(label);
  if (normalized.empty() || normalized.find(' ') != std::string::npos) return nullptr;
  for (const Encoding& encoding : kEncodings) {
    if (HasWord(encoding.labels, normalized)) return &encoding;
  }
  return nullptr;
}

const Encoding& Utf8Encoding() { return kEncodings[0]; }

std::string Decode(std::string_view body, const Encoding& encoding, std::string* used) {
  if (used) *used = std::string(encoding.canonical);
  if (encoding.kind == EncodingKind::kUtf8 || (encoding.kind == EncodingKind::kAscii && IsValidUtf8(body))) {
    if (used) *used = "utf-8";
    std::string out = RepairUtf8(body);
    StripUtf8Bom(out);
    return out;
  }
  const char* from = encoding.iconv_name;
  size_t unit = 1;
  if (encoding.kind == EncodingKind::kUtf16) {
    unit = 2;
    if (body.substr(0, 2) == "\xFE\xFF") from = "UTF-16BE";
    if (body.substr(0, 2) == "\xFF\xFE") from = "UTF-16LE";
  }
  Result<std::string> decoded = IconvDecode(body, from, unit);
  // iconv lacking a table the label list promises is a broken install:
  // degrade to UTF-8 with replacement rather than lose the page.
  std::string out = decoded.ok() ? std::move(decoded).value() : RepairUtf8(body);
  StripUtf8Bom(out);
  if (!IsValidUtf8(out)) out = RepairUtf8(out);  // iconv's output, checked anyway
  return out;
}

}  // namespace internal

std::string RepairUtf8(std::string_view text) {
  size_t pos = 0;
  bool valid = true;
  while (pos < text.size()) {
    size_t length = Utf8Step(text, pos, &valid);
    if (!valid) break;
    pos += length;
  }
  if (valid) return std::string(text);
  std::string out(text.substr(0, pos));
  out.reserve(text.size() + 16);
  while (pos < text.size()) {
    size_t length = Utf8Step(text, pos, &valid);
    if (valid) {
      out.append(text, pos, length);
    } else {
      out += kReplacement;  // one per maximal invalid subpart
    }
    pos += length;
  }
  return out;
}

Result<std::string> ToUtf8(std::string_view body, std::string_view charset) {
  if (body.size() > kMaxConvertBytes) {
    return Status::InvalidArgument("body of " + std::to_string(body.size()) +
                                   " bytes exceeds the 64 MiB conversion limit");
  }
  if (internal::NormalizeLabel(charset).empty()) return internal::Decode(body, internal::Utf8Encoding(), nullptr);
  const Encoding* encoding = internal::FindEncoding(charset);
  if (encoding == nullptr) return Status::InvalidArgument("unknown charset '" + PrintableLabel(charset) + "'");
  return internal::Decode(body, *encoding, nullptr);
}

std::string DecodePageText(std::string_view body, std::string_view content_type, bool is_html,
                           std::string* used_charset) {
  body = body.substr(0, kMaxConvertBytes);
  const Encoding* encoding = internal::FindEncoding(internal::BomCharset(body));
  if (encoding == nullptr) encoding = internal::FindEncoding(CharsetFromContentType(content_type));
  if (encoding == nullptr && is_html) encoding = internal::FindEncoding(SniffHtmlCharset(body));
  if (encoding == nullptr) encoding = &internal::Utf8Encoding();
  return internal::Decode(body, *encoding, used_charset);
}

}  // namespace refinery::crawl
