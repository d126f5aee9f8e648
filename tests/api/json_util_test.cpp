// The API's parsing and mapping helpers.
#include "api/json_util.h"

#include <gtest/gtest.h>

namespace refinery::api {
namespace {

TEST(JsonUtilTest, MapsEveryStatusCode) {
  EXPECT_EQ(MapStatus(Status::InvalidArgument("x")).status, 400);
  EXPECT_EQ(MapStatus(Status::NotFound("x")).status, 404);
  EXPECT_EQ(MapStatus(Status::Conflict("x")).status, 409);
  EXPECT_EQ(MapStatus(Status::Unavailable("x")).status, 503);
  EXPECT_EQ(MapStatus(Status::Unavailable("x")).code, "unavailable");
  EXPECT_EQ(MapStatus(Status::Timeout("x")).status, 503);
  EXPECT_EQ(MapStatus(Status::Timeout("x")).code, "unavailable");
  EXPECT_EQ(MapStatus(Status::Internal("x")).status, 500);
  EXPECT_EQ(MapStatus(Status::LeaseLost("x")).status, 500);
  EXPECT_EQ(MapStatus(Status::NotFound("x")).code, "not_found");
}

TEST(JsonUtilTest, ParsesIds) {
  EXPECT_EQ(*ParseId("1"), 1);
  EXPECT_EQ(*ParseId("9223372036854775807"), 9223372036854775807);
  for (const char* bad : {"", "0", "-1", "+1", "1.0", "abc", "1a", " 1", "9223372036854775808"}) {
    EXPECT_FALSE(ParseId(bad).ok()) << bad;
  }
}

TEST(JsonUtilTest, FieldReadersRejectWrongTypesNamingTheField) {
  json body = {{"s", "text"}, {"n", 2.5}, {"i", 7}, {"b", true}, {"nul", nullptr}, {"blank", " "}};
  EXPECT_EQ(**OptionalString(body, "s"), "text");
  EXPECT_FALSE(OptionalString(body, "missing")->has_value());
  EXPECT_FALSE(OptionalString(body, "nul")->has_value());
  EXPECT_EQ(OptionalString(body, "i").status().message(), "i must be a string");
  EXPECT_EQ(**OptionalNumber(body, "n"), 2.5);
  EXPECT_EQ(**OptionalNumber(body, "i"), 7.0);
  EXPECT_FALSE(OptionalNumber(body, "b").ok());
  EXPECT_EQ(**OptionalInteger(body, "i"), 7);
  EXPECT_FALSE(OptionalInteger(body, "n").ok());
  EXPECT_FALSE(OptionalInteger(json{{"u", 18446744073709551615u}}, "u").ok());
  EXPECT_EQ(*RequiredText(body, "s"), "text");
  EXPECT_EQ(RequiredText(body, "missing").status().message(), "missing is required");
  EXPECT_EQ(RequiredText(body, "blank").status().message(), "blank must not be empty");
}

TEST(JsonUtilTest, ParseObjectNeedsAnObject) {
  EXPECT_TRUE(ParseObject("{}").ok());
  EXPECT_FALSE(ParseObject("").ok());
  EXPECT_FALSE(ParseObject("[]").ok());
  EXPECT_FALSE(ParseObject("{\"a\":").ok());
  EXPECT_FALSE(ParseObject("{\"a\":\"\xff\"}").ok());  // not UTF-8
}

TEST(JsonUtilTest, FormatsIsoTimesInUtc) {
  EXPECT_EQ(IsoTime(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(IsoTime(1714564800.25), "2024-05-01T12:00:00.250Z");
  EXPECT_EQ(IsoTime(-5), "1970-01-01T00:00:00.000Z");
}

TEST(JsonUtilTest, DumpReplacesInvalidUtf8) { EXPECT_EQ(Dump(json("a\xff")), "\"a\xEF\xBF\xBD\""); }

TEST(JsonUtilTest, DocumentJsonShape) {
  Document doc;
  doc.id = 3;
  doc.title = "T";
  doc.state = "complete";
  doc.metadata_json = R"({"k":[1]})";
  doc.created_at = 0;
  json body = DocumentJson(doc);
  EXPECT_EQ(body["id"], 3);
  EXPECT_TRUE(body["error_message"].is_null());
  EXPECT_TRUE(body["error_stage"].is_null());
  EXPECT_EQ(body["metadata"], json({{"k", {1}}}));
  doc.metadata_json = "not json";
  EXPECT_TRUE(DocumentJson(doc)["metadata"].is_null());
}

}  // namespace
}  // namespace refinery::api
