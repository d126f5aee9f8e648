// Embedding through a server, as users run it: `refinery up` with
// OLLAMA_EMBED_URL pointing at the protocol-faithful fake Ollama
// (tests/support/fake_llm_server.h), which answers every call after
// --latency-ms (default 20); then `refinery ingest corpus.jsonl --wait`
// with every SciFact abstract. Prints documents/s end to end, the
// embedding calls made against the chunks embedded (one call per chunk
// is what the Python system did), texts per call, and the calls per
// second reached against the bound the fake allows at the configured
// concurrency (concurrency / latency).
//
// Then the embedding layer alone (no store: the run above is bound by it):
// as many threads as the embed worker runs consumers, each embedding one
// abstract's chunks at a time through the embedder the worker builds
// (coalescing, linger, the remote client), against the same fake: texts/s
// against the bound the fake allows, concurrency x batch / latency.
//
//   llm_embed_bench [--latency-ms N] [--concurrency N] [--batch N] [--linger-ms N] [corpus.jsonl]
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "core/http_client.h"
#include "llm/embedder.h"
#include "llm/llm_endpoint.h"
#include "support/process_util.h"
#include "text/chunker.h"
#include "support/fake_llm_server.h"
#include "supervisor/supervisor.h"

using namespace refinery;

namespace {

// The embedding layer alone: `consumers` threads, one abstract's chunks per Embed.
void RunLayer(testing::FakeLlmServer& fake, int latency_ms, int concurrency, int batch, int linger_ms) {
  Config config;
  config.llm_embed.url = fake.url();
  config.llm_embed.model = "nomic-embed-text";
  config.llm_embed.concurrency = concurrency;
  config.llm_embed.batch_size = batch;
  config.llm_embed.linger_ms = linger_ms;
  auto endpoint = std::make_shared<LlmEndpoint>("llm_embed", config.llm_embed, "");
  auto embedder = OpenEmbedder(config, endpoint);
  if (!embedder.ok()) {
    std::cerr << embedder.status().ToString() << "\n";
    return;
  }
  std::vector<std::vector<std::string>> docs;
  for (const auto& doc : testing::LoadScifact(100000)) {
    std::vector<std::string> pieces;
    for (const auto& piece : ChunkText(doc.title + "\n\n" + doc.text, {config.chunk_target_chars,
                                                                        config.chunk_overlap_chars})) {
      pieces.push_back(piece.content);
    }
    docs.push_back(std::move(pieces));
  }
  const int consumers = std::min(64, 12 * concurrency);  // as Worker::Run for the embed stage
  fake.ResetCounters();
  std::atomic<size_t> next{0};
  std::atomic<int> failed{0};
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < consumers; ++t) {
    threads.emplace_back([&] {
      for (size_t i = next++; i < docs.size(); i = next++) {
        if (!(*embedder)->Embed(docs[i]).ok()) ++failed;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const int calls = fake.RequestCount("/api/embed");
  const int64_t texts = fake.TextsEmbedded();
  const double bound = concurrency * batch * 1000.0 / latency_ms;
  std::printf("layer: %d consumers, linger %d ms: %zu documents in %.2f s (%d failed)\n", consumers, linger_ms,
              docs.size(), seconds, failed.load());
  std::printf("layer: %lld texts in %d calls, %.1f texts per call; %.0f texts/s = %.0f%% of the %.0f texts/s bound\n",
              static_cast<long long>(texts), calls, calls > 0 ? static_cast<double>(texts) / calls : 0.0,
              texts / seconds, 100.0 * texts / seconds / bound, bound);
  // How much of the time the call slots were busy, by the calls' own
  // latency as the client saw it: the scheduling's share of the gap.
  const LlmEndpointStats stats = endpoint->Stats();
  std::printf("layer: mean call %.1f ms as the client saw it (the fake sleeps %d); call slots busy %.0f%% of the run\n",
              stats.calls > 0 ? 1000.0 * stats.latency_sum_s / static_cast<double>(stats.calls) : 0.0, latency_ms,
              100.0 * stats.latency_sum_s / (concurrency * seconds));
}

}  // namespace

int main(int argc, char** argv) {
  int latency_ms = 20, concurrency = 4, batch = 16, linger_ms = 20;  // the configuration's defaults
  std::string corpus = std::string(REFINERY_SCIFACT_DIR) + "/corpus.jsonl";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--latency-ms" && i + 1 < argc) latency_ms = std::atoi(argv[++i]);
    else if (arg == "--concurrency" && i + 1 < argc) concurrency = std::atoi(argv[++i]);
    else if (arg == "--batch" && i + 1 < argc) batch = std::atoi(argv[++i]);
    else if (arg == "--linger-ms" && i + 1 < argc) linger_ms = std::atoi(argv[++i]);
    else corpus = arg;
  }
  testing::FakeLlmServer fake;
  fake.AddModel(testing::FakeModel::Embedding("nomic-embed-text", 768));
  fake.SetLatency(std::chrono::milliseconds(latency_ms));
  fake.Start();

  const std::string dir = std::filesystem::temp_directory_path() / ("refinery-llm-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const int port = 19000 + getpid() % 1000;
  const std::map<std::string, std::string> env = {{"REFINERY_DATA_DIR", dir},
                                                  {"REFINERY_LOG_LEVEL", "warn"},
                                                  {"OLLAMA_EMBED_URL", fake.url()},
                                                  {"EMBEDDING_MODEL", "nomic-embed-text"},
                                                  {"REFINERY_EMBED_CONCURRENCY", std::to_string(concurrency)},
                                                  {"REFINERY_EMBED_BATCH_SIZE", std::to_string(batch)},
                                                  {"REFINERY_EMBED_LINGER_MS", std::to_string(linger_ms)}};
  auto up = Subprocess::Spawn({REFINERY_BINARY, "up", "--port", std::to_string(port)}, env, dir + "/up.log");
  if (!up.ok()) {
    std::cerr << up.status().ToString() << "\n";
    return 1;
  }
  for (int i = 0; i < 400; ++i) {
    auto health = HttpGet("http://127.0.0.1:" + std::to_string(port) + "/health", 1);
    if (health.ok() && health->status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  fake.ResetCounters();  // health probes are not embedding calls; count from here
  const auto started = std::chrono::steady_clock::now();
  auto ingest = Subprocess::Spawn({REFINERY_BINARY, "ingest", corpus, "--wait"}, env);
  if (!ingest.ok()) {
    std::cerr << ingest.status().ToString() << "\n";
    return 1;
  }
  const ExitStatus result = ingest->Wait();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const int calls = fake.RequestCount("/api/embed");
  const int64_t texts = fake.TextsEmbedded();
  const double bound_calls_per_s = concurrency * 1000.0 / latency_ms;
  std::printf("llm_embed_bench: fake Ollama %d ms per call, concurrency %d, batch %d, linger %d ms\n", latency_ms,
              concurrency, batch, linger_ms);
  std::printf("documents to complete in %.2f s (ingest exit %s)\n", seconds, result.ToString().c_str());
  std::printf("chunks embedded %lld in %d calls: %.1f texts per call, %.1fx fewer calls than one per chunk\n",
              static_cast<long long>(texts), calls, calls > 0 ? static_cast<double>(texts) / calls : 0.0,
              calls > 0 ? static_cast<double>(texts) / calls : 0.0);
  std::printf("calls in flight at most %d (cap %d); %.1f calls/s over the run against a bound of %.0f calls/s\n",
              fake.MaxInFlight(), concurrency, calls / seconds, bound_calls_per_s);
  std::printf("texts/s over the run %.0f; the fake allows %.0f texts/s at full batches\n", texts / seconds,
              bound_calls_per_s * batch);
  up->Terminate(std::chrono::seconds(10));
  std::filesystem::remove_all(dir);
  RunLayer(fake, latency_ms, concurrency, batch, linger_ms);
  return result.success() ? 0 : 1;
}
