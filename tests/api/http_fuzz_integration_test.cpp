// A fuzz test of the request parser and the JSON body handling, through a
// real ApiServer on real embedded backends: 100,000 random and mutated
// requests (a fixed seed, so a failure reproduces) each on its own
// connection, half-closed after sending so every one ends at once. Under
// the sanitizer build any memory error or leak fails the test; here it
// asserts that every connection ends (no hang), every answer is a
// well-formed HTTP/1.1 response, no request crashes a handler (500), and
// the server answers normally afterwards.
// REFINERY_FUZZ_REQUESTS overrides the count (e.g. for a longer local run).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "api_test_util.h"
#include "support/raw_http.h"

namespace refinery {
namespace {

using std::chrono::milliseconds;

// Valid requests the mutations start from: every route class, bodies,
// chunked framing, pipelining, HEAD, HTTP/1.0.
const std::vector<std::string>& Seeds() {
  static const std::vector<std::string> seeds = {
      "GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      "HEAD /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      "GET /documents?limit=5&offset=0&stage=complete HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      "GET /documents/1/chunks HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
      "GET /metrics HTTP/1.0\r\n\r\n",
      "DELETE /documents/2 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      "POST /documents/1/retry HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n",
      "POST /ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 73\r\n\r\n"
      R"({"title": "fuzz", "content": "a small text", "metadata": {"k": [1, 2.5]}})",
      "POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 47\r\n\r\n"
      R"({"query": "text", "limit": 3, "mode": "hybrid"})",
      "POST /ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
      "10\r\n{\"title\": \"c\", \"\r\n1b\r\ncontent\": \"chunked body\"}  \r\n0\r\n\r\n",
      "GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      "POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Type: application/json\r\n"
      "Content-Length: 16\r\n\r\n{\"query\": \"a b\"}",
  };
  return seeds;
}

// Fragments that reach the parser's and the JSON handler's edges.
const std::vector<std::string>& Tokens() {
  static const std::vector<std::string> tokens = {
      "\r\n", "\r\n\r\n", ":", " ", "\t", "\n", std::string(1, '\0'), "%", "%00", "%zz", "?", "&", "=", "/../", "//",
      "Content-Length: 5\r\n", "Content-Length: -1\r\n", "Content-Length: +7\r\n", "Content-Length: 99999999999\r\n",
      "Transfer-Encoding: chunked\r\n", "Transfer-Encoding: bogus\r\n", "Host: a\r\n", "Expect: 100-continue\r\n",
      "ffffffffffffffff\r\n", "0\r\n\r\n", "{", "}", "[", "]", "\"", "\\", "\\u0000", "\\ud800", "1e999", "-0",
      "null", "true", ",", "\xff\xfe", "\xc3\x28", "\xf0\x9f\x98", std::string(300, '['), std::string(5000, 'x'),
  };
  return tokens;
}

class Mutator {
 public:
  explicit Mutator(uint32_t seed) : rng_(seed) {}

  std::string Next() {
    if (Roll(10) == 0) return RandomBytes();
    std::string request = Seeds()[Pick(Seeds().size())];
    for (int n = 1 + static_cast<int>(Roll(4)); n > 0; --n) Mutate(request);
    return request;
  }

 private:
  uint32_t Roll(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng_); }
  size_t Pick(size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  std::string RandomBytes() {
    std::string bytes(Pick(600), '\0');
    for (char& c : bytes) c = static_cast<char>(Roll(256));
    return bytes;
  }

  void Mutate(std::string& s) {
    const size_t at = Pick(s.size() + 1);
    switch (Roll(6)) {
      case 0:  // flip a byte
        if (!s.empty()) s[Pick(s.size())] = static_cast<char>(Roll(256));
        break;
      case 1:  // insert a token
        s.insert(at, Tokens()[Pick(Tokens().size())]);
        break;
      case 2:  // delete a range
        s.erase(at, Pick(16) + 1);
        break;
      case 3:  // duplicate a range
        s.insert(at, s.substr(Pick(s.size() + 1), Pick(64)));
        break;
      case 4:  // truncate
        s.resize(at);
        break;
      default:  // swap a digit for another: lengths and chunk sizes go wrong
        for (size_t i = at; i < s.size(); ++i) {
          if (s[i] >= '0' && s[i] <= '9') {
            s[i] = static_cast<char>('0' + Roll(10));
            break;
          }
        }
        break;
    }
  }

  std::mt19937 rng_;
};

// `bytes` escaped and cut short enough for a failure message.
std::string Printable(const std::string& bytes) {
  std::string out;
  for (unsigned char c : bytes.substr(0, 400)) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

// A well-formed answer: "HTTP/1.1 NNN " with a status in 100..599, and
// the 500 of a handler that threw (a bug) is not one of them.
std::string ProblemWith(const std::string& answer) {
  if (answer.empty()) return "";  // closed without answering (a request cut short)
  if (answer.rfind("HTTP/1.1 ", 0) != 0 && answer.rfind("HTTP/1.0 ", 0) != 0) return "not an HTTP response";
  const int status = std::atoi(answer.substr(9, 3).c_str());
  if (status < 100 || status > 599) return "bad status";
  if (answer.find("HTTP/1.1 500") != std::string::npos || answer.find("HTTP/1.0 500") != std::string::npos) {
    return "a handler failed (500)";
  }
  return "";
}

TEST(HttpFuzz, RandomAndMutatedRequestsNeverCrashHangOrFailAHandler) {
  testing::TempDir dir;
  Config config = testing::TestConfig(dir);
  config.http_header_timeout_s = 5;  // safety nets only: every request is half-closed
  config.http_body_timeout_s = 5;
  Services services = testing::OpenTestServices(config);
  testing::RunningServer server(services);

  const char* env = std::getenv("REFINERY_FUZZ_REQUESTS");
  const int total = env != nullptr ? std::max(1, std::atoi(env)) : 100000;
  constexpr int kClients = 4;
  std::atomic<int> next{0};
  std::atomic<int> answered{0};
  std::atomic<int> failures{0};
  std::vector<std::string> first_failure(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      Mutator mutator(20261201u + static_cast<uint32_t>(c));
      for (int i = next++; i < total; i = next++) {
        const std::string request = mutator.Next();
        testing::RawConnection conn(server.port());
        conn.Send(request);  // false when the server already closed: fine
        conn.FinishSending();
        auto answer = conn.ReadUntilClosed(milliseconds(15000));
        conn.Abort();
        std::string problem = answer ? ProblemWith(*answer) : "no end within 15 s (a hang)";
        if (answer && !answer->empty()) ++answered;
        if (!problem.empty() && failures++ == 0) {
          first_failure[c] = problem + " for request #" + std::to_string(i) + ": " + Printable(request);
        }
      }
    });
  }
  for (auto& client : clients) client.join();

  for (const auto& failure : first_failure) EXPECT_TRUE(failure.empty()) << failure;
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(answered.load(), total / 2) << "most requests get an answer";
  EXPECT_EQ(server.Call("GET", "/health").status, 200);
  EXPECT_EQ(server.Call("GET", "/stats").status, 200);
}

}  // namespace
}  // namespace refinery
