// The automotive scenario of the knowledge issue, shared by the runs with
// the built-in extractors and with LLM ones (tests/e2e/automotive_*_test):
// DTC reference pages, service bulletins and forum threads become DTC
// codes, causes and diagnostic steps whose source counts, confidences and
// conflicts follow the dtc_codes extractor's and the resolver's rules
// exactly; deleting a source recounts. Each page is one chunk;
// automotive_pages.h notes what each holds by those rules, and every
// expected figure is computed from the notes and the trust the chunks got.
#pragma once

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>
#include <functional>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/http_client.h"
#include "e2e/automotive_pages.h"
#include "knowledge/profile.h"
#include "support/process_util.h"
#include "support/refinery_process.h"
#include "support/test_support.h"

namespace refinery::testing::automotive_scenario {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

using namespace automotive_pages;  // the test data

// Steps: the numbered items under the "Diagnos..." heading of these pages;
// tools: the vocabulary's names each item contains; and a quantity each of
// two items must have in expected_values.
inline const std::map<std::string, size_t> kStepPages = {{"P0420", kP0420Ref}, {"P0300", kP0300Ref}};
inline const char* const kTools[] = {
    "scan tool",  "multimeter",         "smoke machine",        "fuel pressure gauge", "vacuum gauge",  "oscilloscope",
    "test light", "compression tester", "infrared thermometer", "back probe",          "OBD-II scanner"};
inline const std::map<std::pair<std::string, int>, std::string> kStepValues = {{{"P0420", 2}, "0.6-0.7 V"},
                                                                        {{"P0300", 3}, "40-60 psi"}};

inline std::vector<std::string> StepItems(const std::string& text) {
  std::vector<std::string> items;
  std::istringstream lines(text);
  bool under = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.find("iagnos") != std::string::npos) {
      under = true;
    } else if (under && line.size() > 3 && std::isdigit(static_cast<unsigned char>(line[0])) && line[1] == '.') {
      items.push_back(line.substr(3));
    }
  }
  return items;
}

// ---- the rules, as the spec states them ------------------------------------

constexpr double kTolerance = 0.002;  // the API rounds confidences to 3 decimals

// NormaliseText: ASCII letters lower-cased, other ASCII bytes but digits
// separators (collapsed, trimmed), one leading article dropped.
inline std::string Norm(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) != 0 || c >= 0x80) {
      out += static_cast<char>(std::tolower(c));
    } else if (!out.empty() && out.back() != ' ') {
      out += ' ';
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  for (const std::string article : {"a ", "an ", "the "}) {
    if (out.rfind(article, 0) == 0 && out.size() > article.size()) return out.substr(article.size());
  }
  return out;
}

// One chunk per page: the distinct chunks are the distinct documents.
inline double Confidence(const std::vector<double>& trusts) {
  double sum = 0;
  for (double t : trusts) sum += t;
  const double n = static_cast<double>(trusts.size());
  return std::min(1.0, 0.3 * std::min(1.0, n / 5.0) + 0.7 * sum / n);
}

inline std::string Category(const std::string& code) {
  return code[0] == 'P' ? "powertrain" : code[0] == 'C' ? "chassis" : code[0] == 'B' ? "body" : "network";
}

inline std::string Text(const json& o, const char* key) {
  return o.is_object() && o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : "";
}

// A DTC code (label: its severity) or a cause (label: its likelihood).
struct Expected {
  std::vector<double> trusts;            // of its source pages
  std::map<std::string, double> summed;  // Norm(description) -> summed trust of the pages giving it
  std::string label;
  std::string Description() const {  // the higher summed trust wins
    auto best = std::max_element(summed.begin(), summed.end(),
                                 [](const auto& a, const auto& b) { return a.second < b.second; });
    return best == summed.end() ? "" : best->first;
  }
};
struct Model {
  std::map<std::string, Expected> codes;
  std::map<std::string, std::map<std::string, Expected>> causes;  // code -> Norm(text) -> cause
};

inline Model Expect(const std::vector<double>& trust, const std::set<size_t>& alive) {
  Model m;
  for (size_t i : alive) {
    const Page& p = Pages()[i];
    for (const std::string& code : p.codes) m.codes[code].trusts.push_back(trust[i]);
    for (const auto& [code, d] : p.descriptions) m.codes[code].summed[Norm(d)] += trust[i];
    for (const auto& [code, s] : p.severities) m.codes[code].label = s;
    for (const Cause& c : p.causes) {
      Expected& e = m.causes[c.code][Norm(c.text)];
      e.trusts.push_back(trust[i]);
      e.label = c.likelihood;
    }
  }
  return m;
}

template <typename Map>
inline std::set<std::string> Keys(const Map& map) {
  std::set<std::string> keys;
  for (const auto& entry : map) keys.insert(entry.first);
  return keys;
}

inline std::set<std::string> Codes(const json& list) {
  std::set<std::string> codes;
  for (const json& o : list.is_array() ? list : json::array()) codes.insert(Text(o, "code"));
  return codes;
}

inline int64_t Int(const json& o, const char* key) { return o.is_object() && o.contains(key) ? o[key].get<int64_t>() : -1; }
inline double Number(const json& o, const char* key) {
  return o.is_object() && o.contains(key) && o[key].is_number() ? o[key].get<double>() : -1;
}

inline void ExpectCode(const json& o, const std::string& code, const Expected& e, const json& context) {
  const std::string where = code + "\n" + context.dump(2);
  EXPECT_EQ(Int(o, "source_count"), static_cast<int64_t>(e.trusts.size())) << where;
  EXPECT_EQ(Text(o, "category"), Category(code)) << where;
  EXPECT_EQ(Norm(Text(o, "description")), e.Description()) << where;
  EXPECT_EQ(Text(o, "severity"), e.label) << where;
  EXPECT_NEAR(Number(o, "confidence_score"), Confidence(e.trusts), kTolerance) << where;
  EXPECT_TRUE(o.contains("id") && o["id"].is_number_integer()) << where;
}

// GET /dtc, each GET /dtc/{code} with its causes, and the /stats totals.
inline void ExpectKnowledge(const RefineryUp& up, const Model& m) {
  json list = up.Get("/dtc");
  ASSERT_TRUE(list.is_array()) << list.dump(2);
  EXPECT_EQ(Codes(list), Keys(m.codes)) << list.dump(2);
  EXPECT_EQ(list.size(), m.codes.size()) << list.dump(2);
  double previous = 2;
  for (const json& o : list) {
    EXPECT_LE(Number(o, "confidence_score"), previous) << "not highest confidence first\n" << list.dump(2);
    previous = Number(o, "confidence_score");
    if (m.codes.count(Text(o, "code")) != 0) ExpectCode(o, Text(o, "code"), m.codes.at(Text(o, "code")), list);
  }
  size_t total_causes = 0;
  for (const auto& [code, e] : m.codes) {
    long status = 0;
    json detail = up.Get("/dtc/" + code, &status);
    EXPECT_EQ(status, 200) << detail.dump(2);
    ExpectCode(detail, code, e, detail);
    std::map<std::string, json> got;
    for (const json& c : detail.value("causes", json::array())) {
      EXPECT_TRUE(got.emplace(Norm(Text(c, "description")), c).second) << "a cause twice\n" << detail.dump(2);
    }
    static const std::map<std::string, Expected> kNone;
    const auto& want = m.causes.count(code) != 0 ? m.causes.at(code) : kNone;
    total_causes += want.size();
    EXPECT_EQ(Keys(got), Keys(want)) << code << "\n" << detail.dump(2);
    for (const auto& [text, c] : want) {
      if (got.count(text) == 0) continue;
      EXPECT_EQ(Int(got[text], "source_count"), static_cast<int64_t>(c.trusts.size())) << text << "\n"
                                                                                       << detail.dump(2);
      EXPECT_EQ(Text(got[text], "likelihood"), c.label) << text << "\n" << detail.dump(2);
      EXPECT_NEAR(Number(got[text], "confidence_score"), Confidence(c.trusts), kTolerance) << text << "\n"
                                                                                           << detail.dump(2);
    }
  }
  size_t steps = 0;
  for (const auto& [code, page] : kStepPages) steps += StepItems(Pages()[page].text).size();
  json stats = up.Get("/stats");
  EXPECT_EQ(Int(stats, "total_dtc_codes"), static_cast<int64_t>(m.codes.size())) << stats.dump(2);
  EXPECT_EQ(Int(stats, "total_causes"), static_cast<int64_t>(total_causes)) << stats.dump(2);
  EXPECT_EQ(Int(stats, "total_diagnostic_steps"), static_cast<int64_t>(steps)) << stats.dump(2);
}

inline long DeleteJson(const RefineryUp& up, const std::string& path, json* body) {
  HttpRequest request;
  request.method = "DELETE";
  request.url = up.url(path);
  request.timeout_s = 30;
  auto response = HttpCall(request);
  if (!response.ok()) throw std::runtime_error(response.status().ToString());
  *body = json::parse(response->body, nullptr, false);
  return response->status;
}

// The whole scenario through `refinery up` started with `env` (plus the
// automotive profile). The pages of `failing` have their extraction fail
// (a model's unusable answer): they count as sources of nothing, and
// `after_run` checks how that was recorded, before any page is deleted.
inline void RunScenario(std::map<std::string, std::string> env, const std::set<size_t>& failing,
                        const std::function<void(const RefineryUp&, const std::vector<int64_t>&)>& after_run) {
  auto profile = LoadProfile("automotive", "");
  ASSERT_TRUE(profile.ok()) << profile.status().ToString();
  TempDir dir;
  env["REFINERY_PROFILE"] = "automotive";
  RefineryUp up(dir.path(), std::move(env));
  ASSERT_TRUE(up.WaitHealthy(seconds(30))) << up.Log();

  const std::vector<Page>& pages = Pages();
  std::vector<int64_t> ids;
  for (const Page& p : pages) {
    ASSERT_LT(p.text.size(), 900u) << p.title;  // one chunk
    long status = 0;
    json reply = up.Post("/ingest", {{"title", p.title}, {"content", p.text}, {"source_url", p.url}}, &status);
    ASSERT_EQ(status, 201) << reply.dump(2);
    ids.push_back(reply.at("id").get<int64_t>());
  }
  {  // the same page again: the same document, nothing new to count
    long status = 0;
    json again = up.Post("/ingest",
                         {{"title", "Mirror: P0420 catalyst code"},
                          {"content", pages[kP0420Ref].text},
                          {"source_url", pages[kP0420Ref].url}},
                         &status);
    EXPECT_EQ(status, 200) << again.dump(2);
    EXPECT_EQ(again, json({{"status", "exists"}, {"id", ids[kP0420Ref]}}));
  }
  const int64_t count = static_cast<int64_t>(pages.size());
  bool done = WaitUntil(
      [&] {
        const json by = up.Get("/stats").at("documents_by_stage");
        return by.value("complete", int64_t{0}) + by.value("error", int64_t{0}) >= count;
      },
      seconds(120), milliseconds(250));
  ASSERT_TRUE(done) << up.Get("/stats").dump(2) << "\n" << up.Log();
  ASSERT_EQ(up.Get("/stats").at("documents_by_stage").value("complete", int64_t{0}), count)
      << up.Get("/documents?stage=error").dump(2);

  // The trust each page's one chunk got. Below the extraction gate a chunk
  // keeps only always_extract types: pages with causes or steps must clear
  // it (a premise of the test data, not a product rule).
  std::vector<double> trust;
  const bool dtc_always = std::count(profile->always_extract.begin(), profile->always_extract.end(), "dtc") > 0;
  for (size_t i = 0; i < pages.size(); ++i) {
    json chunks = up.Get("/documents/" + std::to_string(ids[i]) + "/chunks");
    ASSERT_EQ(chunks["chunks"].size(), 1u) << pages[i].title << "\n" << chunks.dump(2);
    json chunk = chunks["chunks"][0];
    ASSERT_TRUE(chunk["trust_score"].is_number()) << chunk.dump(2);
    trust.push_back(chunk["trust_score"].get<double>());
    const bool children = !pages[i].causes.empty() || !StepItems(pages[i].text).empty();
    if (failing.count(i) == 0 && (children || (!pages[i].codes.empty() && !dtc_always))) {
      ASSERT_GE(Number(chunk, "relevance_score"), profile->extraction_gate) << "off the vocabulary\n" << chunk.dump(2);
    }
  }
  ASSERT_GT(trust[kP0128Tsb], trust[kCruze]) << "the bulletin must outweigh the forum post it disagrees with";

  std::set<size_t> alive;
  for (size_t i = 0; i < pages.size(); ++i) {
    if (failing.count(i) == 0) alive.insert(i);
  }
  if (after_run) after_run(up, ids);
  const Model model = Expect(trust, alive);
  ExpectKnowledge(up, model);

  // One conflict: P0128's description, resolved toward the bulletin.
  const std::string trusted = Norm(pages[kP0128Tsb].descriptions.at("P0128"));
  EXPECT_EQ(model.codes.at("P0128").Description(), trusted);
  json conflicts = up.Get("/conflicts?type=dtc");
  ASSERT_EQ(Int(conflicts, "total"), 1) << conflicts.dump(2);
  ASSERT_EQ(conflicts["conflicts"].size(), 1u) << conflicts.dump(2);
  json c = conflicts["conflicts"][0];
  EXPECT_EQ(Text(c, "entity_type") + " " + Text(c, "entity_key") + " " + Text(c, "field"), "dtc P0128 description")
      << conflicts.dump(2);
  EXPECT_EQ(Norm(Text(c, "resolved_value")), trusted) << conflicts.dump(2);
  ASSERT_EQ(c["candidates"].size(), 2u) << conflicts.dump(2);
  for (size_t i : {0, 1}) {
    const size_t page = i == 0 ? kP0128Tsb : kCruze;
    EXPECT_EQ(Norm(Text(c["candidates"][i], "value")), Norm(pages[page].descriptions.at("P0128"))) << conflicts.dump(2);
    EXPECT_EQ(c["candidates"][i]["documents"], json::array({ids[page]})) << conflicts.dump(2);
    EXPECT_NEAR(Number(c["candidates"][i], "summed_trust"), trust[page], kTolerance) << conflicts.dump(2);
  }
  json p0128 = up.Get("/dtc/P0128");
  ASSERT_EQ(p0128.value("conflicts", json::array()).size(), 1u) << p0128.dump(2);
  EXPECT_EQ(Text(p0128["conflicts"][0], "field"), "description") << p0128.dump(2);
  EXPECT_EQ(Norm(Text(p0128["conflicts"][0], "resolved_value")), trusted) << p0128.dump(2);
  EXPECT_EQ(Int(up.Get("/conflicts?type=cause"), "total"), 0);

  // Diagnostic steps by step_order.
  for (const auto& [code, page] : kStepPages) {
    json detail = up.Get("/dtc/" + code);
    const json steps = detail.value("diagnostic_steps", json::array());
    const std::vector<std::string> items = StepItems(pages[page].text);
    ASSERT_EQ(steps.size(), items.size()) << detail.dump(2);
    for (size_t i = 0; i < items.size(); ++i) {
      const json& g = steps[i];
      EXPECT_EQ(Int(g, "step_order"), static_cast<int64_t>(i + 1)) << detail.dump(2);
      EXPECT_EQ(Norm(Text(g, "description")), Norm(items[i])) << detail.dump(2);
      std::set<std::string> tools, want_tools;
      for (const json& t : g.value("tools_required", json::array())) {
        tools.insert(t.is_string() ? t.get<std::string>() : t.dump());
      }
      for (const char* tool : kTools) {
        if (items[i].find(tool) != std::string::npos) want_tools.insert(tool);
      }
      EXPECT_EQ(tools, want_tools) << detail.dump(2);
      auto value = kStepValues.find({code, static_cast<int>(i + 1)});
      if (value != kStepValues.end()) {
        EXPECT_NE(g.value("expected_values", json()).dump().find(value->second), std::string::npos) << detail.dump(2);
      }
      EXPECT_NEAR(Number(g, "confidence_score"), Confidence({trust[page]}), kTolerance) << detail.dump(2);
    }
  }

  // Codes are upper-cased; unknown and malformed ones are the route's 404.
  json upper = up.Get("/dtc/P0420");
  EXPECT_EQ(up.Get("/dtc/p0420"), upper);
  EXPECT_TRUE(upper.value("conflicts", json::array()).empty()) << upper.dump(2);
  for (const std::string path : {"/dtc/P9999", "/dtc/P04201", "/dtc/hello"}) {
    long status = 0;
    json missing = up.Get(path, &status);
    const json error = missing.is_object() ? missing.value("error", json::object()) : json::object();
    EXPECT_EQ(status, 404) << path << "\n" << missing.dump(2);
    EXPECT_EQ(Text(error, "code"), "not_found") << path << "\n" << missing.dump(2);
    EXPECT_EQ(Text(error, "message").find("no route"), std::string::npos) << missing.dump(2);
  }

  // Filters and paging.
  std::set<std::string> powertrain, network;
  for (const auto& [code, e] : model.codes) (code[0] == 'P' ? powertrain : network).insert(code);
  EXPECT_EQ(Codes(up.Get("/dtc?category=powertrain")), powertrain);
  EXPECT_EQ(Codes(up.Get("/dtc?category=network")), network);
  EXPECT_EQ(Codes(up.Get("/dtc?category=chassis")), std::set<std::string>{});
  std::vector<std::pair<double, std::string>> ranked;
  for (const auto& [code, e] : model.codes) ranked.emplace_back(Confidence(e.trusts), code);
  std::sort(ranked.rbegin(), ranked.rend());
  size_t gap = 0;  // the widest gap between neighbours splits the codes
  for (size_t i = 1; i + 1 < ranked.size(); ++i) {
    if (ranked[i].first - ranked[i + 1].first > ranked[gap].first - ranked[gap + 1].first) gap = i;
  }
  ASSERT_GT(ranked[gap].first - ranked[gap + 1].first, 4 * kTolerance) << "confidences too close to split";
  const std::string threshold = std::to_string((ranked[gap].first + ranked[gap + 1].first) / 2);
  std::set<std::string> confident;
  for (size_t i = 0; i <= gap; ++i) confident.insert(ranked[i].second);
  json filtered = up.Get("/dtc?min_confidence=" + threshold);
  EXPECT_EQ(Codes(filtered), confident) << threshold << "\n" << filtered.dump(2);
  json all = up.Get("/dtc");
  json slice = up.Get("/dtc?limit=2&offset=1");
  ASSERT_TRUE(all.is_array() && all.size() >= 3) << all.dump(2);
  EXPECT_EQ(slice, json::array({all[1], all[2]})) << slice.dump(2);

  // The CLI.
  int code = -1;
  const std::string description = Text(upper, "description");
  ASSERT_FALSE(description.empty()) << upper.dump(2);
  std::string out = up.Cli({"dtc", "P0420"}, &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find(description), std::string::npos) << out;
  out = up.Cli({"dtc", "P0420", "--json"}, &code);
  EXPECT_EQ(code, 0) << out;
  // The same answer as the API's, field for field (both read the one store).
  EXPECT_EQ(json::parse(out, nullptr, false), upper) << out;

  // Deleting a source recounts what it was a source of: the Escape thread
  // (P0171, two shared causes and one of its own), then the Cruze thread
  // (the losing side of the P0128 conflict, which goes with it).
  for (size_t gone : {kEscape, kCruze}) {
    SCOPED_TRACE("after deleting " + pages[gone].title);
    json body;
    const std::string path = "/documents/" + std::to_string(ids[gone]);
    EXPECT_EQ(DeleteJson(up, path, &body), 200) << body.dump(2);
    EXPECT_EQ(body, json({{"status", "deleted"}, {"id", ids[gone]}}));
    long status = 0;
    up.Get(path, &status);
    EXPECT_EQ(status, 404);
    alive.erase(gone);
    ExpectKnowledge(up, Expect(trust, alive));
  }
  EXPECT_EQ(Int(up.Get("/conflicts?type=dtc"), "total"), 0);
  EXPECT_TRUE(up.Get("/dtc/P0128").value("conflicts", json::array()).empty());
}

}  // namespace refinery::testing::automotive_scenario
