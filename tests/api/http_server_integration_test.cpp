// The HTTP server under what real clients and hostile ones do, over raw
// sockets against a real ApiServer on real embedded backends in a temp
// dir: pipelining, strict framing, body and header limits (before the body
// is read), idle, header and body timeouts (slowloris), many idle and many
// busy connections, and load shedding while the probes keep answering.
// Time limits here only detect hangs; they are far above what is expected.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "api_test_util.h"
#include "forwarding_store.h"
#include "support/raw_http.h"

namespace refinery {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using testing::RawConnection;
using testing::RawGet;
using testing::RawResponse;

constexpr milliseconds kHang{10000};  // an answer slower than this is a hang

using testing::Served;

json BodyOf(const RawResponse& response) { return json::parse(response.body, nullptr, false); }

std::string ErrorCode(const RawResponse& response) {
  json body = BodyOf(response);
  return body.is_object() && body.contains("error") ? body["error"].value("code", "") : "";
}

// ---- keep-alive and pipelining ---------------------------------------------

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrderOnOneConnection) {
  Served s;
  RawConnection conn(s.port());
  // A pool route first, then an event-loop one: the second must still wait its turn.
  ASSERT_TRUE(conn.Send(RawGet("/stats") + RawGet("/health/live") + RawGet("/nope")));
  auto stats = conn.ReadResponse(kHang);
  auto live = conn.ReadResponse(kHang);
  auto missing = conn.ReadResponse(kHang);
  ASSERT_TRUE(stats && live && missing);
  EXPECT_EQ(stats->status, 200);
  EXPECT_TRUE(BodyOf(*stats).contains("total_documents")) << stats->body;
  EXPECT_EQ(live->status, 200);
  EXPECT_EQ(BodyOf(*live), json({{"status", "alive"}}));
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(ErrorCode(*missing), "not_found");
  // Still open for more (keep-alive).
  ASSERT_TRUE(conn.Send(RawGet("/health/live")));
  auto again = conn.ReadResponse(kHang);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

TEST(HttpServer, ConnectionCloseIsHonoured) {
  Served s;
  RawConnection conn(s.port());
  ASSERT_TRUE(conn.Send("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
  auto answer = conn.ReadResponse(kHang);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->headers["connection"], "close");
  EXPECT_TRUE(conn.WaitClosed(kHang));
}

TEST(HttpServer, HeadAnswersTheGetHeadersWithoutABody) {
  Served s;
  RawConnection conn(s.port());
  ASSERT_TRUE(conn.Send("HEAD /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + RawGet("/health/live")));
  const std::string get_body = json({{"status", "alive"}}).dump();
  auto head = conn.ReadResponse(kHang, /*to_head=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->headers["content-length"], std::to_string(get_body.size()));
  // Had the HEAD answer carried a body, this one would not start with a status line.
  auto get = conn.ReadResponse(kHang);
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, get_body);
}

// ---- framing -----------------------------------------------------------------

TEST(HttpServer, AmbiguousOrInvalidFramingIs400AndClosesTheConnection) {
  Served s;
  const std::string post = "POST /ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"two different Content-Length", post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"},
      {"Content-Length then chunked", post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
      {"chunked then Content-Length", post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"},
      {"Content-Length -1", post + "Content-Length: -1\r\n\r\n"},
      {"Content-Length +5", post + "Content-Length: +5\r\n\r\nhello"},
      {"Transfer-Encoding bogus", post + "Transfer-Encoding: bogus\r\n\r\n"},
      {"Transfer-Encoding gzip, chunked", post + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"},
      {"HTTP/1.1 without Host", "GET /health/live HTTP/1.1\r\n\r\n"},
      {"not HTTP", "HELLO THERE\r\n\r\n"},
  };
  for (const auto& [name, bytes] : cases) {
    RawConnection conn(s.port());
    ASSERT_TRUE(conn.Send(bytes)) << name;
    auto answer = conn.ReadResponse(kHang);
    ASSERT_TRUE(answer) << name << ": no answer";
    EXPECT_EQ(answer->status, 400) << name << ": " << answer->body;
    EXPECT_EQ(answer->headers["content-type"], "application/json") << name;
    EXPECT_EQ(ErrorCode(*answer), "bad_request") << name << ": " << answer->body;
    EXPECT_TRUE(conn.WaitClosed(kHang)) << name << ": the connection stayed open";
  }
  EXPECT_EQ(s.server().Call("GET", "/stats").body["total_documents"], 0);  // nothing was ingested
}

TEST(HttpServer, BodylessPostIsAnsweredAtOnce) {
  // A server waiting for a body would answer only after body_timeout (60 s).
  Served s([](Config& c) { c.http_body_timeout_s = 60; });
  RawConnection conn(s.port());
  ASSERT_TRUE(conn.Send("POST /ingest HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  auto ingest = conn.ReadResponse(kHang);
  ASSERT_TRUE(ingest) << "a POST without body and Content-Length got no answer";
  EXPECT_EQ(ingest->status, 400);  // handled as empty: not a JSON object
  EXPECT_EQ(ErrorCode(*ingest), "invalid_argument");
  ASSERT_TRUE(conn.Send("POST /documents/1/retry HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  auto retry = conn.ReadResponse(kHang);
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->status, 404);
}

TEST(HttpServer, ExpectContinueGetsContinueBeforeTheBody) {
  Served s;
  RawConnection conn(s.port());
  const std::string body = json({{"title", "t"}, {"content", "Expect continue."}}).dump();
  ASSERT_TRUE(conn.Send("POST /ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\nExpect: 100-continue\r\n\r\n"));
  auto proceed = conn.ReadResponse(kHang);
  ASSERT_TRUE(proceed);
  EXPECT_EQ(proceed->status, 100);
  ASSERT_TRUE(conn.Send(body));
  auto created = conn.ReadResponse(kHang);
  ASSERT_TRUE(created);
  EXPECT_EQ(created->status, 201) << created->body;
}

// ---- limits ------------------------------------------------------------------

TEST(HttpServer, DeclaredBodyOverTheLimitIs413WithoutSendingIt) {
  Served s;  // max_body_bytes 64 KiB (TestConfig)
  RawConnection conn(s.port());
  ASSERT_TRUE(conn.Send("POST /ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        "Content-Length: 1073741824\r\n\r\n"));
  auto answer = conn.ReadResponse(kHang);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 413);
  EXPECT_EQ(ErrorCode(*answer), "payload_too_large");
  EXPECT_TRUE(conn.WaitClosed(kHang));
}

TEST(HttpServer, ChunkedBodyOverTheLimitIs413BeforeItIsAllRead) {
  Served s;  // max_body_bytes 64 KiB
  RawConnection conn(s.port());
  ASSERT_TRUE(conn.Send("POST /ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = "4000\r\n" + std::string(0x4000, 'a') + "\r\n";  // 16 KiB of data each
  constexpr size_t kTotal = size_t{256} << 20;                               // what the client would send
  size_t sent = 0;
  size_t offset = 0;  // into `chunk`
  bool closed = false;
  std::optional<RawResponse> answer;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (sent < kTotal && std::chrono::steady_clock::now() < deadline) {
    if (!answer && conn.Readable()) {
      answer = conn.ReadResponse(kHang);
      if (!answer) break;
    }
    long n = conn.SendSome(std::string_view(chunk).substr(offset));
    if (n < 0) {
      closed = true;  // the server closed the connection on the rest of the body
      break;
    }
    if (n == 0) {
      conn.AwaitWritable(milliseconds(100), /*or_readable=*/!answer);
      continue;
    }
    sent += static_cast<size_t>(n);
    offset = (offset + static_cast<size_t>(n)) % chunk.size();
  }
  ASSERT_TRUE(answer) << "no answer after " << sent << " bytes";
  EXPECT_EQ(answer->status, 413);
  EXPECT_EQ(ErrorCode(*answer), "payload_too_large");
  EXPECT_TRUE(closed) << "the server read on: " << sent << " bytes sent";
  EXPECT_LT(sent, kTotal);
  EXPECT_EQ(s.server().Call("GET", "/stats").body["total_documents"], 0);
}

TEST(HttpServer, HeaderOverTheLimitIs431) {
  Served s;
  RawConnection conn(s.port());
  ASSERT_TRUE(conn.Send("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(64 * 1024, 'b') + "\r\n\r\n"));
  auto answer = conn.ReadResponse(kHang);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 431);
  EXPECT_EQ(ErrorCode(*answer), "header_too_large");
  EXPECT_TRUE(conn.WaitClosed(kHang));
}

// ---- timeouts ----------------------------------------------------------------

TEST(HttpServer, SlowlorisHeaderIsCutAfterTheHeaderTimeout) {
  Served s([](Config& c) { c.http_header_timeout_s = 1; });
  RawConnection conn(s.port());
  const std::string header = "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n\r\n";
  size_t sent = 0;
  bool closed = false;
  // One byte every 2 s (the server must not wait for all of them: 100 s).
  for (; sent < header.size() && !closed; ++sent) {
    if (!conn.Send(header.substr(sent, 1))) {
      closed = true;
      break;
    }
    closed = conn.WaitClosed(std::chrono::seconds(2));
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(sent, header.size());
}

TEST(HttpServer, SlowBodyIsCutAfterTheBodyTimeout) {
  Served s([](Config& c) { c.http_body_timeout_s = 1; });
  RawConnection conn(s.port());
  ASSERT_TRUE(conn.Send("POST /ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"));
  bool closed = false;
  for (int i = 0; i < 50 && !closed; ++i) {
    if (!conn.Send("\"")) break;
    closed = conn.WaitClosed(std::chrono::seconds(2));
  }
  EXPECT_TRUE(closed);
}

TEST(HttpServer, IdleConnectionsAreClosedAfterTheIdleTimeout) {
  Served s([](Config& c) { c.http_idle_timeout_s = 0.5; });
  RawConnection silent(s.port());
  RawConnection used(s.port());
  ASSERT_TRUE(used.Send(RawGet("/health/live")));
  auto answer = used.ReadResponse(kHang);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_TRUE(silent.WaitClosed(kHang));
  EXPECT_TRUE(used.WaitClosed(kHang));
}

// ---- many connections ----------------------------------------------------------

TEST(HttpServer, IdleAndHalfSentConnectionsDoNotStopNewClients) {
  Served s;
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 200; ++i) idle.push_back(std::make_unique<RawConnection>(s.port()));
  for (int i = 0; i < 50; ++i) {
    idle.push_back(std::make_unique<RawConnection>(s.port()));
    ASSERT_TRUE(idle.back()->Send("GET /stats HTTP/1.1\r\nHo"));
  }
  testing::ApiReply health = s.server().Call("GET", "/health", "", kHang.count() / 1000.0);
  EXPECT_EQ(health.status, 200) << health.raw;
  EXPECT_EQ(s.server().Call("GET", "/stats", "", kHang.count() / 1000.0).status, 200);
  // The idle ones are all still there (nobody was dropped to make room).
  for (auto& conn : idle) EXPECT_FALSE(conn->Readable());
}

TEST(HttpServer, AThousandConcurrentConnectionsAreAllServed) {
  // A long queue wait: this is about accepting and serving, not shedding.
  Served s([](Config& c) { c.http_queue_wait_s = 120; });
  constexpr int kConnections = 1000;
  std::vector<std::unique_ptr<RawConnection>> conns;
  for (int i = 0; i < kConnections; ++i) conns.push_back(std::make_unique<RawConnection>(s.port()));
  for (const char* path : {"/health/live", "/stats"}) {
    for (auto& conn : conns) ASSERT_TRUE(conn->Send(RawGet(path)));
    int ok = 0;
    for (auto& conn : conns) {
      auto answer = conn->ReadResponse(std::chrono::seconds(60));
      if (answer && answer->status == 200) ++ok;
    }
    EXPECT_EQ(ok, kConnections) << path;
  }
}

// ---- load shedding -------------------------------------------------------------

// Documents().Get(777) blocks its handler thread until released.
class Gate {
 public:
  void Wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait_for(lock, std::chrono::seconds(60), [this] { return open_; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  bool AwaitWaiter() {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [this] { return waiting_ > 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int waiting_ = 0;
  bool open_ = false;
};

class BlockingDocuments : public testing::ForwardingDocuments {
 public:
  BlockingDocuments(DocumentStore& inner, std::shared_ptr<Gate> gate)
      : ForwardingDocuments(inner), gate_(std::move(gate)) {}

 protected:
  Result<Document> DoGet(int64_t id) override {
    if (id == 777) gate_->Wait();
    return ForwardingDocuments::DoGet(id);
  }

 private:
  std::shared_ptr<Gate> gate_;
};

class BlockingStore : public testing::ForwardingStore {
 public:
  BlockingStore(std::unique_ptr<Store> inner, std::shared_ptr<Gate> gate) : ForwardingStore(std::move(inner)) {
    Replace(std::unique_ptr<DocumentStore>(std::make_unique<BlockingDocuments>(inner_->documents(), gate)));
  }
};

TEST(HttpServer, SaturatedHandlersShed503WithRetryAfterWhileProbesAnswer) {
  testing::TempDir dir;
  Config config = testing::TestConfig(dir);
  config.http_threads = 1;
  config.http_queue_wait_s = 0.3;
  Services services = testing::OpenTestServices(config);
  auto gate = std::make_shared<Gate>();
  services.store = std::make_unique<BlockingStore>(std::move(services.store), gate);
  testing::RunningServer server(services);

  auto blocked = std::async(std::launch::async, [&] { return server.Call("GET", "/documents/777", "", 60); });
  ASSERT_TRUE(gate->AwaitWaiter()) << "the blocking request never reached its handler";

  testing::ApiReply shed = server.Call("GET", "/stats", "", kHang.count() / 1000.0);
  EXPECT_EQ(shed.status, 503) << shed.raw;
  EXPECT_EQ(shed.headers["retry-after"], "1");
  EXPECT_EQ(shed.headers["content-type"], "application/json");
  EXPECT_EQ(shed.body["error"]["code"], "overloaded") << shed.raw;
  // The probes never wait for a handler thread.
  EXPECT_EQ(server.Call("GET", "/health/live", "", kHang.count() / 1000.0).status, 200);
  EXPECT_EQ(server.Call("GET", "/health", "", kHang.count() / 1000.0).status, 200);
  EXPECT_EQ(server.Call("GET", "/health/ready", "", kHang.count() / 1000.0).status, 200);

  gate->Open();
  EXPECT_EQ(blocked.get().status, 404);  // no such document, answered once released
  EXPECT_EQ(server.Call("GET", "/stats").status, 200);
  // The shed request counts under its route.
  testing::ApiReply metrics = server.Call("GET", "/metrics");
  EXPECT_NE(metrics.raw.find(R"(refinery_http_requests_total{method="GET",route="/stats",status="503"} 1)"),
            std::string::npos);
}

// ---- the listener ----------------------------------------------------------------

TEST(HttpServer, FileDescriptorSoftLimitIsRaisedToTheHardLimit) {
  Served s;
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  EXPECT_EQ(limit.rlim_cur, limit.rlim_max);
}

}  // namespace
}  // namespace refinery
