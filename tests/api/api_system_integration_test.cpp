// Search, stats, routing errors, failures inside handlers and the server's
// lifecycle over real HTTP, on real embedded backends in a temp dir.
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "api_fixture.h"
#include "forwarding_store.h"

namespace refinery {
namespace {

using ApiTest = ApiFixture;

// ---- search ----------------------------------------------------------------

TEST_F(ApiTest, SearchRanksTheMatchingDocumentFirst) {
  int64_t cats = Ingest("Cats", "Cats purr when they are content and like to sleep in the sun.");
  Ingest("Markets", "The stock market fell sharply on fears about interest rates.");
  Ingest("Volcanoes", "Volcanoes erupt molten lava, ash and volcanic gases.");
  RunPipeline();
  ApiReply reply = Post(
      "/search",
      {{"query", "why do cats purr"}, {"limit", 2}, {"mode", "vector"}, {"min_trust", 0.3}, {"min_relevance", 0.1}});
  ASSERT_EQ(reply.status, 200) << reply.raw;
  EXPECT_EQ(reply.body["query"], "why do cats purr");
  EXPECT_EQ(reply.body["mode"], "vector");
  EXPECT_TRUE(reply.body["took_ms"].is_number());
  ASSERT_EQ(reply.body["results"].size(), 2u);
  const json& top = reply.body["results"][0];
  EXPECT_EQ(top["document_id"], cats);
  EXPECT_EQ(top["title"], "Cats");
  EXPECT_GT(top["chunk_id"].get<int64_t>(), 0);
  EXPECT_NE(top["content"].get<std::string>().find("purr"), std::string::npos);
  EXPECT_EQ(top["score"], top["similarity"]);
  EXPECT_GT(top["similarity"].get<double>(), reply.body["results"][1]["similarity"].get<double>());
  // Short texts lose trust (short_text -0.1 from 0.5) but pass min_trust 0.3.
  EXPECT_DOUBLE_EQ(top["trust_score"].get<double>(), 0.4);
  EXPECT_GE(top["relevance_score"].get<double>(), 0.1);
  EXPECT_TRUE(top["lexical_score"].is_null());  // vector mode asks no lexical ranking

  ApiReply defaults = Post("/search", {{"query", "lava"}, {"mode", "vector"}});
  ASSERT_EQ(defaults.status, 200);
  EXPECT_EQ(defaults.body["results"].size(), 3u);  // default limit 10 > 3 chunks
}

TEST_F(ApiTest, SearchRejectsBadBodies) {
  ExpectError(Call("POST", "/search", "{"), 400, "invalid_argument");
  ExpectError(Call("POST", "/search", "\"text\""), 400, "invalid_argument");
  EXPECT_NE(ExpectError(Post("/search", json::object()), 400, "invalid_argument").find("query"), std::string::npos);
  ExpectError(Post("/search", {{"query", ""}}), 400, "invalid_argument");
  ExpectError(Post("/search", {{"query", "  "}}), 400, "invalid_argument");
  EXPECT_NE(ExpectError(Post("/search", {{"query", 3}}), 400, "invalid_argument").find("query"), std::string::npos);
  for (const json& limit : {json(0), json(101), json(-5), json("5"), json(2.5), json(true)}) {
    EXPECT_NE(ExpectError(Post("/search", {{"query", "q"}, {"limit", limit}}), 400, "invalid_argument").find("limit"),
              std::string::npos)
        << limit;
  }
  EXPECT_NE(
      ExpectError(Post("/search", {{"query", "q"}, {"min_trust", "high"}}), 400, "invalid_argument").find("min_trust"),
      std::string::npos);
  EXPECT_NE(ExpectError(Post("/search", {{"query", "q"}, {"min_relevance", json::array()}}), 400, "invalid_argument")
                .find("min_relevance"),
            std::string::npos);
  EXPECT_EQ(Post("/search", {{"query", "q"}, {"limit", 1}}).status, 200);
  EXPECT_EQ(Post("/search", {{"query", "q"}, {"limit", 100}}).status, 200);
}

// ---- stats -----------------------------------------------------------------

TEST_F(ApiTest, StatsCountsEveryStageAndQueue) {
  Ingest("A", "Alpha document text.");
  Ingest("B", "Beta document text.");
  ApiReply queued = Call("GET", "/stats");
  ASSERT_EQ(queued.status, 200) << queued.raw;
  EXPECT_EQ(queued.body["total_documents"], 2);
  for (const std::string& state : AllStates()) {
    EXPECT_TRUE(queued.body["documents_by_stage"][state].is_number_integer()) << state;
  }
  EXPECT_EQ(queued.body["documents_by_stage"]["chunking"], 2);
  EXPECT_EQ(queued.body["documents_by_stage"]["complete"], 0);
  for (const StageDef& stage : StageChain()) {
    const json& depth = queued.body["queue_depths"][stage.name];
    for (const char* field : {"ready", "in_flight", "delayed", "dead"}) {
      EXPECT_TRUE(depth[field].is_number_integer()) << stage.name << " " << field;
    }
  }
  EXPECT_EQ(queued.body["queue_depths"]["chunk"]["ready"], 2);
  EXPECT_EQ(queued.body["embedding_model"], services_.embedder->Name());
  EXPECT_GE(queued.body["uptime_s"].get<double>(), 0.0);
  const json& pool = queued.body["pool"];
  for (const char* field :
       {"size", "in_use", "idle", "waiting", "created", "closed_dead", "validation_failures", "retries", "rebuilds"}) {
    EXPECT_TRUE(pool[field].is_number_integer()) << "pool " << field;
  }
  EXPECT_GE(pool["created"].get<int64_t>(), 1);
  EXPECT_EQ(pool["size"], pool["in_use"].get<int64_t>() + pool["idle"].get<int64_t>());

  RunPipeline();
  ApiReply done = Call("GET", "/stats");
  EXPECT_EQ(done.body["documents_by_stage"]["complete"], 2);
  EXPECT_GE(done.body["total_chunks"].get<int64_t>(), 2);
  EXPECT_EQ(done.body["chunks_with_embeddings"], done.body["total_chunks"]);
  EXPECT_EQ(done.body["chunks_evaluated"], done.body["total_chunks"]);
  EXPECT_EQ(done.body["queue_depths"]["chunk"]["ready"], 0);
}

// ---- routing ---------------------------------------------------------------

TEST_F(ApiTest, UnknownRouteIs404Json) {
  ExpectError(Call("GET", "/nope"), 404, "not_found");
  ExpectError(Call("POST", "/nope", "{}"), 404, "not_found");
  ExpectError(Call("GET", "/documents/1/nope"), 404, "not_found");
}

TEST_F(ApiTest, WrongMethodOnKnownPathIs405Json) {
  ApiReply get_ingest = Call("GET", "/ingest");
  ExpectError(get_ingest, 405, "method_not_allowed");
  EXPECT_EQ(get_ingest.headers["allow"], "POST");
  ExpectError(Call("POST", "/stats", "{}"), 405, "method_not_allowed");
  ExpectError(Call("DELETE", "/documents"), 405, "method_not_allowed");
  ExpectError(Call("GET", "/search"), 405, "method_not_allowed");
  ExpectError(Call("GET", "/documents/1/retry"), 405, "method_not_allowed");
  ApiReply put = Call("PUT", "/documents/1", "{}");
  ExpectError(put, 405, "method_not_allowed");
  EXPECT_EQ(put.headers["allow"], "GET, DELETE");
}

// ---- failures inside handlers ----------------------------------------------

// A store that throws for document 666, is "restarting" for stats and holds
// a corrupt row for listings.
class FaultyDocuments : public testing::ForwardingDocuments {
 public:
  using ForwardingDocuments::ForwardingDocuments;

 protected:
  Result<Document> DoGet(int64_t id) override {
    if (id == 666) throw std::runtime_error("boom");
    return ForwardingDocuments::DoGet(id);
  }
  Result<DocumentPage> DoList(const std::string&, int64_t, int64_t) override { return Status::Internal("corrupt row"); }
};

class RestartingTelemetry : public testing::ForwardingTelemetry {
 public:
  using ForwardingTelemetry::ForwardingTelemetry;

 protected:
  Result<StoreStats> DoStats() override { return Status::Unavailable("database restarting"); }
};

class FaultyStore : public testing::ForwardingStore {
 public:
  explicit FaultyStore(std::unique_ptr<Store> inner) : ForwardingStore(std::move(inner)) {
    Replace(std::unique_ptr<DocumentStore>(std::make_unique<FaultyDocuments>(inner_->documents())));
    Replace(std::unique_ptr<TelemetryStore>(std::make_unique<RestartingTelemetry>(inner_->telemetry())));
  }
};

TEST(ApiFailureTest, ExceptionsAndStatusesMapToJsonErrors) {
  testing::TempDir dir;
  Services services = testing::OpenTestServices(testing::TestConfig(dir));
  services.store = std::make_unique<FaultyStore>(std::move(services.store));
  testing::RunningServer server(services);

  EXPECT_EQ(ExpectError(server.Call("GET", "/documents/666"), 500, "internal"), "internal error");
  EXPECT_NE(ExpectError(server.Call("GET", "/stats"), 503, "unavailable").find("restarting"), std::string::npos);
  ExpectError(server.Post("/search", {{"query", "anything"}, {"mode", "vector"}}), 503,
              "unavailable");  // the vector cache's top-up reads Stats()
  ExpectError(server.Call("GET", "/documents"), 500, "internal");
  EXPECT_EQ(server.Call("GET", "/health/live").status, 200);  // still serving
}

// ---- server lifecycle --------------------------------------------------------

TEST(ApiServerTest, StopRacingServeAlwaysEndsServe) {
  testing::TempDir dir;
  Services services = testing::OpenTestServices(testing::TestConfig(dir));
  for (int i = 0; i < 20; ++i) {
    ApiServer server(services);
    ASSERT_TRUE(server.Bind("127.0.0.1", 0).ok());
    std::thread serving([&server] { server.Serve(); });
    if (i % 2 == 1) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    server.Stop();
    serving.join();  // hangs here if a Stop was lost
  }
  ApiServer stopped_first(services);
  ASSERT_TRUE(stopped_first.Bind("127.0.0.1", 0).ok());
  stopped_first.Stop();
  stopped_first.Serve();  // returns at once
}

TEST(ApiServerTest, BindingATakenPortIsUnavailable) {
  testing::TempDir dir;
  Services services = testing::OpenTestServices(testing::TestConfig(dir));
  ApiServer first(services);
  ASSERT_TRUE(first.Bind("127.0.0.1", 0).ok());
  ApiServer second(services);
  EXPECT_EQ(second.Bind("127.0.0.1", first.port()).code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace refinery
