// The dashboard, health, ingest, listing, inspecting, retry and delete
// routes over real HTTP, on real embedded backends in a temp dir (search,
// stats, routing and failures: api_system_integration_test.cpp).
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "api_fixture.h"

namespace refinery {
namespace {

using ApiTest = ApiFixture;

// ---- dashboard and health ------------------------------------------------

TEST_F(ApiTest, DashboardIsHtmlLinkingStatsAndHealth) {
  ApiReply reply = Call("GET", "/");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.headers["content-type"].rfind("text/html", 0), 0u);
  EXPECT_NE(reply.raw.find("href=\"/stats\""), std::string::npos);
  EXPECT_NE(reply.raw.find("href=\"/health\""), std::string::npos);
}

TEST_F(ApiTest, HealthReportsEveryComponentUp) {
  ApiReply reply = Call("GET", "/health");
  ASSERT_EQ(reply.status, 200) << reply.raw;
  EXPECT_EQ(reply.headers["content-type"], "application/json");
  EXPECT_EQ(reply.body["status"], "running");
  EXPECT_TRUE(reply.body["version"].is_string());
  for (const char* name : {"store", "queue", "blob_store"}) {
    const json& c = reply.body["components"][name];
    EXPECT_EQ(c["status"], "up") << name;
    EXPECT_TRUE(c["latency_ms"].is_number()) << name;
    EXPECT_FALSE(c.contains("error")) << name;
  }
}

TEST_F(ApiTest, LiveAndReady) {
  ApiReply live = Call("GET", "/health/live");
  EXPECT_EQ(live.status, 200);
  EXPECT_EQ(live.body, json({{"status", "alive"}}));
  ApiReply ready = Call("GET", "/health/ready");
  EXPECT_EQ(ready.status, 200) << ready.raw;
  EXPECT_EQ(ready.body["status"], "ready");
  EXPECT_EQ(ready.body["components"]["store"]["status"], "up");
  EXPECT_EQ(ready.body["components"]["queue"]["status"], "up");
}

// ---- ingest --------------------------------------------------------------

TEST_F(ApiTest, IngestQueuesNewAndDedupesIdenticalContent) {
  ApiReply first = Post("/ingest", {{"title", "A"},
                                    {"content", "Alpha text."},
                                    {"source_url", "https://example.org/a"},
                                    {"metadata", {{"lang", "en"}}},
                                    {"unknown_field", 42}});
  ASSERT_EQ(first.status, 201) << first.raw;
  EXPECT_EQ(first.body["status"], "queued");
  int64_t id = first.body["id"].get<int64_t>();
  EXPECT_GT(id, 0);

  ApiReply again = Post("/ingest", {{"title", "Other title"}, {"content", "Alpha text."}});
  ASSERT_EQ(again.status, 200) << again.raw;
  EXPECT_EQ(again.body, json({{"status", "exists"}, {"id", id}}));

  ApiReply other = Post("/ingest", {{"title", "B"}, {"content", "Beta text."}});
  ASSERT_EQ(other.status, 201);
  EXPECT_NE(other.body["id"], id);

  ApiReply doc = Call("GET", "/documents/" + std::to_string(id));
  ASSERT_EQ(doc.status, 200);
  EXPECT_EQ(doc.body["source_url"], "https://example.org/a");
  EXPECT_EQ(doc.body["metadata"], json({{"lang", "en"}}));
}

TEST_F(ApiTest, IngestRejectsBadBodies) {
  ExpectError(Call("POST", "/ingest", "{not json"), 400, "invalid_argument");
  ExpectError(Call("POST", "/ingest", ""), 400, "invalid_argument");
  ExpectError(Call("POST", "/ingest", "[1,2]"), 400, "invalid_argument");
  EXPECT_NE(ExpectError(Post("/ingest", {{"content", "x"}}), 400, "invalid_argument").find("title"), std::string::npos);
  EXPECT_NE(ExpectError(Post("/ingest", {{"title", "x"}}), 400, "invalid_argument").find("content"), std::string::npos);
  EXPECT_NE(ExpectError(Post("/ingest", {{"title", 5}, {"content", "x"}}), 400, "invalid_argument").find("title"),
            std::string::npos);
  EXPECT_NE(ExpectError(Post("/ingest", {{"title", "t"}, {"content", {1}}}), 400, "invalid_argument").find("content"),
            std::string::npos);
  ExpectError(Post("/ingest", {{"title", ""}, {"content", "x"}}), 400, "invalid_argument");
  ExpectError(Post("/ingest", {{"title", "t"}, {"content", "   "}}), 400, "invalid_argument");
  EXPECT_NE(ExpectError(Post("/ingest", {{"title", "t"}, {"content", "x"}, {"source_url", 1}}), 400, "invalid_argument")
                .find("source_url"),
            std::string::npos);
  EXPECT_NE(ExpectError(Post("/ingest", {{"title", "t"}, {"content", "x"}, {"metadata", "m"}}), 400, "invalid_argument")
                .find("metadata"),
            std::string::npos);
}

TEST_F(ApiTest, OverLimitBodyIs413Json) {
  std::string big = json({{"title", "big"}, {"content", std::string(100 * 1024, 'a')}}).dump();
  ExpectError(Call("POST", "/ingest", big), 413, "payload_too_large");
  // The connection and server are still fine afterwards.
  EXPECT_EQ(Post("/ingest", {{"title", "small"}, {"content", "ok"}}).status, 201);
}

// ---- listing and inspecting ------------------------------------------------

TEST_F(ApiTest, ListsDocumentsWithPagingAndStageFilter) {
  int64_t a = Ingest("A", "Alpha.");
  int64_t b = Ingest("B", "Beta.");
  int64_t c = Ingest("C", "Gamma.");
  ApiReply all = Call("GET", "/documents");
  ASSERT_EQ(all.status, 200) << all.raw;
  EXPECT_EQ(all.body["total"], 3);
  EXPECT_EQ(all.body["limit"], 50);
  EXPECT_EQ(all.body["offset"], 0);
  ASSERT_EQ(all.body["documents"].size(), 3u);
  EXPECT_EQ(all.body["documents"][0]["id"], c);  // newest first

  const json& doc = all.body["documents"][2];
  EXPECT_EQ(doc["id"], a);
  EXPECT_EQ(doc["title"], "A");
  EXPECT_EQ(doc["stage"], "chunking");
  EXPECT_TRUE(doc["error_message"].is_null());
  EXPECT_EQ(doc["attempts"], 0);
  EXPECT_EQ(doc["chunk_count"], 0);
  EXPECT_EQ(doc["mime_type"], "text/plain");
  EXPECT_EQ(doc["content_hash"].get<std::string>().size(), 64u);
  EXPECT_TRUE(doc["metadata"].is_object());
  EXPECT_TRUE(IsIsoUtc(doc["created_at"])) << doc["created_at"];
  EXPECT_TRUE(IsIsoUtc(doc["updated_at"])) << doc["updated_at"];

  ApiReply page = Call("GET", "/documents?limit=1&offset=1");
  ASSERT_EQ(page.status, 200);
  ASSERT_EQ(page.body["documents"].size(), 1u);
  EXPECT_EQ(page.body["documents"][0]["id"], b);
  EXPECT_EQ(page.body["total"], 3);
  EXPECT_EQ(page.body["limit"], 1);
  EXPECT_EQ(page.body["offset"], 1);

  RunPipeline();
  EXPECT_EQ(Call("GET", "/documents?stage=complete").body["total"], 3);
  EXPECT_EQ(Call("GET", "/documents?stage=chunking").body["total"], 0);
  EXPECT_EQ(Call("GET", "/documents?stage=error").body["documents"], json::array());
}

TEST_F(ApiTest, ListRejectsBadParameters) {
  EXPECT_NE(ExpectError(Call("GET", "/documents?stage=nonsense"), 400, "invalid_argument").find("stage"),
            std::string::npos);
  for (const char* query : {"limit=0", "limit=1001", "limit=abc", "limit=", "limit=5x", "offset=-1", "offset=x"}) {
    ExpectError(Call("GET", std::string("/documents?") + query), 400, "invalid_argument");
  }
  EXPECT_EQ(Call("GET", "/documents?limit=1000").status, 200);
}

TEST_F(ApiTest, DocumentDetailIncludesProcessingLog) {
  int64_t id = Ingest("Doc", "First sentence here. Second sentence there.");
  RunPipeline();
  ApiReply reply = Call("GET", "/documents/" + std::to_string(id));
  ASSERT_EQ(reply.status, 200) << reply.raw;
  EXPECT_EQ(reply.body["id"], id);
  EXPECT_EQ(reply.body["stage"], "complete");
  EXPECT_GE(reply.body["chunk_count"].get<int>(), 1);
  ASSERT_TRUE(reply.body["processing_log"].is_array());
  ASSERT_FALSE(reply.body["processing_log"].empty()) << reply.raw;
  for (const json& entry : reply.body["processing_log"]) {
    EXPECT_TRUE(entry["stage"].is_string());
    EXPECT_TRUE(entry["status"].is_string());
    EXPECT_TRUE(entry["message"].is_string());
    EXPECT_TRUE(entry["duration_ms"].is_number());
    EXPECT_TRUE(IsIsoUtc(entry["created_at"]));
  }
}

TEST_F(ApiTest, ChunksListEmbeddedChunks) {
  int64_t id = Ingest("Doc", "Some text about rivers and lakes. More about oceans.");
  ApiReply before = Call("GET", "/documents/" + std::to_string(id) + "/chunks");
  ASSERT_EQ(before.status, 200);
  EXPECT_EQ(before.body["chunks"], json::array());
  RunPipeline();
  ApiReply reply = Call("GET", "/documents/" + std::to_string(id) + "/chunks");
  ASSERT_EQ(reply.status, 200) << reply.raw;
  ASSERT_FALSE(reply.body["chunks"].empty());
  const json& chunk = reply.body["chunks"][0];
  EXPECT_GT(chunk["id"].get<int64_t>(), 0);
  EXPECT_EQ(chunk["chunk_index"], 0);
  EXPECT_NE(chunk["content"].get<std::string>().find("rivers"), std::string::npos);
  EXPECT_EQ(chunk["char_start"], 0);
  EXPECT_GT(chunk["char_end"].get<int64_t>(), 0);
  EXPECT_GT(chunk["token_count"].get<int>(), 0);
  EXPECT_EQ(chunk["has_embedding"], true);
  EXPECT_FALSE(chunk.contains("embedding"));
  // The evaluate stage's judgement, under the Python system's names too.
  EXPECT_TRUE(chunk["trust_score"].is_number());
  EXPECT_TRUE(chunk["relevance_score"].is_number());
  EXPECT_EQ(chunk["automotive_domain"], chunk["domain"]);
  EXPECT_TRUE(chunk["automotive_domain"].is_string());
  EXPECT_EQ(chunk["evaluator"], "rules:research");
  EXPECT_NE(chunk["evaluation_reasoning"].get<std::string>().find("trust "), std::string::npos);
}

TEST_F(ApiTest, StatusRouteAnswersWithThePythonSystemsFields) {
  int64_t id = Ingest("Status doc", "Some text about rivers and lakes. More about oceans.");
  ApiReply queued = Call("GET", "/documents/" + std::to_string(id) + "/status");
  ASSERT_EQ(queued.status, 200) << queued.raw;
  EXPECT_EQ(queued.body["document_id"], id);
  EXPECT_EQ(queued.body["title"], "Status doc");
  EXPECT_EQ(queued.body["current_stage"], "chunking");
  EXPECT_TRUE(queued.body["error_message"].is_null());
  EXPECT_EQ(queued.body["processing_log"], json::array());
  RunPipeline();
  ApiReply done = Call("GET", "/documents/" + std::to_string(id) + "/status");
  EXPECT_EQ(done.body["current_stage"], "complete");
  ASSERT_EQ(done.body["processing_log"].size(), 5u);
  EXPECT_EQ(done.body["processing_log"][4]["stage"], "resolve");
  ExpectError(Call("GET", "/documents/424242/status"), 404, "not_found");
}

TEST_F(ApiTest, IdRoutesRejectBadAndUnknownIds) {
  for (const char* bad : {"abc", "0", "-1", "1.5", "99999999999999999999"}) {
    std::string base = std::string("/documents/") + bad;
    EXPECT_EQ(ExpectError(Call("GET", base), 400, "invalid_argument"), "id must be a positive integer");
    ExpectError(Call("GET", base + "/chunks"), 400, "invalid_argument");
    ExpectError(Call("POST", base + "/retry"), 400, "invalid_argument");
    ExpectError(Call("DELETE", base), 400, "invalid_argument");
  }
  ExpectError(Call("GET", "/documents/424242"), 404, "not_found");
  ExpectError(Call("GET", "/documents/424242/chunks"), 404, "not_found");
  ExpectError(Call("POST", "/documents/424242/retry"), 404, "not_found");
  ExpectError(Call("DELETE", "/documents/424242"), 404, "not_found");
}

// ---- retry and delete ------------------------------------------------------

TEST_F(ApiTest, RetryQueuesOnlyFailedDocuments) {
  int64_t id = Ingest("Doc", "Retry me.");
  std::string path = "/documents/" + std::to_string(id) + "/retry";
  ExpectError(Call("POST", path), 409, "conflict");

  ASSERT_TRUE(services_.store->documents().RecordFailure(id, {"chunk", "chunking", "boom", /*terminal=*/true, 0}).ok());
  ApiReply failed = Call("GET", "/documents/" + std::to_string(id));
  EXPECT_EQ(failed.body["stage"], "error");
  EXPECT_EQ(failed.body["error_message"], "boom");
  EXPECT_EQ(failed.body["error_stage"], "chunk");

  ApiReply retried = Call("POST", path);
  ASSERT_EQ(retried.status, 202) << retried.raw;
  EXPECT_EQ(retried.body, json({{"status", "queued"}, {"id", id}}));
  EXPECT_EQ(Call("GET", "/documents/" + std::to_string(id)).body["stage"], "chunking");
  RunPipeline();
  EXPECT_EQ(Call("GET", "/documents/" + std::to_string(id)).body["stage"], "complete");
  ExpectError(Call("POST", path), 409, "conflict");
}

TEST_F(ApiTest, DeleteRemovesDocumentAndChunks) {
  int64_t id = Ingest("Doomed", "Unique words: zebra xylophone quagmire.");
  int64_t kept = Ingest("Kept", "Other words entirely: apples and pears.");
  RunPipeline();
  ASSERT_FALSE(services_.store->chunks().Get(id)->empty());
  ApiReply found = Post("/search", {{"query", "zebra xylophone quagmire"}});
  ASSERT_EQ(found.status, 200);
  ASSERT_FALSE(found.body["results"].empty());
  EXPECT_EQ(found.body["results"][0]["document_id"], id);

  std::string path = "/documents/" + std::to_string(id);
  ApiReply deleted = Call("DELETE", path);
  ASSERT_EQ(deleted.status, 200) << deleted.raw;
  EXPECT_EQ(deleted.body, json({{"status", "deleted"}, {"id", id}}));
  ExpectError(Call("GET", path), 404, "not_found");
  ExpectError(Call("GET", path + "/chunks"), 404, "not_found");
  ExpectError(Call("DELETE", path), 404, "not_found");
  auto chunks = services_.store->chunks().Get(id);  // gone: NotFound or empty
  EXPECT_TRUE(chunks.ok() ? chunks->empty() : chunks.status().code() == StatusCode::kNotFound);
  EXPECT_EQ(services_.store->telemetry().Stats()->total_chunks,
            static_cast<int64_t>(services_.store->chunks().Get(kept)->size()));

  ApiReply after = Post("/search", {{"query", "zebra xylophone quagmire"}});
  ASSERT_EQ(after.status, 200);
  for (const json& r : after.body["results"]) EXPECT_NE(r["document_id"], id);
  EXPECT_EQ(Call("GET", "/documents/" + std::to_string(kept)).status, 200);
  // The same content can be ingested again as a new document.
  EXPECT_EQ(Post("/ingest", {{"title", "Again"}, {"content", "Unique words: zebra xylophone quagmire."}}).status, 201);
}

}  // namespace
}  // namespace refinery
