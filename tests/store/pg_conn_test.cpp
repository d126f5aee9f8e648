// libpq layer without a server: connect settings and error classification.
#include <gtest/gtest.h>

#include <map>

#include "store/pg_conn.h"

namespace refinery::pg {
namespace {

std::map<std::string, std::string> AsMap(const ConnectSettings& s) { return {s.params.begin(), s.params.end()}; }

TEST(PgConnectSettingsTest, AddsKeepaliveAndTimeoutDefaults) {
  auto s = BuildConnectSettings("postgresql://u@127.0.0.1:5/db", 5.0);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto p = AsMap(*s);
  EXPECT_EQ(p["connect_timeout"], "10");
  EXPECT_EQ(p["keepalives"], "1");
  EXPECT_EQ(p["keepalives_idle"], "30");
  EXPECT_EQ(p["keepalives_interval"], "10");
  EXPECT_EQ(p["keepalives_count"], "5");
  EXPECT_EQ(p["options"], "-c statement_timeout=5000");
  EXPECT_EQ(p["host"], "127.0.0.1");
  EXPECT_EQ(p["dbname"], "db");
  EXPECT_DOUBLE_EQ(s->connect_timeout_s, 10);
}

TEST(PgConnectSettingsTest, UrlSettingsWin) {
  auto s = BuildConnectSettings(
      "postgres://u@h/db?connect_timeout=3&keepalives_idle=7&keepalives=0"
      "&options=-c%20statement_timeout%3D250",
      5.0);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto p = AsMap(*s);
  EXPECT_EQ(p["connect_timeout"], "3");
  EXPECT_EQ(p["keepalives_idle"], "7");
  EXPECT_EQ(p["keepalives"], "0");
  EXPECT_EQ(p["keepalives_count"], "5");  // not in the URL: the default
  EXPECT_EQ(p["options"], "-c statement_timeout=250");
  EXPECT_DOUBLE_EQ(s->connect_timeout_s, 3);
}

TEST(PgConnectSettingsTest, OtherOptionsKeepTheirValueAndGainTheTimeout) {
  auto s = BuildConnectSettings("postgresql://h/db?options=-c%20work_mem%3D8MB", 1.5);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(AsMap(*s)["options"], "-c work_mem=8MB -c statement_timeout=1500");
}

TEST(PgConnectSettingsTest, UnparsableUrlIsInvalidArgumentNamingTheSetting) {
  auto s = BuildConnectSettings("postgresql://h/db?nonsense_key=1", 5.0);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("DATABASE_URL"), std::string::npos);
}

TEST(PgErrorTest, ConnectionErrorsAreRecognised) {
  EXPECT_TRUE(IsConnectionError("08006", false, ""));
  EXPECT_TRUE(IsConnectionError("08001", false, ""));
  EXPECT_TRUE(IsConnectionError("57P01", false, "terminating connection due to administrator"));
  EXPECT_TRUE(IsConnectionError("57P02", false, ""));
  EXPECT_TRUE(IsConnectionError("57P03", false, ""));
  EXPECT_TRUE(IsConnectionError("", true, ""));
  EXPECT_TRUE(IsConnectionError("", false, "server closed the connection unexpectedly"));
}

TEST(PgErrorTest, StatementErrorsAreNot) {
  EXPECT_FALSE(IsConnectionError("23505", false, "duplicate key"));
  EXPECT_FALSE(IsConnectionError("42601", false, "syntax error"));
  EXPECT_FALSE(IsConnectionError("57014", false, "canceling statement due to statement timeout"));
  // The server answered with a SQLSTATE: the session is alive whatever PQstatus says.
  EXPECT_FALSE(IsConnectionError("23505", true, ""));
  EXPECT_EQ(StatementErrorStatus("23505", "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(StatementErrorStatus("22P02", "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(StatementErrorStatus("57014", "x").code(), StatusCode::kTimeout);
  EXPECT_EQ(StatementErrorStatus("40001", "x").code(), StatusCode::kUnavailable);
  EXPECT_EQ(StatementErrorStatus("42601", "x").code(), StatusCode::kInternal);
}

TEST(PgParamsTest, DoublesRoundTripExactlyAndEmbeddingsAreBinary) {
  Params p(0.1, int64_t{-7}, std::vector<float>{1.0f}, std::vector<float>{}, nullptr);
  ASSERT_EQ(p.size(), 5);
  auto values = p.Values();
  EXPECT_EQ(std::stod(values[0]), 0.1);
  EXPECT_STREQ(values[1], "-7");
  EXPECT_EQ(p.Formats()[2], 1);
  EXPECT_EQ(p.Lengths()[2], 4);
  EXPECT_EQ(values[3], nullptr);  // empty embedding: NULL
  EXPECT_EQ(values[4], nullptr);
}

}  // namespace
}  // namespace refinery::pg
