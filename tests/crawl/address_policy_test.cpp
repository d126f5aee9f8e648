// The crawler's SSRF policy (crawl/address_policy.h): refused ranges and
// their boundaries, odd address notations, the REFINERY_CRAWL_ALLOW list.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "crawl/address_policy.h"

namespace refinery::crawl {
namespace {

using Cases = std::vector<std::pair<std::string_view, std::string_view>>;  // ip, class

void ExpectClasses(const Cases& cases) {
  for (const auto& [ip, label] : cases) EXPECT_EQ(AddressPolicy::Classify(ip), label) << ip;
}

AddressPolicy Allow(std::string_view allow) {
  auto policy = AddressPolicy::Parse(allow);
  EXPECT_TRUE(policy.ok()) << allow << ": " << policy.status().ToString();
  return policy.ok() ? *policy : AddressPolicy();
}

TEST(AddressPolicyClassifyTest, Ipv4RangesAndTheirBoundaries) {
  ExpectClasses({
      {"0.0.0.0", "unspecified"},
      {"0.255.255.255", "unspecified"},
      {"1.0.0.0", ""},
      {"9.255.255.255", ""},
      {"10.0.0.0", "private"},
      {"10.255.255.255", "private"},
      {"11.0.0.0", ""},
      {"100.63.255.255", ""},
      {"100.64.0.0", "cgnat"},
      {"100.127.255.255", "cgnat"},
      {"100.128.0.0", ""},
      {"126.255.255.255", ""},
      {"127.0.0.0", "loopback"},
      {"127.0.0.1", "loopback"},
      {"127.255.255.255", "loopback"},
      {"128.0.0.0", ""},
      {"169.253.255.255", ""},
      {"169.254.0.0", "link-local"},
      {"169.254.169.253", "link-local"},
      {"169.254.169.254", "cloud-metadata"},
      {"169.254.169.255", "link-local"},
      {"169.254.255.255", "link-local"},
      {"169.255.0.0", ""},
      {"172.15.255.255", ""},
      {"172.16.0.0", "private"},
      {"172.31.255.255", "private"},
      {"172.32.0.0", ""},
      {"191.255.255.255", ""},
      {"192.0.0.0", "reserved"},
      {"192.0.0.255", "reserved"},
      {"192.0.1.0", ""},
      {"192.0.1.255", ""},
      {"192.0.2.0", "documentation"},
      {"192.0.2.255", "documentation"},
      {"192.0.3.0", ""},
      {"192.167.255.255", ""},
      {"192.168.0.0", "private"},
      {"192.168.255.255", "private"},
      {"192.169.0.0", ""},
      {"198.17.255.255", ""},
      {"198.18.0.0", "reserved"},
      {"198.19.255.255", "reserved"},
      {"198.20.0.0", ""},
      {"198.51.99.255", ""},
      {"198.51.100.0", "documentation"},
      {"198.51.100.255", "documentation"},
      {"198.51.101.0", ""},
      {"203.0.112.255", ""},
      {"203.0.113.0", "documentation"},
      {"203.0.113.255", "documentation"},
      {"203.0.114.0", ""},
      {"223.255.255.255", ""},
      {"224.0.0.0", "multicast"},
      {"239.255.255.255", "multicast"},
      {"240.0.0.0", "reserved"},
      {"255.255.255.254", "reserved"},
      {"255.255.255.255", "broadcast"},
      {"8.8.8.8", ""},
      {"93.184.216.34", ""},
  });
}

TEST(AddressPolicyClassifyTest, Ipv6RangesAndTheirBoundaries) {
  ExpectClasses({
      {"::", "unspecified"},
      {"::1", "loopback"},
      {"::2", "reserved"},  // ::/96, IPv4-compatible
      {"::7f00:1", "reserved"},
      {"::255.255.255.255", "reserved"},
      {"::1:0:0", ""},  // just past ::/96 (and not IPv4-mapped)
      {"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""},
      {"fc00::", "private"},
      {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "private"},
      {"fd00:ec2::253", "private"},
      {"fd00:ec2::254", "cloud-metadata"},
      {"fd00:ec2::255", "private"},
      {"fe00::", ""},
      {"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""},
      {"fe80::", "link-local"},
      {"fe80::1", "link-local"},
      {"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "link-local"},
      {"fec0::", "private"},
      {"feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "private"},
      {"ff00::", "multicast"},
      {"ff02::1", "multicast"},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "multicast"},
      {"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", ""},
      {"2001:db8::", "documentation"},
      {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "documentation"},
      {"2001:db9::", ""},
      {"2606:4700::1111", ""},
      {"2a00:1450:4001:80b::200e", ""},
  });
}

TEST(AddressPolicyClassifyTest, EmbeddedIpv4IsClassifiedByTheIpv4Address) {
  ExpectClasses({
      // IPv4-mapped ::ffff:0:0/96
      {"::ffff:10.0.0.1", "private"},
      {"::ffff:8.8.8.8", ""},
      {"::ffff:127.0.0.1", "loopback"},
      {"::ffff:7f00:1", "loopback"},
      {"::FFFF:169.254.169.254", "cloud-metadata"},
      {"::ffff:0.0.0.0", "unspecified"},
      {"::fffe:7f00:1", ""},    // below the mapped range, above ::/96
      {"::1:ffff:7f00:1", ""},  // above it
      // NAT64 64:ff9b::/96
      {"64:ff9b::7f00:1", "loopback"},
      {"64:ff9b::10.0.0.1", "private"},
      {"64:ff9b::a9fe:a9fe", "cloud-metadata"},
      {"64:ff9b::8.8.8.8", ""},
      {"64:ff9b::1:7f00:1", ""},  // past the /96
      {"64:ff9a:ffff:ffff:ffff:ffff:7f00:1", ""},
      // 6to4 2002::/16: IPv4 in bits 16..48
      {"2002:7f00:1::", "loopback"},
      {"2002:a00:1::1", "private"},
      {"2002:a9fe:a9fe::", "cloud-metadata"},
      {"2002:808:808::1", ""},
      {"2001:ffff:7f00:1::", ""},
      {"2003:7f00:1::", ""},
  });
}

TEST(AddressPolicyClassifyTest, ZoneIdsAreStrippedAndJunkIsInvalid) {
  ExpectClasses({
      {"fe80::1%eth0", "link-local"},
      {"::1%lo", "loopback"},
      {"2606:4700::1111%eth0", ""},
      {"fe80::1%", "invalid"},
      {"fe80::1%eth 0", "invalid"},
      {"127.0.0.1%eth0", "invalid"},  // zones belong to IPv6 only
      {"", "invalid"},
      {"localhost", "invalid"},
      {"127.1", "invalid"},  // strict dotted quad only
      {"2130706433", "invalid"},
      {"0x7f000001", "invalid"},
      {"0177.0.0.1", "invalid"},
      {"127.0.0.1 ", "invalid"},
      {"256.0.0.1", "invalid"},
      {"::1::2", "invalid"},
      {std::string_view("127.0.0.1\0x", 11), "invalid"},
  });
}

TEST(AddressPolicyCheckAddressTest, DefaultRefusesInternalAndNamesTheClass) {
  const AddressPolicy policy;
  EXPECT_TRUE(policy.CheckAddress("example.com", "8.8.8.8").ok());
  EXPECT_TRUE(policy.CheckAddress("example.com", "2606:4700::1111").ok());
  EXPECT_TRUE(policy.CheckAddress("example.com", "::ffff:8.8.8.8").ok());

  Status refused = policy.CheckAddress("x", "127.0.0.1");
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.message(),
            "refused to connect to 127.0.0.1 (loopback) for host 'x'; allow it with REFINERY_CRAWL_ALLOW");

  refused = policy.CheckAddress("metadata.example", "169.254.169.254");
  EXPECT_NE(refused.message().find("169.254.169.254 (cloud-metadata)"), std::string::npos) << refused.message();
  refused = policy.CheckAddress("a.example", "::ffff:10.0.0.1");
  EXPECT_NE(refused.message().find("::ffff:10.0.0.1 (private)"), std::string::npos) << refused.message();
  refused = policy.CheckAddress("a.example", "fe80::1%eth0");
  EXPECT_NE(refused.message().find("fe80::1%eth0 (link-local)"), std::string::npos) << refused.message();
  EXPECT_NE(refused.message().find("REFINERY_CRAWL_ALLOW"), std::string::npos);

  for (std::string_view ip :
       {"0.0.0.0", "10.1.1.1", "100.64.0.1", "172.16.0.1", "192.168.1.1", "224.0.0.1", "255.255.255.255", "::", "::1",
        "fd00:ec2::254", "fc00::1", "ff02::1", "2001:db8::1", "64:ff9b::7f00:1", "2002:7f00:1::"}) {
    EXPECT_EQ(policy.CheckAddress("a.example", ip).code(), StatusCode::kInvalidArgument) << ip;
  }
}

TEST(AddressPolicyCheckAddressTest, UnparseableAddressesAreRefusedEvenForAllowedHosts) {
  const AddressPolicy policy = Allow("0.0.0.0/0, ::/0, a.example");
  for (std::string_view ip : {"", "localhost", "127.1", "2130706433", "8.8.8.8.", "fe80::1%", "not an ip"}) {
    const Status status = policy.CheckAddress("a.example", ip);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << ip;
    EXPECT_NE(status.message().find("not a numeric IP address"), std::string::npos) << status.message();
  }
}

TEST(AddressPolicyCheckHostTest, InternalNamesAreRefused) {
  const AddressPolicy policy;
  Status refused = policy.CheckHost("localhost");
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.message(), "refused host 'localhost' (loopback); allow it with REFINERY_CRAWL_ALLOW");
  refused = policy.CheckHost("metadata.google.internal");
  EXPECT_EQ(refused.message(),
            "refused host 'metadata.google.internal' (cloud-metadata); allow it with REFINERY_CRAWL_ALLOW");
  for (std::string_view host :
       {"LocalHost", "localhost.", "foo.localhost", "a.b.LOCALHOST.", "localhost.localdomain", "ip6-localhost",
        "metadata", "Metadata.Google.Internal.", "metadata.goog", "instance-data", "instance-data.ec2.internal"}) {
    EXPECT_EQ(policy.CheckHost(host).code(), StatusCode::kInvalidArgument) << host;
  }
  for (std::string_view host : {"example.com", "localhost.example.com", "notlocalhost", "metadata.example",
                                "wiki.internal", "xn--bcher-kva.example"}) {
    EXPECT_TRUE(policy.CheckHost(host).ok()) << host;
  }
}

TEST(AddressPolicyCheckHostTest, IpLiteralsInEveryNotationAreRefused) {
  const AddressPolicy policy;
  for (std::string_view host : {"127.0.0.1",
                                "127.0.0.1.",
                                "2130706433",
                                "0x7f000001",
                                "0X7F000001",
                                "0177.0.0.1",
                                "127.1",
                                "127.0.1",
                                "0x7f.1",
                                "0x7f.0.0.0x1",
                                "017700000001",
                                "0",
                                "0.0",
                                "0x",
                                "10.0.0.1",
                                "012.1",
                                "0xa9fea9fe",
                                "169.254.169.254",
                                "::1",
                                "[::1]",
                                "::ffff:127.0.0.1",
                                "::ffff:7f00:1",
                                "[fe80::1%25eth0]",
                                "fe80::1%eth0",
                                "64:ff9b::a00:1",
                                "FD00:EC2::254"}) {
    const Status status = policy.CheckHost(host);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << host;
    EXPECT_NE(status.message().find("REFINERY_CRAWL_ALLOW"), std::string::npos) << status.message();
  }
  EXPECT_EQ(policy.CheckHost("0x7f000001").message(),
            "refused host '0x7f000001' (127.0.0.1, loopback); allow it with REFINERY_CRAWL_ALLOW");
  EXPECT_EQ(policy.CheckHost("0xa9fea9fe").message(),
            "refused host '0xa9fea9fe' (169.254.169.254, cloud-metadata); allow it with REFINERY_CRAWL_ALLOW");
  EXPECT_EQ(policy.CheckHost("::1").message(), "refused host '::1' (loopback); allow it with REFINERY_CRAWL_ALLOW");
}

TEST(AddressPolicyCheckHostTest, PublicLiteralsAndNonLiteralsPass) {
  const AddressPolicy policy;
  for (std::string_view host : {"8.8.8.8", "134744072", "0x08080808", "010.010.010.010", "2606:4700::1111",
                                "[2606:4700::1111]", "::ffff:8.8.8.8",
                                // Not inet_aton forms: names, checked again at connect.
                                "4294967296", "08.0.0.1", "1.2.3.4.5", "127.0.0.256", "0x1g"}) {
    EXPECT_TRUE(policy.CheckHost(host).ok()) << host << ": " << policy.CheckHost(host).ToString();
  }
  for (std::string_view host : {"", "[]", "exa mple.com", "a\tb", "::zz", "[not:v6]"}) {
    EXPECT_EQ(policy.CheckHost(host).code(), StatusCode::kInvalidArgument) << host;
  }
}

TEST(AddressPolicyParseTest, GoodItems) {
  for (std::string_view allow : {"", " , ,, ", "127.0.0.0/8", "::1/128", "10.1.2.3", "fd00::/8", "0.0.0.0/0", "::/0",
                                 "10.1.2.3/8", "wiki.internal", "WIKI.Internal.", "*.corp.example", "my_host",
                                 "a-b.example", " 127.0.0.0/8 ,\t::1/128\n, wiki.internal ,*.corp.example,"}) {
    EXPECT_TRUE(AddressPolicy::Parse(allow).ok()) << allow;
  }
}

TEST(AddressPolicyParseTest, BadItemsAreNamed) {
  auto bad = AddressPolicy::Parse("127.0.0.0/8, 10.0.0.0/33, wiki.internal");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "REFINERY_CRAWL_ALLOW: '10.0.0.0/33' is not a host name or CIDR range");
  for (std::string_view item :
       {"10.0.0.0/33",  "::1/129",    "10.0.0.0/",  "10.0.0.0/-1",  "10.0.0.0/+8", "10.0.0.0/0x8", "10.0.0.0/8/8",
        "/8",           "10.0.0.256", "2130706433", "0x7f000001",   "127.1",       "1.2.3",        "fe80::1%eth0",
        "::zz",         "*",          "*.",         "**.example",   "*.*.example", "a.*.example",  "-bad.example",
        "bad-.example", "a..b",       ".example",   "exa mple.com", "http://x",    "host:80",      "a/b"}) {
    auto result = AddressPolicy::Parse("wiki.internal, " + std::string(item));
    ASSERT_FALSE(result.ok()) << item;
    EXPECT_EQ(result.status().message(),
              "REFINERY_CRAWL_ALLOW: '" + std::string(item) + "' is not a host name or CIDR range");
  }
}

TEST(AddressPolicyAllowTest, AllowedRangesLetRefusedAddressesThrough) {
  const AddressPolicy policy = Allow("127.0.0.0/8, ::1/128, 10.1.2.3, fd00::/8, 192.168.7.9/24");
  for (std::string_view ip : {"127.0.0.1", "127.255.255.255", "::ffff:127.0.0.1", "::1", "10.1.2.3", "fd12::1",
                              "192.168.7.1", "192.168.7.255", "64:ff9b::127.0.0.1", "2002:7f00:1::"}) {
    EXPECT_TRUE(policy.CheckAddress("a.example", ip).ok()) << ip;
  }
  for (std::string_view ip :
       {"10.1.2.4", "10.1.2.2", "::ffff:10.1.2.4", "::2", "fc00::1", "192.168.8.0", "169.254.169.254"}) {
    EXPECT_EQ(policy.CheckAddress("a.example", ip).code(), StatusCode::kInvalidArgument) << ip;
  }
  EXPECT_TRUE(policy.CheckHost("127.0.0.1").ok());
  EXPECT_TRUE(policy.CheckHost("0x7f000001").ok());
  EXPECT_TRUE(policy.CheckHost("[::1]").ok());
  EXPECT_FALSE(policy.CheckHost("10.1.2.4").ok());
  EXPECT_FALSE(policy.CheckHost("localhost").ok());  // a name is opened only by name
}

TEST(AddressPolicyAllowTest, AllRangesOpenEverything) {
  const AddressPolicy v4 = Allow("0.0.0.0/0");
  EXPECT_TRUE(v4.CheckAddress("a", "127.0.0.1").ok());
  EXPECT_TRUE(v4.CheckAddress("a", "::ffff:127.0.0.1").ok());
  EXPECT_FALSE(v4.CheckAddress("a", "::1").ok());
  const AddressPolicy v6 = Allow("::/0");
  EXPECT_TRUE(v6.CheckAddress("a", "::1").ok());
  EXPECT_TRUE(v6.CheckAddress("a", "127.0.0.1").ok());  // IPv4 is held IPv4-mapped, inside ::/0
}

TEST(AddressPolicyAllowTest, AllowedHostNamesLetRefusedAddressesThrough) {
  const AddressPolicy policy = Allow("wiki.internal, *.corp.example, localhost");
  for (std::string_view host : {"wiki.internal", "WIKI.internal.", "a.corp.example", "a.b.Corp.Example"}) {
    EXPECT_TRUE(policy.CheckAddress(host, "10.9.9.9").ok()) << host;
    EXPECT_TRUE(policy.CheckHost(host).ok()) << host;
  }
  for (std::string_view host : {"a.wiki.internal", "corp.example", "evilcorp.example", "corp.example.evil", "x"}) {
    EXPECT_EQ(policy.CheckAddress(host, "10.9.9.9").code(), StatusCode::kInvalidArgument) << host;
  }
  EXPECT_TRUE(policy.CheckHost("localhost").ok());
  EXPECT_TRUE(policy.CheckAddress("localhost", "127.0.0.1").ok());
  EXPECT_TRUE(policy.CheckAddress("localhost", "::1").ok());
  EXPECT_FALSE(policy.CheckHost("foo.localhost").ok());
  EXPECT_FALSE(policy.CheckHost("127.0.0.1").ok());  // a literal is opened only by range
  EXPECT_FALSE(policy.CheckAddress("localhost", "localhost").ok());

  const AddressPolicy metadata = Allow("*.google.internal");
  EXPECT_TRUE(metadata.CheckHost("metadata.google.internal").ok());
  EXPECT_FALSE(metadata.CheckHost("metadata").ok());
}

}  // namespace
}  // namespace refinery::crawl
