// The API with an embedding server (the fake, over real HTTP): /health
// lists llm_embed and shows it down during an outage; a query embedded
// before is answered from the embedding cache as asked, a new one by
// vector or hybrid search falls back to lexical and says so.
#include <chrono>
#include <thread>

#include "api_fixture.h"
#include "support/fake_llm_server.h"

namespace refinery {
namespace {

// A base listed before ApiFixture, so the fake runs before the services
// that name its URL are opened.
struct StartedFake {
  StartedFake() {
    fake.AddModel(testing::FakeModel::Embedding("nomic-embed-text", 768));
    fake.Start();
  }
  testing::FakeLlmServer fake;
};

class EmbedServerApiTest : protected StartedFake, public ApiFixture {
 protected:
  EmbedServerApiTest()
      : ApiFixture([this](Config& c) {
          c.llm_embed.url = fake.url();
          c.llm_embed.model = "nomic-embed-text";
          c.llm_embed.retries = 0;
        }) {}

  // Polls /health (a hang bound, not a deadline) until llm_embed is `status`.
  json AwaitEmbedStatus(const std::string& status) {
    json health;
    for (int i = 0; i < 200; ++i) {
      health = Call("GET", "/health").body;
      if (health["components"]["llm_embed"]["status"] == status) return health;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return health;
  }
};

TEST_F(EmbedServerApiTest, HealthShowsTheServerAndSearchFallsBackToLexicalWhileItIsDown) {
  Ingest("folding", "Protein folding is the process by which a polypeptide chain acquires its native structure.");
  RunPipeline();
  json up = AwaitEmbedStatus("up");
  ASSERT_EQ(up["components"]["llm_embed"]["status"], "up") << up.dump(2);
  EXPECT_EQ(up["status"], "running");
  const std::string search = R"({"query": "protein folding", "mode": "hybrid"})";
  testing::ApiReply hybrid = Call("POST", "/search", search);
  ASSERT_EQ(hybrid.status, 200) << hybrid.raw;
  EXPECT_FALSE(hybrid.body.contains("answered_mode")) << hybrid.raw;
  ASSERT_FALSE(hybrid.body["results"].empty()) << hybrid.raw;

  fake.Stop();
  json down = AwaitEmbedStatus("down");
  ASSERT_EQ(down["components"]["llm_embed"]["status"], "down") << down.dump(2);
  EXPECT_EQ(down["status"], "degraded");
  EXPECT_FALSE(down["components"]["llm_embed"]["error"].get<std::string>().empty());
  testing::ApiReply cached = Call("POST", "/search", search);
  ASSERT_EQ(cached.status, 200) << cached.raw;
  EXPECT_FALSE(cached.body.contains("answered_mode")) << "a cached query vector was not used: " << cached.raw;
  EXPECT_EQ(cached.body["results"], hybrid.body["results"]);
  for (const char* mode : {"hybrid", "vector"}) {
    testing::ApiReply fallback =
        Call("POST", "/search", std::string(R"({"query": "polypeptide folding", "mode": ")") + mode + "\"}");
    ASSERT_EQ(fallback.status, 200) << fallback.raw;
    EXPECT_EQ(fallback.body["mode"], mode);
    EXPECT_EQ(fallback.body["answered_mode"], "lexical") << fallback.raw;
    EXPECT_NE(fallback.body["warning"].get<std::string>().find("llm_embed"), std::string::npos) << fallback.raw;
    EXPECT_FALSE(fallback.body["results"].empty()) << fallback.raw;
  }

  fake.Start();
  json back = AwaitEmbedStatus("up");
  EXPECT_EQ(back["status"], "running") << back.dump(2);
}

}  // namespace
}  // namespace refinery
