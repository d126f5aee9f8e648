// Small subcommands: version, migrate, stats, search.
#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "api/knowledge_json.h"
#include "api/search_json.h"
#include "api/stats_json.h"
#include "cli/cli.h"
#include "core/version.h"
#include "pipeline/documents.h"
#include "pipeline/pipeline_stats.h"
#include "pipeline/services.h"
#include "search/search.h"

namespace refinery::cli {

std::optional<Services> OpenOrReport(const GlobalFlags& flags, const std::string& service, OpenMode mode, int* code) {
  auto config = LoadEffectiveConfig(flags, service);
  if (!config) {
    *code = kExitUsage;
    return std::nullopt;
  }
  auto services = OpenServices(*config, mode);
  if (!services.ok()) {
    std::cerr << "refinery: " << services.status().message() << "\n";
    *code = services.status().transient() ? kExitUnavailable : kExitUsage;
    return std::nullopt;
  }
  return std::move(services).value();
}

namespace {


int PrintStats(Services& s, bool as_json) {
  const PipelineStats stats = ReadPipelineStats(s);
  if (!stats.status().ok()) {
    std::cerr << "refinery: " << stats.status().ToString() << "\n";
    return kExitUnavailable;
  }
  const nlohmann::ordered_json out = api::PipelineStatsJson(stats);
  if (as_json) {
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "documents: " << stats.store.total_documents << "\n";
  for (const auto& [state, count] : out["documents_by_stage"].items()) {
    std::cout << "  " << state << ": " << count << "\n";
  }
  std::cout << "chunks: " << stats.store.total_chunks << " (" << stats.store.chunks_with_embeddings << " embedded, "
            << stats.store.chunks_evaluated << " evaluated"
            << (stats.store.chunks_evaluation_failed > 0
                    ? ", " + std::to_string(stats.store.chunks_evaluation_failed) + " evaluations failed"
                    : std::string())
            << (stats.store.chunks_extraction_failed > 0
                    ? ", " + std::to_string(stats.store.chunks_extraction_failed) + " extractions failed"
                    : std::string())
            << ")\n";
  std::cout << "entities: " << stats.knowledge.total_entities << " (" << stats.knowledge.total_conflicts
            << " conflicting fields)\n";
  for (const auto& [type, count] : stats.knowledge.entities_by_type) std::cout << "  " << type << ": " << count << "\n";
  std::cout << "queues (ready / in flight / delayed / dead):\n";
  for (const StageFigures& f : stats.stages) {
    std::cout << "  " << f.stage << ": " << f.queue.ready << " / " << f.queue.in_flight << " / " << f.queue.delayed
              << " / " << f.dead << "\n";
  }
  return kExitOk;
}

void PrintResults(const std::vector<SearchResult>& results) {
  for (const auto& r : results) {
    std::string snippet = r.content.substr(0, 160);
    std::replace_if(
        snippet.begin(), snippet.end(), [](char c) { return c == '\n' || c == '\t'; }, ' ');
    std::cout << std::fixed << std::setprecision(3) << r.score << "  [" << r.document_id << "] " << r.title
              << "\n      " << snippet << (r.content.size() > 160 ? "..." : "") << "\n";
  }
}

}  // namespace

void AddVersion(CLI::App& app, const GlobalFlags&, int* code) {
  auto* cmd = app.add_subcommand("version", "Print the version");
  cmd->callback([code] {
    std::cout << "refinery " << kVersion << "\n";
    *code = kExitOk;
  });
}

void AddMigrate(CLI::App& app, const GlobalFlags& flags, int* code) {
  auto* cmd = app.add_subcommand("migrate", "Create or upgrade the database schema");
  cmd->callback([&flags, code] {
    auto services = OpenOrReport(flags, "migrate", OpenMode::kServe, code);
    if (!services) return;
    auto version = services->store->SchemaVersion();
    std::cout << "schema at version " << (version.ok() ? *version : 0) << "\n";
    *code = kExitOk;
  });
}

// After the embedding model changed: search uses only the configured
// model's vectors, so the others are replaced through the queue.
void AddReembed(CLI::App& app, const GlobalFlags& flags, int* code) {
  auto* cmd = app.add_subcommand("reembed", "Re-embed, through the queue, documents another embedding model embedded");
  auto dry_run = std::make_shared<bool>(false);
  cmd->add_flag("--dry-run", *dry_run, "Only count the documents");
  cmd->callback([&flags, code, dry_run] {
    auto services = OpenOrReport(flags, "reembed", OpenMode::kServe, code);
    if (!services) return;
    auto outcome = ReembedDocuments(*services, *dry_run);
    if (!outcome.ok()) {
      std::cerr << "refinery: reembed: " << outcome.status().message() << "\n";
      *code = outcome.status().transient() ? kExitUnavailable : kExitFailure;
      return;
    }
    const std::string model = services->embedder->Name();
    std::cout << outcome->queued << (*dry_run ? " documents to re-embed with " : " documents queued for re-embedding with ")
              << model << "\n";
    if (outcome->skipped > 0) {
      std::cout << outcome->skipped << " more are in flight or in error: run again once they complete\n";
    }
    *code = kExitOk;
  });
}

void AddStats(CLI::App& app, const GlobalFlags& flags, int* code) {
  auto* cmd = app.add_subcommand("stats", "Show document, chunk and queue counts");
  auto as_json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *as_json, "Print JSON (the shape of GET /stats)");
  cmd->callback([&flags, code, as_json] {
    auto services = OpenOrReport(flags, "stats", OpenMode::kReadOnly, code);
    if (services) *code = PrintStats(*services, *as_json);
  });
}

void AddSearch(CLI::App& app, const GlobalFlags& flags, int* code) {
  auto* cmd = app.add_subcommand("search", "Search the knowledge base");
  auto query = std::make_shared<SearchQuery>();
  cmd->add_option("query", query->query, "What to look for")->required();
  cmd->add_option("-n,--limit", query->limit, "Results to show (1..100)")->check(CLI::Range(1, 100));
  auto mode = std::make_shared<std::string>("lexical");
  cmd->add_option("--mode", *mode, "lexical (default), vector or hybrid")
      ->check(CLI::IsMember({"lexical", "vector", "hybrid"}));
  auto as_json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *as_json, "Print JSON (the shape of POST /search)");
  cmd->callback([&flags, code, query, mode, as_json] {
    auto services = OpenOrReport(flags, "search", OpenMode::kReadOnly, code);
    if (!services) return;
    query->mode = ParseSearchMode(*mode).value_or(SearchMode::kLexical);  // checked by IsMember
    Searcher searcher(*services->store, *services->embedder);
    const auto started = std::chrono::steady_clock::now();
    SearchNote note;
    auto results = searcher.Search(*query, &note);
    if (note.fell_back_to) std::cerr << "refinery: " << note.warning << "\n";
    if (!results.ok()) {
      std::cerr << "refinery: " << results.status().message() << "\n";
      *code = results.status().transient() ? kExitUnavailable : kExitUsage;
      return;
    }
    if (*as_json) {
      const double took_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
      std::cout << api::SearchResponseJson(*query, *results, took_ms).dump(2) << "\n";
    } else {
      PrintResults(*results);
    }
    *code = kExitOk;
  });
}

void AddEntities(CLI::App& app, const GlobalFlags& flags, int* code) {
  auto* cmd = app.add_subcommand("entities", "List entities of the knowledge base");
  auto query = std::make_shared<EntityQuery>();
  cmd->add_option("query", query->q, "Text the key or attributes contain");
  cmd->add_option("--type", query->type, "Only this entity type (acronym, doi, dtc, ...)");
  cmd->add_option("-n,--limit", query->limit, "Entities to show (1..1000)")->check(CLI::Range(1, 1000));
  auto as_json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *as_json, "Print JSON (the shape of GET /entities)");
  cmd->callback([&flags, code, query, as_json] {
    auto services = OpenOrReport(flags, "entities", OpenMode::kReadOnly, code);
    if (!services) return;
    auto page = services->store->knowledge().ListEntities(*query);
    if (!page.ok()) {
      std::cerr << "refinery: " << page.status().message() << "\n";
      *code = page.status().transient() ? kExitUnavailable : kExitUsage;
      return;
    }
    if (*as_json) {
      nlohmann::json list = nlohmann::json::array();
      for (const Entity& e : page->entities) list.push_back(api::EntityJson(e));
      std::cout << nlohmann::json({{"entities", list}, {"total", page->total}}).dump(2) << "\n";
    } else {
      for (const Entity& e : page->entities) {
        std::cout << std::fixed << std::setprecision(2) << e.confidence << "  " << e.source_count << " source(s)  "
                  << e.entity.type << "  " << e.entity.key << "  " << e.attributes_json.substr(0, 120) << "\n";
      }
      std::cout << page->entities.size() << " of " << page->total << " entities\n";
    }
    *code = kExitOk;
  });
}

}  // namespace refinery::cli
