#include "text/chunker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/utf8.h"
#include "text/sentences.h"

namespace refinery {
namespace {

bool IsSpace(char c) { return ingest::IsSpaceByte(static_cast<unsigned char>(c)); }

bool IsSingleCodePoint(std::string_view s) {
  size_t next = 1;
  while (next < s.size() && !IsCodePointBoundary(s, next)) ++next;
  return next == s.size();
}

// Every guarantee of chunker.h, plus the target and overlap limits.
void ExpectInvariants(std::string_view text, const std::vector<TextChunk>& chunks, const ChunkerOptions& options) {
  std::vector<bool> covered(text.size(), false);
  for (size_t i = 0; i < chunks.size(); ++i) {
    const TextChunk& c = chunks[i];
    SCOPED_TRACE("chunk " + std::to_string(i));
    ASSERT_GE(c.start, 0);
    ASSERT_LT(c.start, c.end);
    ASSERT_LE(c.end, static_cast<int64_t>(text.size()));
    size_t start = static_cast<size_t>(c.start), end = static_cast<size_t>(c.end);
    ASSERT_EQ(c.content, text.substr(start, end - start));
    EXPECT_FALSE(IsSpace(c.content.front()));
    EXPECT_FALSE(IsSpace(c.content.back()));
    EXPECT_TRUE(IsCodePointBoundary(text, start));
    EXPECT_TRUE(IsCodePointBoundary(text, end));
    if (c.content.size() > static_cast<size_t>(options.target_chars)) {
      EXPECT_TRUE(IsSingleCodePoint(c.content)) << "only one code point may exceed the target";
    }
    EXPECT_EQ(c.token_count, CountTokens(c.content));
    if (i > 0) {
      EXPECT_GT(c.start, chunks[i - 1].start);
      EXPECT_GT(c.end, chunks[i - 1].end) << "a chunk must add new text";
      int64_t shared = std::max<int64_t>(0, chunks[i - 1].end - c.start);
      EXPECT_LE(shared, options.overlap_chars);
    }
    std::fill(covered.begin() + c.start, covered.begin() + c.end, true);
  }
  for (size_t i = 0; i < text.size(); ++i) {
    if (!IsSpace(text[i]) && !covered[i]) {
      ADD_FAILURE() << "byte " << i << " not covered";
      return;
    }
  }
}

std::vector<TextChunk> ChunkChecked(std::string_view text, ChunkerOptions options) {
  std::vector<TextChunk> chunks = ChunkText(text, options);
  ExpectInvariants(text, chunks, options);
  return chunks;
}

// Random prose with abbreviations, decimals, quotes and paragraph breaks.
std::string SyntheticText(unsigned seed, int sentences) {
  std::mt19937 rng(seed);
  const std::vector<std::string> words = {"cells",     "protein", "e.g.",       "Fig.",         "3.5",      "analysis",
                                          "et al.",    "i.e.",    "\"quoted\"", "expression",   "(n = 12)", "levels",
                                          "increased", "mice",    "x",          "significantly"};
  const std::vector<std::string> starts = {"The", "We", "In", "Results", "Treatment", "12"};
  const std::vector<std::string> ends = {".", "!", "?", ".\"", ")."};
  const std::vector<std::string> gaps = {" ", "  ", "\n", "\n\n", "\n  \n", " \t"};
  std::string text;
  for (int s = 0; s < sentences; ++s) {
    text += starts[rng() % starts.size()];
    int n = 3 + static_cast<int>(rng() % 25);
    for (int w = 0; w < n; ++w) text += " " + words[rng() % words.size()];
    text += ends[rng() % ends.size()];
    text += gaps[rng() % 20 < 14 ? 0 : rng() % gaps.size()];
  }
  return text;
}

std::vector<std::string> LoadSciFactAbstracts(size_t limit) {
  std::ifstream in(std::string(REFINERY_SCIFACT_DIR) + "/corpus.jsonl");
  std::vector<std::string> texts;
  std::string line;
  while (texts.size() < limit && std::getline(in, line)) {
    texts.push_back(nlohmann::json::parse(line).at("text").get<std::string>());
  }
  return texts;
}

TEST(ChunkerTest, EmptyAndWhitespaceOnlyGiveNoChunks) {
  EXPECT_TRUE(ChunkText("", {}).empty());
  EXPECT_TRUE(ChunkText(" \n\t\r\n  \f\v ", {}).empty());
}

TEST(ChunkerTest, SmallTextIsOneTrimmedChunk) {
  std::string text = "\n  Hello world. This is short!  \n";
  auto chunks = ChunkChecked(text, {});
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].start, 3);
  EXPECT_EQ(chunks[0].content, "Hello world. This is short!");
  EXPECT_EQ(chunks[0].token_count, 7);
}

TEST(ChunkerTest, SyntheticOffsetsMapBack) {
  const std::vector<ChunkerOptions> option_sets = {{1000, 150}, {200, 0}, {200, 60}, {80, 40},
                                                   {50, 200},   {1, 0},   {7, 3}};
  for (unsigned seed = 1; seed <= 20; ++seed) {
    std::string text = SyntheticText(seed, 120);
    for (const ChunkerOptions& options : option_sets) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " target " + std::to_string(options.target_chars));
      ChunkChecked(text, options);
    }
  }
}

TEST(ChunkerTest, SciFactOffsetsMapBack) {
  auto abstracts = LoadSciFactAbstracts(200);
  ASSERT_EQ(abstracts.size(), 200u) << "SciFact corpus not found under " << REFINERY_SCIFACT_DIR;
  size_t chunks_seen = 0;
  for (const ChunkerOptions& options : {ChunkerOptions{}, ChunkerOptions{300, 80}}) {
    for (const std::string& text : abstracts) {
      auto chunks = ChunkChecked(text, options);
      ASSERT_FALSE(chunks.empty());
      chunks_seen += chunks.size();
    }
  }
  EXPECT_GT(chunks_seen, 400u);
}

// Random soups of the tricky pieces, with random options: the guarantees
// must hold for every text, not just for prose.
TEST(ChunkerTest, RandomTextsKeepAllGuarantees) {
  const std::vector<std::string> pieces = {" ",    "  ",  "\n", "\n\n", "\t",     ".", "!",    "?",
                                           "\"",   ")",   "a",  "Bc",   "word",   "é", "漢字", "😀",
                                           "e.g.", "3.5", "。", "Fig.", "\u201D", "J."};
  std::mt19937 rng(2024);
  for (int round = 0; round < 300; ++round) {
    std::string text;
    int n = static_cast<int>(rng() % 400);
    for (int i = 0; i < n; ++i) text += pieces[rng() % pieces.size()];
    ChunkerOptions options{1 + static_cast<int>(rng() % 120), static_cast<int>(rng() % 80)};
    SCOPED_TRACE("round " + std::to_string(round));
    ChunkChecked(text, options);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(ChunkerTest, Utf8MultiByteTextIsNeverCut) {
  std::string text;
  for (int i = 0; i < 60; ++i) {
    text += "Grüße aus Köln 😀🎉, naïve café Ωμέγα. Ünïcödé “quotes” here 🧬. ";
  }
  for (int target : {1, 2, 3, 5, 17, 64, 200}) {
    for (const auto& chunk : ChunkChecked(text, {target, target / 2})) {
      EXPECT_TRUE(IsValidUtf8(chunk.content)) << chunk.content;
    }
  }
}

TEST(ChunkerTest, CjkWithoutSpacesIsCutAtCodePoints) {
  std::string text;
  for (int i = 0; i < 400; ++i) text += "漢字仮名交じり文";  // 3-byte code points, no spaces
  for (int target : {10, 100, 1000}) {
    auto chunks = ChunkChecked(text, {target, 0});
    ASSERT_GT(chunks.size(), 1u);
    for (const auto& chunk : chunks) EXPECT_TRUE(IsValidUtf8(chunk.content));
  }
}

TEST(ChunkerTest, CjkFullStopsEndSentences) {
  std::string text = "今日は晴れです。明日は雨です。";
  std::vector<ingest::TextSpan> sentences;
  ingest::SplitSentences(text, {0, text.size()}, sentences);
  ASSERT_EQ(sentences.size(), 2u);
  EXPECT_EQ(text.substr(sentences[1].start), "明日は雨です。");
}

TEST(ChunkerTest, HugeWordIsCut) {
  std::string ascii(5000, 'a');
  auto chunks = ChunkChecked("Start. " + ascii + " end.", {1000, 150});
  EXPECT_GE(chunks.size(), 5u);
  std::string emoji;
  for (int i = 0; i < 1250; ++i) emoji += "😀";  // one 5,000-byte word of 4-byte code points
  for (const auto& chunk : ChunkChecked(emoji, {1000, 150})) {
    EXPECT_TRUE(IsValidUtf8(chunk.content));
    EXPECT_EQ(chunk.content.size() % 4, 0u);
  }
}

TEST(ChunkerTest, LongSentenceIsCutAtWhitespace) {
  std::string sentence;
  for (int i = 0; i < 300; ++i) sentence += "word" + std::to_string(i) + " ";
  auto chunks = ChunkChecked(sentence, {100, 0});
  ASSERT_GT(chunks.size(), 1u);
  for (size_t i = 0; i + 1 < chunks.size(); ++i) {
    EXPECT_TRUE(IsSpace(sentence[static_cast<size_t>(chunks[i].end)])) << "cut inside a word";
  }
}

TEST(ChunkerTest, OverlapRepeatsTrailingSentences) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += "Sentence number " + std::to_string(i) + " is here. ";
  auto chunks = ChunkChecked(text, {200, 100});
  ASSERT_GT(chunks.size(), 3u);
  for (size_t i = 1; i < chunks.size(); ++i) {
    int64_t shared = chunks[i - 1].end - chunks[i].start;
    EXPECT_GT(shared, 0) << "sentences of ~30 bytes always fit a 100-byte overlap";
    EXPECT_TRUE(chunks[i].content.starts_with("Sentence number")) << chunks[i].content;
  }
  for (const auto& chunk : ChunkText(text, {200, 0})) {
    EXPECT_TRUE(chunk.content.starts_with("Sentence number"));
  }
  auto no_overlap = ChunkChecked(text, {200, 0});
  for (size_t i = 1; i < no_overlap.size(); ++i) EXPECT_GE(no_overlap[i].start, no_overlap[i - 1].end);
}

TEST(ChunkerTest, OverlapLargerThanTargetStillProgresses) {
  std::string text = SyntheticText(7, 200);
  auto chunks = ChunkChecked(text, {120, 10000});
  EXPECT_GT(chunks.size(), 10u);
}

TEST(ChunkerTest, PrefersParagraphEnds) {
  std::string para1, para2;
  for (int i = 0; i < 20; ++i) para1 += "First paragraph sentence " + std::to_string(i) + ". ";
  for (int i = 0; i < 20; ++i) para2 += "Second paragraph sentence " + std::to_string(i) + ". ";
  std::string text = para1 + "\n\n" + para2;
  ASSERT_LT(para1.size(), 1000u);
  ASSERT_GT(para1.size(), 500u);
  auto chunks = ChunkChecked(text, {1000, 0});
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].content.back(), '.');
  EXPECT_TRUE(chunks[1].content.starts_with("Second paragraph sentence 0."));
}

TEST(ChunkerTest, Deterministic) {
  std::string text = SyntheticText(3, 300);
  auto a = ChunkText(text, {250, 70});
  auto b = ChunkText(text, {250, 70});
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].start, b[i].start);
    EXPECT_EQ(a[i].end, b[i].end);
    EXPECT_EQ(a[i].content, b[i].content);
  }
}

std::vector<std::string> Sentences(std::string_view text) {
  std::vector<ingest::TextSpan> spans;
  for (auto paragraph : ingest::SplitParagraphs(text)) ingest::SplitSentences(text, paragraph, spans);
  std::vector<std::string> out;
  for (auto s : spans) out.emplace_back(text.substr(s.start, s.end - s.start));
  return out;
}

TEST(ChunkerTest, AbbreviationsAndDecimalsDoNotSplit) {
  auto s = Sentences(
      "Cells were stained (e.g. DAPI). Fig. 3 shows a 3.5 fold rise, i.e. Twice the base. "
      "Smith et al. Reported it vs. Controls in Dr. J. Doe's lab. Next one! Is it? \"Yes.\" Done.");
  ASSERT_EQ(s.size(), 7u) << ::testing::PrintToString(s);
  EXPECT_EQ(s[0], "Cells were stained (e.g. DAPI).");
  EXPECT_EQ(s[1], "Fig. 3 shows a 3.5 fold rise, i.e. Twice the base.");
  EXPECT_EQ(s[2], "Smith et al. Reported it vs. Controls in Dr. J. Doe's lab.");
  EXPECT_EQ(s[3], "Next one!");
  EXPECT_EQ(s[4], "Is it?");
  EXPECT_EQ(s[5], "\"Yes.\"");
  EXPECT_EQ(s[6], "Done.");
}

TEST(ChunkerTest, SentenceNeedsCapitalOrNewline) {
  auto s = Sentences("Levels rose. then fell.\nlower case after a newline. Next.\n\nNew paragraph");
  ASSERT_EQ(s.size(), 4u) << ::testing::PrintToString(s);
  EXPECT_EQ(s[0], "Levels rose. then fell.");
  EXPECT_EQ(s[1], "lower case after a newline.");
  EXPECT_EQ(s[3], "New paragraph");
}

TEST(ChunkerTest, BlankLinesSeparateParagraphs) {
  std::string text = "One\nstill one\n \t\r\nTwo\r\n\r\nThree";
  auto paragraphs = ingest::SplitParagraphs(text);
  ASSERT_EQ(paragraphs.size(), 3u);
  EXPECT_EQ(text.substr(paragraphs[0].start, paragraphs[0].end - paragraphs[0].start), "One\nstill one");
  EXPECT_EQ(text.substr(paragraphs[2].start), "Three");
}

TEST(ChunkerTest, CountTokens) {
  EXPECT_EQ(CountTokens(""), 0);
  EXPECT_EQ(CountTokens("   \n\t"), 0);
  EXPECT_EQ(CountTokens("hello world"), 2);
  EXPECT_EQ(CountTokens("Hello, world!"), 4);
  EXPECT_EQ(CountTokens("e.g. 3.5"), 7);
  EXPECT_EQ(CountTokens("IL-6 levels"), 4);
  EXPECT_EQ(CountTokens("naïve café Ωμέγα"), 3);
  EXPECT_EQ(CountTokens("漢字"), 2);
  EXPECT_EQ(CountTokens("😀😀 ok"), 3);
  EXPECT_EQ(CountTokens("a\u00A0b"), 2);
  EXPECT_EQ(CountTokens("\xFF\xFE"), 2);  // invalid bytes count, never stall
}

TEST(ChunkerTest, ChunksTheWholeSciFactCorpusQuickly) {
  auto abstracts = LoadSciFactAbstracts(100000);
  ASSERT_GT(abstracts.size(), 5000u);
  auto begin = std::chrono::steady_clock::now();
  size_t chunks = 0, bytes = 0;
  for (const std::string& text : abstracts) {
    chunks += ChunkText(text, {}).size();
    bytes += text.size();
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  std::printf("chunked %zu abstracts (%.1f MB) into %zu chunks in %.3f s\n", abstracts.size(),
              static_cast<double>(bytes) / 1e6, chunks, seconds);
  EXPECT_LT(seconds, 10.0) << "only a gross regression fails here (sanitizer builds are slow)";
}

}  // namespace
}  // namespace refinery
