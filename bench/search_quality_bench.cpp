// Retrieval quality of the built-in embedder on BEIR SciFact (test queries):
// every abstract chunked as the pipeline does, each chunk embedded, a
// document scored by its best chunk; prints nDCG@10 and recall@100.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "ingest/chunker.h"
#include "llm/embedder.h"

using namespace refinery;

namespace {

struct Corpus {
  std::vector<std::string> ids;
  std::vector<std::vector<float>> chunk_vectors;
  std::vector<size_t> chunk_doc;  // chunk -> index into ids
};

Corpus EmbedCorpus(Embedder& embedder, const std::string& dir, const Config& config) {
  Corpus corpus;
  std::ifstream in(dir + "/corpus.jsonl");
  ChunkerOptions options{config.chunk_target_chars, config.chunk_overlap_chars};
  for (std::string line; std::getline(in, line);) {
    auto json = nlohmann::json::parse(line);
    std::string text = json.at("text").get<std::string>();
    std::vector<std::string> pieces;
    for (const auto& chunk : ChunkText(text, options)) pieces.push_back(chunk.content);
    auto vectors = embedder.Embed(pieces);
    for (auto& v : *vectors) {
      corpus.chunk_vectors.push_back(std::move(v));
      corpus.chunk_doc.push_back(corpus.ids.size());
    }
    corpus.ids.push_back(json.at("_id").get<std::string>());
  }
  return corpus;
}

std::map<std::string, std::set<std::string>> LoadQrels(const std::string& path) {
  std::map<std::string, std::set<std::string>> qrels;
  std::ifstream in(path);
  std::string header, query, doc;
  int score = 0;
  std::getline(in, header);
  while (in >> query >> doc >> score) {
    if (score > 0) qrels[query].insert(doc);
  }
  return qrels;
}

// Documents ranked by their best chunk's similarity to `query`.
std::vector<size_t> Rank(const Corpus& corpus, const std::vector<float>& query) {
  std::vector<float> best(corpus.ids.size(), -2.0f);
  for (size_t c = 0; c < corpus.chunk_vectors.size(); ++c) {
    float s = Cosine(query, corpus.chunk_vectors[c]);
    best[corpus.chunk_doc[c]] = std::max(best[corpus.chunk_doc[c]], s);
  }
  std::vector<size_t> order(best.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::partial_sort(order.begin(), order.begin() + 100, order.end(),
                    [&](size_t a, size_t b) { return best[a] > best[b]; });
  order.resize(100);
  return order;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : REFINERY_SCIFACT_DIR;
  Config config;
  if (auto loaded = LoadConfig(); loaded.ok()) config = *loaded;
  auto embedder = MakeHashingEmbedder(config.embedding_dim);
  auto started = std::chrono::steady_clock::now();
  Corpus corpus = EmbedCorpus(*embedder, dir, config);
  double embed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  auto qrels = LoadQrels(dir + "/qrels/test.tsv");
  std::map<std::string, std::string> queries;
  std::ifstream in(dir + "/queries.jsonl");
  for (std::string line; std::getline(in, line);) {
    auto json = nlohmann::json::parse(line);
    queries[json.at("_id").get<std::string>()] = json.at("text").get<std::string>();
  }
  double ndcg_sum = 0, recall_sum = 0;
  for (const auto& [qid, relevant] : qrels) {
    auto qv = embedder->Embed({queries[qid]});
    auto ranked = Rank(corpus, (*qv)[0]);
    double dcg = 0, ideal = 0;
    size_t found = 0;
    for (size_t i = 0; i < ranked.size(); ++i) {
      bool hit = relevant.count(corpus.ids[ranked[i]]) > 0;
      found += hit;
      if (i < 10 && hit) dcg += 1.0 / std::log2(i + 2.0);
    }
    for (size_t i = 0; i < std::min<size_t>(10, relevant.size()); ++i) ideal += 1.0 / std::log2(i + 2.0);
    ndcg_sum += dcg / ideal;
    recall_sum += static_cast<double>(found) / relevant.size();
  }
  std::printf("search_quality_bench: %s dim %d, %zu docs, %zu chunks embedded in %.2f s\n", embedder->Name().c_str(),
              embedder->Dimension(), corpus.ids.size(), corpus.chunk_vectors.size(), embed_s);
  std::printf("SciFact test (%zu queries): nDCG@10 %.3f, recall@100 %.3f\n", qrels.size(), ndcg_sum / qrels.size(),
              recall_sum / qrels.size());
  return 0;
}
