// Store conformance: the knowledge base. Counts are recomputed from
// mentions, never incremented: re-processing, deleting and concurrent
// resolvers leave them exact. Every backend in StoreBackends() must pass.
#include <atomic>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "store_backends.h"

namespace refinery {
namespace {

using nlohmann::json;

// A resolver with visible arithmetic: sources = distinct documents, the
// attribute "v" of the most trusted mention wins and a second value is a
// conflict, and a parent becomes a relation.
ResolvedEntity TestResolve(const EntityKey& key, const std::vector<Mention>& mentions) {
  ResolvedEntity r;
  std::set<int64_t> docs;
  std::map<std::string, double> values;
  for (const Mention& m : mentions) {
    docs.insert(m.document_id);
    json a = json::parse(m.attributes_json);
    if (a.contains("v")) values[a["v"]] += m.trust;
    if (!m.parent.type.empty()) r.parents.push_back(m.parent);
  }
  r.source_count = static_cast<int64_t>(docs.size());
  r.confidence = std::min(1.0, 0.1 * static_cast<double>(docs.size()));
  std::string best;
  for (const auto& [v, trust] : values) {
    if (best.empty() || trust > values[best]) best = v;
  }
  r.attributes_json = json({{"v", best}, {"mentions", mentions.size()}}).dump();
  if (values.size() > 1) r.conflicts.push_back({0, 0, key, "v", json::array({best}).dump(), best, "more trust", 0});
  return r;
}

class Knowledge : public StoreConformance {
 protected:
  int64_t Extracting(const std::string& hash) {
    const int64_t id = Insert(hash, "extracting");
    EXPECT_STORE_OK(store().chunks().Replace(id, MakeChunks(2, hash), {"extracting", "extracting"}));
    return id;
  }
  static Mention Says(const std::string& type, const std::string& key, const std::string& v, double trust = 0.5) {
    Mention m;
    m.entity = {type, key};
    m.attributes_json = json({{"v", v}}).dump();
    m.start = 0;
    m.end = 5;
    m.trust = trust;
    return m;
  }
  // Extract then resolve, as the two stages do.
  void Process(int64_t id, std::vector<Mention> mentions) {
    auto chunks = store().chunks().Get(id);
    ASSERT_STORE_OK(chunks);
    for (Mention& m : mentions) m.chunk_id = chunks->front().id;
    ASSERT_STORE_OK(store().knowledge().ReplaceMentions(id, mentions, {"extracting", "resolving"}));
    ASSERT_STORE_OK(store().knowledge().ResolvePending(id, TestResolve, {"resolving", "complete"}));
  }
  void Reprocess(int64_t id, std::vector<Mention> mentions) {
    ASSERT_STORE_OK(store().documents().SetState(id, {"complete", "extracting"}));
    Process(id, std::move(mentions));
  }
  std::optional<Entity> Find(const std::string& type, const std::string& key) {
    auto found = store().knowledge().FindEntity({type, key});
    EXPECT_STORE_OK(found);
    return found.ok() ? *found : std::nullopt;
  }
};

TEST_P(Knowledge, ThreeSourcesMakeOneEntityAndReprocessingChangesNothing) {
  const int64_t a = Extracting("a"), b = Extracting("b"), c = Extracting("c");
  for (int64_t id : {a, b, c}) Process(id, {Says("acronym", "DTI", "diffusion tensor imaging")});
  auto e = Find("acronym", "DTI");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->source_count, 3);
  EXPECT_DOUBLE_EQ(e->confidence, 0.3);
  EXPECT_EQ(json::parse(e->attributes_json)["v"], "diffusion tensor imaging");
  Reprocess(b, {Says("acronym", "DTI", "diffusion tensor imaging")});
  Reprocess(b, {Says("acronym", "DTI", "diffusion tensor imaging")});
  auto again = Find("acronym", "DTI");
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->id, e->id);
  EXPECT_EQ(again->source_count, 3);
  EXPECT_EQ(json::parse(again->attributes_json)["mentions"], 3);  // not 5: b's old mentions were replaced
  auto stats = store().knowledge().Stats();
  ASSERT_STORE_OK(stats);
  EXPECT_EQ(stats->entities_by_type, (std::map<std::string, int64_t>{{"acronym", 1}}));
}

TEST_P(Knowledge, DeletingASourceRecountsAndTheLastSourceTakesTheEntityAlong) {
  const int64_t a = Extracting("a"), b = Extracting("b"), c = Extracting("c");
  for (int64_t id : {a, b, c}) Process(id, {Says("doi", "10.1/x", "x"), Says("pmid", "1", "p")});
  ASSERT_STORE_OK(store().knowledge().DeleteDocument(b, TestResolve));
  EXPECT_EQ(Find("doi", "10.1/x")->source_count, 2);
  EXPECT_EQ(store().documents().Get(b).status().code(), StatusCode::kNotFound);
  ASSERT_STORE_OK(store().knowledge().DeleteDocument(a, TestResolve));
  ASSERT_STORE_OK(store().knowledge().DeleteDocument(c, TestResolve));
  EXPECT_FALSE(Find("doi", "10.1/x").has_value());
  EXPECT_FALSE(Find("pmid", "1").has_value());
  auto stats = store().knowledge().Stats();
  ASSERT_STORE_OK(stats);
  EXPECT_EQ(stats->total_entities, 0);
  EXPECT_TRUE(stats->entities_by_type.empty());
  EXPECT_STORE_CODE(store().knowledge().DeleteDocument(a, TestResolve), kNotFound);
}

TEST_P(Knowledge, AMentionDroppedOnReprocessingLeavesItsEntity) {
  const int64_t a = Extracting("a");
  Process(a, {Says("acronym", "ER", "x"), Says("acronym", "GFP", "y")});
  Reprocess(a, {Says("acronym", "ER", "x")});
  EXPECT_TRUE(Find("acronym", "ER").has_value());
  EXPECT_FALSE(Find("acronym", "GFP").has_value());  // pending as an old key, recomputed to nothing
}

TEST_P(Knowledge, ConflictsRelationsAndReadsCarryTypeKeyAndSources) {
  const int64_t a = Extracting("a"), b = Extracting("b");
  Mention cause = Says("cause", "P0420:catalyst", "worn catalyst");
  cause.parent = {"dtc", "P0420"};
  Process(a, {Says("dtc", "P0420", "Catalyst Efficiency Below Threshold", 0.9), cause});
  Process(b, {Says("dtc", "P0420", "Catalyst System Low Efficiency", 0.3)});
  auto dtc = Find("dtc", "P0420");
  ASSERT_TRUE(dtc.has_value());
  EXPECT_EQ(dtc->conflict_count, 1);
  auto conflicts = store().knowledge().ListConflicts("dtc", 10, 0);
  ASSERT_STORE_OK(conflicts);
  ASSERT_EQ(conflicts->total, 1);
  EXPECT_EQ(conflicts->conflicts[0].entity.type, "dtc");
  EXPECT_EQ(conflicts->conflicts[0].entity.key, "P0420");
  EXPECT_EQ(conflicts->conflicts[0].resolved_value, "Catalyst Efficiency Below Threshold");
  EXPECT_EQ(store().knowledge().ListConflicts("acronym", 10, 0)->total, 0);
  auto detail = store().knowledge().GetEntity(dtc->id);
  ASSERT_STORE_OK(detail);
  ASSERT_EQ(detail->sources.size(), 2u);
  EXPECT_EQ(detail->sources[0].document_title, "title a");
  EXPECT_EQ(detail->sources[0].excerpt, "a chunk 0");
  EXPECT_DOUBLE_EQ(detail->sources[0].mention.trust, 0.9);
  ASSERT_EQ(detail->related.size(), 1u);
  EXPECT_EQ(detail->related[0].direction, "child");
  EXPECT_EQ(detail->related[0].other.key, "P0420:catalyst");
  EXPECT_TRUE(detail->related[0].other_id.has_value());
  EntityQuery children;  // the DTC's children in one query, not one lookup each
  children.parent = {"dtc", "P0420"};
  auto page = store().knowledge().ListEntities(children);
  ASSERT_STORE_OK(page);
  ASSERT_EQ(page->total, 1);
  ASSERT_EQ(page->entities.size(), 1u);
  EXPECT_EQ(page->entities[0].entity.key, "P0420:catalyst");
  children.parent = {"dtc", "P0171"};
  EXPECT_EQ(store().knowledge().ListEntities(children)->total, 0);
  children.parent = {"cause", "P0420:catalyst"};  // a child has no children
  EXPECT_EQ(store().knowledge().ListEntities(children)->total, 0);
  ASSERT_EQ(detail->conflicts.size(), 1u);
  auto stats = store().knowledge().Stats();
  EXPECT_EQ(stats->total_conflicts, 1);
  EXPECT_EQ(store().knowledge().GetEntity(999999).status().code(), StatusCode::kNotFound);
}

TEST_P(Knowledge, ListEntitiesFiltersPagesAndCounts) {
  const int64_t a = Extracting("a"), b = Extracting("b");
  Process(a, {Says("acronym", "DTI", "diffusion tensor imaging"), Says("acronym", "MRI", "magnetic resonance"),
              Says("doi", "10.1/abc", "z")});
  Process(b, {Says("acronym", "DTI", "diffusion tensor imaging")});
  auto all = store().knowledge().ListEntities({});
  ASSERT_STORE_OK(all);
  EXPECT_EQ(all->total, 3);
  EXPECT_EQ(all->entities[0].entity.key, "DTI");  // highest confidence first
  EXPECT_EQ(store().knowledge().ListEntities({"acronym", "", 0, 50, 0, "", {}})->total, 2);
  EXPECT_EQ(store().knowledge().ListEntities({"", "tensor", 0, 50, 0, "", {}})->total, 1);
  EXPECT_EQ(store().knowledge().ListEntities({"", "mri", 0, 50, 0, "", {}})->total, 1);
  EXPECT_EQ(store().knowledge().ListEntities({"", "", 0.15, 50, 0, "", {}})->total, 1);
  auto page = store().knowledge().ListEntities({"", "", 0, 1, 1, "", {}});
  ASSERT_EQ(page->entities.size(), 1u);
  EXPECT_EQ(page->total, 3);
  EntityQuery by_prefix;
  by_prefix.key_prefix = "D";  // case-sensitive: the start of the key
  auto prefixed = store().knowledge().ListEntities(by_prefix);
  ASSERT_STORE_OK(prefixed);
  EXPECT_EQ(prefixed->total, 1);
  EXPECT_EQ(prefixed->entities.size(), 1u);
  by_prefix.key_prefix = "d";
  EXPECT_EQ(store().knowledge().ListEntities(by_prefix)->total, 0);
  EXPECT_STORE_CODE(store().knowledge().ListEntities({"", "", 0, 0, 0, "", {}}), kInvalidArgument);
  EXPECT_STORE_CODE(store().knowledge().ListEntities({"", "", 1.5, 10, 0, "", {}}), kInvalidArgument);
}

TEST_P(Knowledge, BadMentionsAndWrongStatesWriteNothing) {
  const int64_t a = Extracting("a");
  Mention bad = Says("acronym", "", "x");
  EXPECT_STORE_CODE(store().knowledge().ReplaceMentions(a, {bad}, {"extracting", "resolving"}), kInvalidArgument);
  bad = Says("acronym", "X", "x");
  bad.attributes_json = "[1]";
  EXPECT_STORE_CODE(store().knowledge().ReplaceMentions(a, {bad}, {"extracting", "resolving"}), kInvalidArgument);
  bad.attributes_json = "{}";
  bad.trust = 2;
  EXPECT_STORE_CODE(store().knowledge().ReplaceMentions(a, {bad}, {"extracting", "resolving"}), kInvalidArgument);
  EXPECT_STORE_CODE(store().knowledge().ReplaceMentions(a, {Says("t", "k", "v")}, {"resolving", "complete"}),
                    kConflict);
  EXPECT_STORE_CODE(store().knowledge().ResolvePending(a, TestResolve, {"resolving", "complete"}), kConflict);
  EXPECT_TRUE(store().knowledge().Mentions(a)->empty());
  EXPECT_EQ(store().documents().Get(a)->state, "extracting");
  EXPECT_STORE_CODE(store().knowledge().Mentions(999999), kNotFound);
}

// Four resolvers at once over documents that all share two entities and
// each have one of their own: every count ends exact.
TEST_P(Knowledge, ConcurrentResolversLeaveExactCounts) {
  constexpr int kThreads = 4, kPerThread = 6;
  std::vector<int64_t> ids;
  for (int i = 0; i < kThreads * kPerThread; ++i) ids.push_back(Extracting("c" + std::to_string(i)));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kThreads * kPerThread; i += kThreads) {
        const int64_t id = ids[i];
        std::vector<Mention> mentions = {Says("shared", "A", "a"), Says("shared", "B", "b"),
                                         Says("own", std::to_string(id), "o")};
        for (Mention& m : mentions) m.chunk_id = 1;
        Status s = store().knowledge().ReplaceMentions(id, mentions, {"extracting", "resolving"});
        if (s.ok()) s = store().knowledge().ResolvePending(id, TestResolve, {"resolving", "complete"});
        if (!s.ok()) {
          ADD_FAILURE() << s.ToString();
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures, 0);
  EXPECT_EQ(Find("shared", "A")->source_count, kThreads * kPerThread);
  EXPECT_EQ(Find("shared", "B")->source_count, kThreads * kPerThread);
  auto stats = store().knowledge().Stats();
  ASSERT_STORE_OK(stats);
  EXPECT_EQ(stats->entities_by_type["own"], kThreads * kPerThread);
  EXPECT_EQ(stats->entities_by_type["shared"], 2);
}

INSTANTIATE_TEST_SUITE_P(Backends, Knowledge, ::testing::ValuesIn(StoreBackends()), BackendName);

}  // namespace
}  // namespace refinery
