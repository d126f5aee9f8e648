// Retrieval quality of every search mode on BEIR SciFact (test queries),
// through the real store and Searcher: every abstract stored and chunked
// as the pipeline does, each chunk embedded with the built-in embedder;
// then each query is searched (100 chunks) in vector, lexical and hybrid
// mode and a document ranked by its best chunk. Prints nDCG@10 and
// recall@100 (documents among the top 100 chunks) per mode.
//
//   search_quality_bench [SCIFACT_DIR [--sweep]]
// --sweep also prints fusion variants (how the hybrid weights were chosen).
// Store: SQLite in a fresh temp dir, or PostgreSQL when
// REFINERY_DATABASE_URL is set (documents already there are reused, so a
// second run only queries).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/hash.h"
#include "llm/embedder.h"
#include "search/search.h"
#include "store/store.h"
#include "text/chunker.h"

using namespace refinery;

namespace {

[[noreturn]] void Die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "search_quality_bench: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

// Stores, chunks and embeds one abstract unless it is stored already.
void Load(Store& store, Embedder& embedder, const ChunkerOptions& options, const std::string& id,
          const std::string& title, const std::string& text, std::map<int64_t, std::string>& ids) {
  NewDocument doc;
  doc.title = title;
  doc.content_hash = Sha256Hex(id + "\n" + text);
  doc.state = "chunking";
  auto inserted = store.documents().Insert(doc);
  if (!inserted.ok()) Die("insert", inserted.status());
  ids[inserted->id] = id;
  if (!inserted->created) return;
  std::vector<Chunk> chunks;
  std::vector<std::string> pieces;
  for (const auto& piece : ChunkText(text, options)) {
    Chunk c;
    c.chunk_index = static_cast<int>(chunks.size());
    c.content = piece.content;
    c.char_start = piece.start;
    c.char_end = piece.end;
    c.token_count = piece.token_count;
    chunks.push_back(c);
    pieces.push_back(piece.content);
  }
  Status replaced = store.chunks().Replace(inserted->id, chunks, {"chunking", "embedding"});
  if (!replaced.ok()) Die("chunks", replaced);
  auto stored = store.chunks().Get(inserted->id);
  auto vectors = embedder.Embed(pieces);
  if (!stored.ok() || !vectors.ok()) Die("embed", stored.ok() ? vectors.status() : stored.status());
  std::vector<std::pair<int64_t, std::vector<float>>> updates;
  for (size_t i = 0; i < stored->size(); ++i) updates.emplace_back((*stored)[i].id, (*vectors)[i]);
  Status embedded = store.chunks().SetEmbeddings(inserted->id, embedder.Name(), updates, {"embedding", "complete"});
  if (!embedded.ok()) Die("vectors", embedded);
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

std::map<std::string, std::string> LoadQueries(const std::string& path) {
  std::map<std::string, std::string> queries;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    auto json = nlohmann::json::parse(line);
    queries[json.at("_id").get<std::string>()] = json.at("text").get<std::string>();
  }
  return queries;
}

struct Quality {
  double ndcg10 = 0, recall100 = 0, ms_per_query = 0;
};

// Adds one query's nDCG@10 and recall@100 of the chunk ranking `chunks`
// (documents ranked by their best chunk) to `q`.
void Score(const std::vector<int64_t>& chunk_docs, const std::map<int64_t, std::string>& ids,
           const std::set<std::string>& relevant, Quality& q) {
  std::vector<std::string> ranked;
  std::set<std::string> seen;
  for (int64_t doc_id : chunk_docs) {
    const std::string& doc = ids.at(doc_id);
    if (seen.insert(doc).second) ranked.push_back(doc);
  }
  double dcg = 0, ideal = 0;
  size_t found = 0;
  for (size_t i = 0; i < ranked.size(); ++i) {
    bool hit = relevant.count(ranked[i]) > 0;
    found += hit;
    if (i < 10 && hit) dcg += 1.0 / std::log2(i + 2.0);
  }
  for (size_t i = 0; i < std::min<size_t>(10, relevant.size()); ++i) {
    ideal += 1.0 / std::log2(i + 2.0);
  }
  q.ndcg10 += dcg / ideal;
  q.recall100 += static_cast<double>(found) / relevant.size();
}

Quality Measure(Searcher& searcher, SearchMode mode, const std::map<int64_t, std::string>& ids,
                const std::map<std::string, std::set<std::string>>& qrels,
                const std::map<std::string, std::string>& queries) {
  Quality q;
  auto started = std::chrono::steady_clock::now();
  for (const auto& [qid, relevant] : qrels) {
    auto results = searcher.Search({queries.at(qid), 100, std::nullopt, std::nullopt, mode});
    if (!results.ok()) Die("search", results.status());
    std::vector<int64_t> docs;
    for (const SearchResult& r : *results) docs.push_back(r.document_id);
    Score(docs, ids, relevant, q);
  }
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  q.ndcg10 /= qrels.size();
  q.recall100 /= qrels.size();
  q.ms_per_query = ms / qrels.size();
  return q;
}

// One query's vector and lexical rankings (top 100 each), by chunk id.
struct Rankings {
  std::map<int64_t, int64_t> doc_of;             // chunk -> document
  std::map<int64_t, double> vec_rank, lex_rank;  // rank from 1; absent: not ranked
  std::map<int64_t, double> vec_norm, lex_norm;  // min-max normalised score
};

void AddRanking(Searcher& searcher, const std::string& text, SearchMode mode, Rankings& out,
                std::map<int64_t, double>& rank, std::map<int64_t, double>& norm) {
  auto results = searcher.Search({text, 100, std::nullopt, std::nullopt, mode});
  if (!results.ok()) Die("search", results.status());
  if (results->empty()) return;
  const double hi = results->front().score, lo = results->back().score;
  for (size_t i = 0; i < results->size(); ++i) {
    const SearchResult& r = (*results)[i];
    out.doc_of[r.chunk_id] = r.document_id;
    rank[r.chunk_id] = static_cast<double>(i + 1);
    norm[r.chunk_id] = hi > lo ? (r.score - lo) / (hi - lo) : 1.0;
  }
}

using Fusion = std::function<double(double vec_rank, double lex_rank, double vec_norm,
                                    double lex_norm)>;  // 0 where not ranked

// Documents of the best 100 chunks under `fusion`.
std::vector<int64_t> Fuse(const Rankings& r, const Fusion& fusion) {
  const auto get = [](const std::map<int64_t, double>& m, int64_t id) {
    auto it = m.find(id);
    return it == m.end() ? 0.0 : it->second;
  };
  std::vector<std::pair<double, int64_t>> fused;
  for (const auto& [id, doc] : r.doc_of) {
    fused.push_back({-fusion(get(r.vec_rank, id), get(r.lex_rank, id), get(r.vec_norm, id), get(r.lex_norm, id)), id});
  }
  std::sort(fused.begin(), fused.end());
  std::vector<int64_t> docs;
  for (size_t i = 0; i < fused.size() && i < 100; ++i) docs.push_back(r.doc_of.at(fused[i].second));
  return docs;
}

// Weighted RRF and a convex mix of min-max normalised scores.
std::vector<std::pair<std::string, Fusion>> FusionVariants() {
  std::vector<std::pair<std::string, Fusion>> variants;
  for (double k : {10.0, 60.0}) {
    for (double w : {1.0, 2.0, 3.0, 5.0}) {
      char name[64];
      std::snprintf(name, sizeof name, "rrf k=%.0f w_lex=%.0f", k, w);
      variants.emplace_back(name, [k, w](double vr, double lr, double, double) {
        return (vr > 0 ? 1 / (k + vr) : 0) + (lr > 0 ? w / (k + lr) : 0);
      });
    }
  }
  for (double a : {0.5, 0.6, 0.7, 0.8, 0.9}) {
    char name[64];
    std::snprintf(name, sizeof name, "minmax a_lex=%.1f", a);
    variants.emplace_back(name, [a](double, double, double vn, double ln) { return a * ln + (1 - a) * vn; });
  }
  return variants;
}

// The fusion variants over each query's two rankings: how the hybrid
// mode's weights were chosen.
void Sweep(Searcher& searcher, const std::map<int64_t, std::string>& ids,
           const std::map<std::string, std::set<std::string>>& qrels,
           const std::map<std::string, std::string>& queries) {
  const auto variants = FusionVariants();
  std::vector<Quality> quality(variants.size());
  for (const auto& [qid, relevant] : qrels) {
    Rankings r;
    AddRanking(searcher, queries.at(qid), SearchMode::kVector, r, r.vec_rank, r.vec_norm);
    AddRanking(searcher, queries.at(qid), SearchMode::kLexical, r, r.lex_rank, r.lex_norm);
    for (size_t v = 0; v < variants.size(); ++v) {
      Score(Fuse(r, variants[v].second), ids, relevant, quality[v]);
    }
  }
  for (size_t v = 0; v < variants.size(); ++v) {
    std::printf("sweep %-22s nDCG@10 %.3f  recall@100 %.3f\n", variants[v].first.c_str(),
                quality[v].ndcg10 / qrels.size(), quality[v].recall100 / qrels.size());
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : REFINERY_SCIFACT_DIR;
  Config config;
  if (auto loaded = LoadConfig(); loaded.ok()) config = *loaded;
  char temp[] = "/tmp/search-quality-XXXXXX";
  if (config.database_url.empty()) {
    if (mkdtemp(temp) == nullptr) return 1;
    config.data_dir = temp;
  }
  auto store = OpenStore(config);
  if (!store.ok()) Die("open store", store.status());
  if (auto s = (*store)->Migrate(); !s.ok()) Die("migrate", s);
  auto embedder = MakeHashingEmbedder(config.embedding_dim);
  ChunkerOptions options{config.chunk_target_chars, config.chunk_overlap_chars};

  auto started = std::chrono::steady_clock::now();
  std::map<int64_t, std::string> ids;  // store document id -> SciFact id
  std::ifstream in(dir + "/corpus.jsonl");
  for (std::string line; std::getline(in, line);) {
    auto json = nlohmann::json::parse(line);
    Load(**store, *embedder, options, json.at("_id").get<std::string>(), json.value("title", ""),
         json.at("text").get<std::string>(), ids);
  }
  double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  auto stats = (*store)->telemetry().Stats();
  if (!stats.ok()) Die("stats", stats.status());
  std::printf("search_quality_bench: %s store, %s dim %d, %zu docs, %lld chunks loaded in %.1f s\n",
              config.database_url.empty() ? "sqlite" : "postgres", embedder->Name().c_str(), embedder->Dimension(),
              ids.size(), static_cast<long long>(stats->total_chunks), load_s);

  auto qrels = LoadQrels(dir + "/qrels/test.tsv");
  auto queries = LoadQueries(dir + "/queries.jsonl");
  Searcher searcher(**store, *embedder);
  for (SearchMode mode : {SearchMode::kVector, SearchMode::kLexical, SearchMode::kHybrid}) {
    Quality q = Measure(searcher, mode, ids, qrels, queries);
    std::printf("SciFact test (%zu queries) %-7s nDCG@10 %.3f  recall@100 %.3f  %.1f ms/query\n", qrels.size(),
                std::string(SearchModeName(mode)).c_str(), q.ndcg10, q.recall100, q.ms_per_query);
  }
  if (argc > 2 && std::string(argv[2]) == "--sweep") Sweep(searcher, ids, qrels, queries);
  if (config.database_url.empty()) std::filesystem::remove_all(temp);
  return 0;
}
