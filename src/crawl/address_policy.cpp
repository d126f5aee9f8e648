#include "crawl/address_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <optional>

namespace refinery::crawl {
namespace {

using Bytes = std::array<std::uint8_t, 16>;

constexpr std::string_view kAllowHint = "; allow it with REFINERY_CRAWL_ALLOW";

// Refused IPv4 ranges, most specific first (the first match names the class).
struct V4Range {
  std::uint32_t base;
  int prefix;
  std::string_view label;
};
constexpr std::array<V4Range, 17> kV4Ranges{{
    {0xA9FEA9FE, 32, "cloud-metadata"},  // 169.254.169.254
    {0xFFFFFFFF, 32, "broadcast"},       // 255.255.255.255
    {0x00000000, 8, "unspecified"},      // 0.0.0.0/8, "this network"
    {0x0A000000, 8, "private"},          // 10.0.0.0/8
    {0x64400000, 10, "cgnat"},           // 100.64.0.0/10
    {0x7F000000, 8, "loopback"},         // 127.0.0.0/8
    {0xA9FE0000, 16, "link-local"},      // 169.254.0.0/16
    {0xAC100000, 12, "private"},         // 172.16.0.0/12
    {0xC0000000, 24, "reserved"},        // 192.0.0.0/24, IETF protocol assignments
    {0xC0000200, 24, "documentation"},   // 192.0.2.0/24, TEST-NET-1
    {0xC0A80000, 16, "private"},         // 192.168.0.0/16
    {0xC6120000, 15, "reserved"},        // 198.18.0.0/15, benchmarking
    {0xC6336400, 24, "documentation"},   // 198.51.100.0/24, TEST-NET-2
    {0xCB007100, 24, "documentation"},   // 203.0.113.0/24, TEST-NET-3
    {0xE0000000, 4, "multicast"},        // 224.0.0.0/4
    {0xF0000000, 4, "reserved"},         // 240.0.0.0/4
    {0x00000000, 0, ""},                 // everything else: public
}};

constexpr Bytes FromGroups(const std::array<std::uint16_t, 8>& groups) {
  Bytes bytes{};
  for (size_t i = 0; i < groups.size(); ++i) {
    bytes[2 * i] = static_cast<std::uint8_t>(groups[i] >> 8);
    bytes[2 * i + 1] = static_cast<std::uint8_t>(groups[i] & 0xFF);
  }
  return bytes;
}

// Refused IPv6 ranges without an embedded IPv4 address, most specific first.
struct V6Range {
  Bytes base;
  int prefix;
  std::string_view label;
};
constexpr std::array<V6Range, 9> kV6Ranges{{
    {FromGroups({0, 0, 0, 0, 0, 0, 0, 0}), 128, "unspecified"},                   // ::
    {FromGroups({0, 0, 0, 0, 0, 0, 0, 1}), 128, "loopback"},                      // ::1
    {FromGroups({0xFD00, 0x0EC2, 0, 0, 0, 0, 0, 0x254}), 128, "cloud-metadata"},  // AWS IMDS
    {FromGroups({0, 0, 0, 0, 0, 0, 0, 0}), 96, "reserved"},                       // IPv4-compatible, deprecated
    {FromGroups({0xFC00}), 7, "private"},                                         // unique local
    {FromGroups({0xFE80}), 10, "link-local"},                                     // fe80::/10
    {FromGroups({0xFEC0}), 10, "private"},                                        // site-local, deprecated
    {FromGroups({0xFF00}), 8, "multicast"},                                       // ff00::/8
    {FromGroups({0x2001, 0x0DB8}), 32, "documentation"},                          // 2001:db8::/32
}};

bool InPrefix(const Bytes& address, const Bytes& base, int prefix) {
  const int full = prefix / 8;
  const int rest = prefix % 8;
  for (int i = 0; i < full; ++i) {
    if (address[i] != base[i]) return false;
  }
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
  return (address[full] & mask) == (base[full] & mask);
}

Bytes Masked(Bytes address, int prefix) {
  for (int bit = prefix; bit < 128; ++bit) {
    address[bit / 8] = static_cast<std::uint8_t>(address[bit / 8] & ~(0x80 >> (bit % 8)));
  }
  return address;
}

Bytes MapV4(std::uint32_t v4) {
  Bytes bytes{};
  bytes[10] = bytes[11] = 0xFF;
  for (int i = 0; i < 4; ++i) bytes[12 + i] = static_cast<std::uint8_t>(v4 >> (24 - 8 * i));
  return bytes;
}

std::uint32_t V4At(const Bytes& bytes, int offset) {
  std::uint32_t v4 = 0;
  for (int i = 0; i < 4; ++i) v4 = (v4 << 8) | bytes[offset + i];
  return v4;
}

// The IPv4 address an IPv6 address stands for, when it embeds one:
// IPv4-mapped (::ffff:0:0/96), NAT64 (64:ff9b::/96) or 6to4 (2002::/16).
std::optional<std::uint32_t> EmbeddedV4(const Bytes& address) {
  static constexpr Bytes kMapped = FromGroups({0, 0, 0, 0, 0, 0xFFFF, 0, 0});
  static constexpr Bytes kNat64 = FromGroups({0x64, 0xFF9B, 0, 0, 0, 0, 0, 0});
  static constexpr Bytes k6to4 = FromGroups({0x2002});
  if (InPrefix(address, kMapped, 96) || InPrefix(address, kNat64, 96)) return V4At(address, 12);
  if (InPrefix(address, k6to4, 16)) return V4At(address, 2);
  return std::nullopt;
}

std::string_view ClassifyV4(std::uint32_t v4) {
  for (const V4Range& range : kV4Ranges) {
    if (range.prefix == 0 || (v4 >> (32 - range.prefix)) == (range.base >> (32 - range.prefix))) return range.label;
  }
  return "";
}

std::string_view ClassifyBytes(const Bytes& address) {
  if (auto v4 = EmbeddedV4(address)) return ClassifyV4(*v4);
  for (const V6Range& range : kV6Ranges) {
    if (InPrefix(address, range.base, range.prefix)) return range.label;
  }
  return "";
}

struct Numeric {
  Bytes bytes;
  bool v4;
};

// Strict numeric parsing (inet_pton: dotted quad or IPv6), no zone id.
std::optional<Numeric> ParseStrict(std::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN || text.find('\0') != std::string_view::npos) return std::nullopt;
  const std::string copy(text);
  in_addr v4{};
  if (inet_pton(AF_INET, copy.c_str(), &v4) == 1) return Numeric{MapV4(ntohl(v4.s_addr)), true};
  Numeric numeric{{}, false};
  if (inet_pton(AF_INET6, copy.c_str(), numeric.bytes.data()) == 1) return numeric;
  return std::nullopt;
}

// ParseStrict after removing an IPv6 zone id ("fe80::1%eth0"); a zone
// after an IPv4 address, an empty zone or odd zone characters fail.
std::optional<Bytes> ParseWithZone(std::string_view ip) {
  const size_t percent = ip.find('%');
  if (percent != std::string_view::npos) {
    const std::string_view zone = ip.substr(percent + 1);
    const bool zone_ok = !zone.empty() && std::all_of(zone.begin(), zone.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
             c == '.';
    });
    if (!zone_ok) return std::nullopt;
    ip = ip.substr(0, percent);
    if (ip.find(':') == std::string_view::npos) return std::nullopt;
  }
  auto numeric = ParseStrict(ip);
  if (!numeric) return std::nullopt;
  return numeric->bytes;
}

// One part of an inet_aton address: decimal, octal ("0177") or hex ("0x7f";
// a bare "0x" counts as 0, as URL parsers read it). nullopt past 32 bits.
std::optional<std::uint64_t> ParseAtonPart(std::string_view part) {
  if (part.empty()) return std::nullopt;
  int base = 10;
  if (part.size() >= 2 && part[0] == '0' && (part[1] == 'x' || part[1] == 'X')) {
    base = 16;
    part.remove_prefix(2);
  } else if (part.size() >= 2 && part[0] == '0') {
    base = 8;
  }
  std::uint64_t value = 0;
  for (char c : part) {
    int digit = -1;
    if (c >= '0' && c <= '9') digit = c - '0';
    if (base == 16 && c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    if (base == 16 && c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    if (digit < 0 || digit >= base) return std::nullopt;
    value = value * base + digit;
    if (value > 0xFFFFFFFF) return std::nullopt;
  }
  return value;
}

// The IPv4 address inet_aton reads from `text` (1 to 4 parts; the last
// fills the remaining bytes: "127.1" is 127.0.0.1, "2130706433" too).
std::optional<std::uint32_t> ParseInetAton(std::string_view text) {
  std::array<std::uint64_t, 4> parts{};
  size_t count = 0;
  while (true) {
    if (count == parts.size()) return std::nullopt;
    const size_t dot = text.find('.');
    auto part = ParseAtonPart(text.substr(0, dot));
    if (!part) return std::nullopt;
    parts[count++] = *part;
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
  }
  std::uint64_t v4 = 0;
  for (size_t i = 0; i + 1 < count; ++i) {
    if (parts[i] > 0xFF) return std::nullopt;
    v4 = (v4 << 8) | parts[i];
  }
  const int last_bits = static_cast<int>(8 * (5 - count));
  if ((parts[count - 1] >> last_bits) != 0) return std::nullopt;
  return static_cast<std::uint32_t>((v4 << last_bits) | parts[count - 1]);
}

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

// Host as compared: brackets removed, lower case, trailing dots removed
// ("LOCALHOST." resolves as localhost does).
std::string NormalizeHost(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return Lower(host);
}

bool HasSpaceOrControl(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte <= 0x20 || byte == 0x7F;
  });
}

// The class of a name internal by definition (RFC 6761 localhost, cloud
// metadata service names), or "".
std::string_view InternalNameClass(std::string_view name) {
  static constexpr std::array<std::string_view, 4> kLoopback{"localhost", "localhost.localdomain", "ip6-localhost",
                                                             "ip6-loopback"};
  static constexpr std::array<std::string_view, 5> kMetadata{"metadata", "metadata.google.internal", "metadata.goog",
                                                             "instance-data", "instance-data.ec2.internal"};
  if (std::find(kLoopback.begin(), kLoopback.end(), name) != kLoopback.end()) return "loopback";
  if (name.ends_with(".localhost")) return "loopback";
  if (std::find(kMetadata.begin(), kMetadata.end(), name) != kMetadata.end()) return "cloud-metadata";
  return "";
}

// "10.0.0.0/8", "::1/128", "10.1.2.3" (= /32). Host bits are masked off.
std::optional<std::pair<Bytes, int>> ParseCidr(std::string_view item) {
  const size_t slash = item.find('/');
  auto numeric = ParseStrict(item.substr(0, slash));
  if (!numeric) return std::nullopt;
  const int max_prefix = numeric->v4 ? 32 : 128;
  int prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view digits = item.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return std::nullopt;
    prefix = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      prefix = prefix * 10 + (c - '0');
    }
    if (prefix > max_prefix) return std::nullopt;
  }
  if (numeric->v4) prefix += 96;
  return std::pair{Masked(numeric->bytes, prefix), prefix};
}

bool IsLabel(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
  return std::all_of(label.begin(), label.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'; });
}

// A host name (normalized, no "*." prefix): LDH labels, not a numeric form
// (a last label of digits, or anything inet_aton reads as an address).
bool IsHostName(std::string_view name) {
  if (name.empty() || name.size() > 253 || ParseInetAton(name)) return false;
  std::string_view last;
  while (true) {
    const size_t dot = name.find('.');
    last = name.substr(0, dot);
    if (!IsLabel(last)) return false;
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
  return !std::all_of(last.begin(), last.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string_view Trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(kSpace) - begin + 1);
}

// For messages: dotted quad for IPv4(-mapped), else IPv6 text.
std::string Format(const Bytes& address) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  static constexpr Bytes kMapped = FromGroups({0, 0, 0, 0, 0, 0xFFFF, 0, 0});
  if (InPrefix(address, kMapped, 96)) {
    inet_ntop(AF_INET, address.data() + 12, text.data(), text.size());
  } else {
    inet_ntop(AF_INET6, address.data(), text.data(), text.size());
  }
  return text.data();
}

}  // namespace

Result<AddressPolicy> AddressPolicy::Parse(std::string_view allow) {
  AddressPolicy policy;
  while (!allow.empty()) {
    const size_t comma = allow.find(',');
    const std::string_view item = Trim(allow.substr(0, comma));
    allow = comma == std::string_view::npos ? std::string_view() : allow.substr(comma + 1);
    if (item.empty()) continue;
    if (auto range = ParseCidr(item)) {
      policy.ranges_.push_back({range->first, range->second});
      continue;
    }
    std::string name = Lower(item);
    if (name.ends_with('.')) name.pop_back();
    const bool wildcard = name.starts_with("*.");
    if (!IsHostName(wildcard ? std::string_view(name).substr(2) : std::string_view(name))) {
      return Status::InvalidArgument("REFINERY_CRAWL_ALLOW: '" + std::string(item) +
                                     "' is not a host name or CIDR range");
    }
    if (wildcard) {
      policy.suffixes_.push_back(name.substr(1));
    } else {
      policy.names_.push_back(std::move(name));
    }
  }
  return policy;
}

bool AddressPolicy::AllowsAddress(const Bytes& address) const {
  const std::optional<std::uint32_t> embedded = EmbeddedV4(address);
  const Bytes effective = embedded ? MapV4(*embedded) : address;
  return std::any_of(ranges_.begin(), ranges_.end(), [&](const Range& range) {
    return InPrefix(address, range.base, range.prefix) || InPrefix(effective, range.base, range.prefix);
  });
}

bool AddressPolicy::AllowsName(std::string_view name) const {
  if (std::find(names_.begin(), names_.end(), name) != names_.end()) return true;
  return std::any_of(suffixes_.begin(), suffixes_.end(),
                     [&](const std::string& suffix) { return name.size() > suffix.size() && name.ends_with(suffix); });
}

Status AddressPolicy::CheckLiteral(std::string_view host, const Bytes& address) const {
  const std::string_view label = ClassifyBytes(address);
  if (label.empty() || AllowsAddress(address)) return Status::Ok();
  const std::string formatted = Format(address);
  const std::string shown =
      formatted == NormalizeHost(host) ? std::string(label) : formatted + ", " + std::string(label);
  return Status::InvalidArgument("refused host '" + std::string(host) + "' (" + shown + ")" + std::string(kAllowHint));
}

Status AddressPolicy::CheckHost(std::string_view host) const {
  const std::string name = NormalizeHost(host);
  if (name.empty() || HasSpaceOrControl(name)) {
    return Status::InvalidArgument("refused host '" + std::string(host) + "': not a valid host name");
  }
  if (name.find(':') != std::string::npos) {
    auto address = ParseWithZone(name);
    if (!address) return Status::InvalidArgument("refused host '" + std::string(host) + "': not a valid IPv6 address");
    return CheckLiteral(host, *address);
  }
  if (auto v4 = ParseInetAton(name)) return CheckLiteral(host, MapV4(*v4));
  if (AllowsName(name)) return Status::Ok();
  const std::string_view label = InternalNameClass(name);
  if (label.empty()) return Status::Ok();
  return Status::InvalidArgument("refused host '" + std::string(host) + "' (" + std::string(label) + ")" +
                                 std::string(kAllowHint));
}

Status AddressPolicy::CheckAddress(std::string_view host, std::string_view ip) const {
  auto address = ParseWithZone(ip);
  if (!address) {
    return Status::InvalidArgument("refused to connect to '" + std::string(ip) + "' for host '" + std::string(host) +
                                   "': not a numeric IP address");
  }
  const std::string_view label = ClassifyBytes(*address);
  if (label.empty() || AllowsAddress(*address) || AllowsName(NormalizeHost(host))) return Status::Ok();
  return Status::InvalidArgument("refused to connect to " + std::string(ip) + " (" + std::string(label) +
                                 ") for host '" + std::string(host) + "'" + std::string(kAllowHint));
}

std::string_view AddressPolicy::Classify(std::string_view ip) {
  auto address = ParseWithZone(ip);
  if (!address) return "invalid";
  return ClassifyBytes(*address);
}

}  // namespace refinery::crawl
