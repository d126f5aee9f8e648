// Content types, charset detection and conversion to UTF-8 (crawl/charset.h).
#include "crawl/charset.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "core/utf8.h"

namespace refinery::crawl {
namespace {

std::string Convert(std::string_view body, std::string_view charset) {
  Result<std::string> text = ToUtf8(body, charset);
  return text.ok() ? *text : "ERROR: " + text.status().message();
}

TEST(ContentKindTest, HtmlTypes) {
  EXPECT_EQ(ClassifyContentType("text/html", "/"), ContentKind::kHtml);
  EXPECT_EQ(ClassifyContentType("TEXT/HTML; charset=UTF-8", "/"), ContentKind::kHtml);
  EXPECT_EQ(ClassifyContentType("  text/html ;charset=utf-8", "/"), ContentKind::kHtml);
  EXPECT_EQ(ClassifyContentType("application/xhtml+xml", "/a"), ContentKind::kHtml);
}

TEST(ContentKindTest, TextAndMarkdown) {
  EXPECT_EQ(ClassifyContentType("text/plain", "/notes.txt"), ContentKind::kText);
  EXPECT_EQ(ClassifyContentType("text/plain; charset=utf-8", "/README.md"), ContentKind::kMarkdown);
  EXPECT_EQ(ClassifyContentType("text/plain", "/doc/Guide.MARKDOWN"), ContentKind::kMarkdown);
  EXPECT_EQ(ClassifyContentType("text/plain", "/readme.md?raw=1"), ContentKind::kMarkdown);
  EXPECT_EQ(ClassifyContentType("text/plain", "/md"), ContentKind::kText);
  EXPECT_EQ(ClassifyContentType("text/markdown", "/x"), ContentKind::kMarkdown);
  EXPECT_EQ(ClassifyContentType("text/x-markdown; charset=utf-8", "/x"), ContentKind::kMarkdown);
  EXPECT_EQ(ClassifyContentType("text/markdown", "/page.html"), ContentKind::kMarkdown);
}

TEST(ContentKindTest, PdfAndOther) {
  EXPECT_EQ(ClassifyContentType("application/pdf", "/a.pdf"), ContentKind::kPdf);
  EXPECT_EQ(ClassifyContentType("Application/X-PDF", "/a"), ContentKind::kPdf);
  EXPECT_EQ(ClassifyContentType("image/png", "/a.png"), ContentKind::kOther);
  EXPECT_EQ(ClassifyContentType("application/json", "/a.md"), ContentKind::kOther);
  EXPECT_EQ(ClassifyContentType("text/csv", "/a"), ContentKind::kOther);
}

TEST(ContentKindTest, MissingTypeIsNotSniffed) {
  EXPECT_EQ(ClassifyContentType("", "/index.html"), ContentKind::kOther);
  EXPECT_EQ(ClassifyContentType("   ", "/README.md"), ContentKind::kOther);
  EXPECT_EQ(ClassifyContentType("html", "/"), ContentKind::kOther);
  EXPECT_EQ(ClassifyContentType("; charset=utf-8", "/"), ContentKind::kOther);
}

TEST(MediaTypeTest, LowerCaseTypeAndSubtype) {
  EXPECT_EQ(MediaType("Text/HTML; Charset=\"UTF-8\""), "text/html");
  EXPECT_EQ(MediaType("application/pdf"), "application/pdf");
  EXPECT_EQ(MediaType(""), "");
  EXPECT_EQ(MediaType("text"), "");
  EXPECT_EQ(MediaType("text/"), "");
  EXPECT_EQ(MediaType("/html"), "");
  EXPECT_EQ(MediaType("text / html"), "");
}

TEST(CharsetFromContentTypeTest, Parameters) {
  EXPECT_EQ(CharsetFromContentType("text/html; charset=UTF-8"), "utf-8");
  EXPECT_EQ(CharsetFromContentType("text/html;charset=\"ISO-8859-1\""), "iso-8859-1");
  EXPECT_EQ(CharsetFromContentType("text/html; charset='Shift_JIS'"), "shift_jis");
  EXPECT_EQ(CharsetFromContentType("text/html; CHARSET = windows-1252 "), "windows-1252");
  EXPECT_EQ(CharsetFromContentType("text/html; format=flowed; charset=koi8-r; x=y"), "koi8-r");
  EXPECT_EQ(CharsetFromContentType("text/html; title=\"a;charset=latin1\"; charset=utf-8"), "utf-8");
  EXPECT_EQ(CharsetFromContentType("text/html; charset=\"a\\\"b\""), "a\"b");
}

TEST(CharsetFromContentTypeTest, NoCharset) {
  EXPECT_EQ(CharsetFromContentType("text/html"), "");
  EXPECT_EQ(CharsetFromContentType(""), "");
  EXPECT_EQ(CharsetFromContentType("text/html; charset="), "");
  EXPECT_EQ(CharsetFromContentType("text/html; charset"), "");
  EXPECT_EQ(CharsetFromContentType("text/html; mycharset=utf-8"), "");
}

TEST(SniffHtmlCharsetTest, ByteOrderMarks) {
  EXPECT_EQ(SniffHtmlCharset("\xEF\xBB\xBF<meta charset=latin1>"), "utf-8");
  EXPECT_EQ(SniffHtmlCharset(std::string("\xFE\xFF\0<", 4)), "utf-16be");
  EXPECT_EQ(SniffHtmlCharset(std::string("\xFF\xFE<\0", 4)), "utf-16le");
}

TEST(SniffHtmlCharsetTest, MetaCharset) {
  EXPECT_EQ(SniffHtmlCharset("<html><head><meta charset=\"ISO-8859-1\"></head>"), "iso-8859-1");
  EXPECT_EQ(SniffHtmlCharset("<META CHARSET=Shift_JIS>"), "shift_jis");
  EXPECT_EQ(SniffHtmlCharset("<meta name=x charset='windows-1251'/>"), "windows-1251");
  EXPECT_EQ(SniffHtmlCharset("<meta\ncharset = utf-8 >"), "utf-8");
}

TEST(SniffHtmlCharsetTest, MetaHttpEquiv) {
  EXPECT_EQ(SniffHtmlCharset("<meta http-equiv=\"Content-Type\" content=\"text/html; charset=koi8-r\">"), "koi8-r");
  EXPECT_EQ(SniffHtmlCharset("<meta content='text/html; charset=\"EUC-JP\"' HTTP-EQUIV='content-type'>"), "euc-jp");
  EXPECT_EQ(SniffHtmlCharset("<meta content=\"text/html;charset=gbk\" http-equiv=Content-Type>"), "gbk");
  // Without the http-equiv pragma a content charset does not count.
  EXPECT_EQ(SniffHtmlCharset("<meta name=\"description\" content=\"charset=koi8-r\">"), "");
}

TEST(SniffHtmlCharsetTest, SkipsCommentsAndOtherTags) {
  EXPECT_EQ(SniffHtmlCharset("<!-- <meta charset=koi8-r> --><meta charset=utf-8>"), "utf-8");
  EXPECT_EQ(SniffHtmlCharset("<div title=\"<meta charset=koi8-r>\"></div><meta charset=latin1>"), "latin1");
  EXPECT_EQ(SniffHtmlCharset("<meta charset=bogus-charset><meta charset=latin2>"), "latin2");
}

TEST(SniffHtmlCharsetTest, Utf16InMetaMeansUtf8) { EXPECT_EQ(SniffHtmlCharset("<meta charset=utf-16le>"), "utf-8"); }

TEST(SniffHtmlCharsetTest, OnlyTheFirst1024Bytes) {
  std::string padded = "<html>" + std::string(1100, ' ') + "<meta charset=latin1>";
  EXPECT_EQ(SniffHtmlCharset(padded), "");
  EXPECT_EQ(SniffHtmlCharset("<html><body>no declaration</body></html>"), "");
  EXPECT_EQ(SniffHtmlCharset(""), "");
  EXPECT_EQ(SniffHtmlCharset("<meta charset=\"latin1"), "");  // cut off inside the value
}

TEST(ToUtf8Test, Latin1DecodesAsWindows1252) {
  EXPECT_EQ(Convert("caf\xe9 cr\xe8me", "ISO-8859-1"), "café crème");
  EXPECT_EQ(Convert("caf\xe9", "latin1"), "café");
  EXPECT_EQ(Convert("\x93quoted\x94 \x80", "iso-8859-1"), "“quoted” €");
}

TEST(ToUtf8Test, Windows1252) {
  EXPECT_EQ(Convert("\x93Hi\x94 costs \x80 5", "windows-1252"), "“Hi” costs € 5");
  EXPECT_EQ(Convert("\x93Hi\x94", "cp1252"), "“Hi”");
}

TEST(ToUtf8Test, ShiftJis) {
  EXPECT_EQ(Convert("\x93\xFA\x96\x7B\x8C\xEA", "Shift_JIS"), "日本語");
  EXPECT_EQ(Convert("\x93\xFA\x96\x7B\x8C\xEA", "sjis"), "日本語");
  EXPECT_EQ(Convert("a\\b~", "shift_jis"), "a\\b~");  // backslash stays (windows-31j)
}

TEST(ToUtf8Test, OtherLegacyCharsets) {
  EXPECT_EQ(Convert("\xC4\xE3\xBA\xC3", "gb2312"), "你好");
  EXPECT_EQ(Convert("\xC4\xE3\xBA\xC3", "GBK"), "你好");
  EXPECT_EQ(Convert("\xC7\xD1\xB1\xB9", "euc-kr"), "한국");
  EXPECT_EQ(Convert("\xD0\xD2\xC9\xD7\xC5\xD4", "koi8-r"), "привет");
}

TEST(ToUtf8Test, Utf16) {
  EXPECT_EQ(Convert(std::string("h\0i\0", 4), "utf-16le"), "hi");
  EXPECT_EQ(Convert(std::string("\0h\0i", 4), "utf-16be"), "hi");
  EXPECT_EQ(Convert(std::string("\xFF\xFEh\0", 4), "utf-16"), "h");         // BOM stripped
  EXPECT_EQ(Convert(std::string("\xFE\xFF\0h", 4), "utf-16"), "h");         // a BOM picks BE
  EXPECT_EQ(Convert(std::string("h\0i", 3), "utf-16le"), "h\xEF\xBF\xBD");  // odd byte at the end
}

TEST(ToUtf8Test, Utf8IsValidated) {
  EXPECT_EQ(Convert("plain ascii", ""), "plain ascii");
  EXPECT_EQ(Convert("caf\xC3\xA9", "utf-8"), "café");
  EXPECT_EQ(Convert("\xEF\xBB\xBFstart", "UTF8"), "start");  // BOM stripped
  EXPECT_EQ(Convert("a\xFF"
                    "b",
                    "utf-8"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(Convert("a\xC3", "utf-8"), "a\xEF\xBF\xBD");                                           // truncated
  EXPECT_EQ(Convert("\xC0\xAF", "utf-8"), "\xEF\xBF\xBD\xEF\xBF\xBD");                             // overlong
  EXPECT_EQ(Convert("\xED\xA0\x80", ""), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");                  // surrogate
  EXPECT_EQ(Convert("\xF4\x90\x80\x80", ""), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // > U+10FFFF
  EXPECT_EQ(Convert("\xE2\x82"
                    "x",
                    "utf-8"),
            "\xEF\xBF\xBDx");  // one U+FFFD per maximal subpart
  EXPECT_EQ(Convert("\xF0\x9F\x98\x80", "utf-8"), "\xF0\x9F\x98\x80");
}

TEST(ToUtf8Test, AsciiLabels) {
  EXPECT_EQ(Convert("plain", "us-ascii"), "plain");
  EXPECT_EQ(Convert("caf\xC3\xA9", "us-ascii"), "café");  // mislabelled UTF-8 kept
  EXPECT_EQ(Convert("caf\xE9", "ascii"), "café");         // else read as windows-1252
}

TEST(ToUtf8Test, InvalidBytesInLegacyCharsetsAreReplaced) {
  EXPECT_EQ(Convert("a\xFFz", "shift_jis"), "a\xEF\xBF\xBDz");
  EXPECT_EQ(Convert("a\x81 z", "shift_jis"), "a\xEF\xBF\xBD z");      // a bad trail byte is kept
  EXPECT_EQ(Convert("\x93\xFA\x93", "shift_jis"), "日\xEF\xBF\xBD");  // truncated at the end
  EXPECT_EQ(Convert("\x82\xA0\x82", "shift_jis"), "あ\xEF\xBF\xBD");
}

TEST(ToUtf8Test, UnknownCharset) {
  EXPECT_EQ(Convert("x", "klingon-8"), "ERROR: unknown charset 'klingon-8'");
  Result<std::string> bad = ToUtf8("x", "x-user-defined");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Convert("x", "utf\n8\x01"), "ERROR: unknown charset 'utf?8?'");
}

TEST(ToUtf8Test, SizeCap) {
  std::string big((size_t{64} << 20) + 1, 'a');
  Result<std::string> text = ToUtf8(big, "utf-8");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), StatusCode::kInvalidArgument);
}

TEST(RepairUtf8Test, RandomBytesComeOutValid) {
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string bytes(rng() % 64, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() % 256);
    std::string repaired = RepairUtf8(bytes);
    ASSERT_TRUE(IsValidUtf8(repaired));
    if (IsValidUtf8(bytes)) {
      EXPECT_EQ(repaired, bytes);
    }
    for (const char* charset : {"shift_jis", "gb18030", "utf-16le", "iso-2022-jp", "big5", "euc-kr"}) {
      Result<std::string> text = ToUtf8(bytes, charset);
      ASSERT_TRUE(text.ok()) << charset;
      ASSERT_TRUE(IsValidUtf8(*text)) << charset;
    }
  }
}

TEST(DecodePageTextTest, HeaderCharset) {
  std::string used;
  EXPECT_EQ(DecodePageText("caf\xe9", "text/html; charset=iso-8859-1", true, &used), "café");
  EXPECT_EQ(used, "windows-1252");
}

TEST(DecodePageTextTest, MetaCharsetWhenNoHeader) {
  std::string used;
  std::string body = "<meta charset=shift_jis><p>\x93\xFA\x96\x7B\x8C\xEA</p>";
  EXPECT_EQ(DecodePageText(body, "text/html", true, &used), "<meta charset=shift_jis><p>日本語</p>");
  EXPECT_EQ(used, "shift_jis");
  // Not HTML: no prescan, UTF-8 with replacement.
  EXPECT_EQ(DecodePageText("<meta charset=latin1>caf\xe9", "text/plain", false, &used),
            "<meta charset=latin1>caf\xEF\xBF\xBD");
  EXPECT_EQ(used, "utf-8");
}

TEST(DecodePageTextTest, BomWinsOverHeader) {
  std::string used;
  EXPECT_EQ(DecodePageText("\xEF\xBB\xBF"
                           "caf\xC3\xA9",
                           "text/html; charset=latin1", true, &used),
            "café");
  EXPECT_EQ(used, "utf-8");
}

TEST(DecodePageTextTest, UnknownCharsetFallsBack) {
  std::string used;
  EXPECT_EQ(DecodePageText("caf\xC3\xA9 \xFF", "text/html; charset=bogus", true, &used), "café \xEF\xBF\xBD");
  EXPECT_EQ(used, "utf-8");
  // An unknown header label leaves the <meta> prescan to decide.
  EXPECT_EQ(DecodePageText("<meta charset=latin1>\xe9", "text/html; charset=bogus", true, nullptr),
            "<meta charset=latin1>é");
  EXPECT_EQ(DecodePageText("", "", true, &used), "");
}

}  // namespace
}  // namespace refinery::crawl
