// SSRF protection for the crawler: which hosts and addresses it may fetch
// from. Internal addresses (loopback, private networks, link-local, cloud
// metadata services...) are refused by default; REFINERY_CRAWL_ALLOW opens
// chosen ranges or host names. The decisive check is CheckAddress on the
// numeric address actually connected to (every redirect hop), so DNS
// answers cannot smuggle an internal address past CheckHost.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace refinery::crawl {

// Which hosts and addresses the crawler may fetch from. Immutable once
// built, so one policy is safe to share between threads.
class AddressPolicy {
 public:
  // Default policy: every public address, nothing internal.
  AddressPolicy() = default;

  // `allow` is the REFINERY_CRAWL_ALLOW setting: a comma-separated list of
  // CIDR ranges (IPv4 or IPv6: "127.0.0.0/8", "::1/128"; a bare address is
  // /32 or /128; host bits are ignored) and host names ("wiki.internal", or
  // "*.corp.example" for its subdomains, not corp.example itself); names
  // match case-insensitively, a trailing dot ignored. Whitespace around
  // items and empty items are ignored. An IPv4 range also covers the
  // IPv4-mapped IPv6 form (and NAT64/6to4 forms) of its addresses, so
  // "::/0" allows IPv4 too. Allowing a host name trusts its DNS answers:
  // whatever it resolves to is connected to.
  // InvalidArgument naming the first bad item:
  // "REFINERY_CRAWL_ALLOW: '10.0.0.0/33' is not a host name or CIDR range".
  static Result<AddressPolicy> Parse(std::string_view allow);

  // Before resolving: `host` is the URL's host (IPv6 without brackets;
  // brackets are tolerated). Refuses (InvalidArgument) an IP literal in a
  // refused range unless inside an allowed range -- including the integer
  // forms inet_aton/getaddrinfo accept ("2130706433", "0x7f000001",
  // "0177.0.0.1", "127.1") -- and names internal by definition
  // ("localhost", "*.localhost", "metadata.google.internal", "metadata",
  // "instance-data"...) unless that name is allowed. Also refuses hosts
  // that cannot be valid (empty, whitespace/control characters, a ':' that
  // is no IPv6 address). Everything else is OK: its addresses are checked
  // at connect.
  Status CheckHost(std::string_view host) const;

  // At connect: `ip` is the numeric address about to be connected to
  // ("93.184.216.34", "::ffff:127.0.0.1", "fe80::1%eth0" with a zone id);
  // `host` is the URL's host name. OK when the address is public, inside an
  // allowed range, or `host` is an allowed host name. Otherwise
  // InvalidArgument: "refused to connect to 127.0.0.1 (loopback) for host
  // 'x'; allow it with REFINERY_CRAWL_ALLOW". An `ip` that is not a strict
  // numeric address (inet_pton) is always refused.
  Status CheckAddress(std::string_view host, std::string_view ip) const;

  // The class of a strict numeric address, as used in messages: "loopback",
  // "private", "link-local", "cgnat", "multicast", "unspecified",
  // "cloud-metadata", "reserved", "documentation", "broadcast", "" when
  // public, and "invalid" when `ip` is not a numeric address (never "", so
  // an empty result always means public). IPv4-mapped, NAT64 (64:ff9b::/96)
  // and 6to4 (2002::/16) addresses are classified by their embedded IPv4.
  static std::string_view Classify(std::string_view ip);

 private:
  // Addresses are 128-bit; IPv4 is held IPv4-mapped (::ffff:a.b.c.d), so
  // one range type covers both families.
  using Bytes = std::array<std::uint8_t, 16>;
  struct Range {
    Bytes base{};
    int prefix = 0;  // 0..128
  };

  bool AllowsAddress(const Bytes& address) const;
  // `name`: normalized (lower case, no trailing dot).
  bool AllowsName(std::string_view name) const;
  // CheckHost for a host that is an IP literal.
  Status CheckLiteral(std::string_view host, const Bytes& address) const;

  std::vector<Range> ranges_;
  std::vector<std::string> names_;     // exact names: "wiki.internal"
  std::vector<std::string> suffixes_;  // from "*.corp.example": ".corp.example"
};

}  // namespace refinery::crawl
