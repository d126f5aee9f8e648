// The fixture and checks the API's integration tests share: a real server
// on an ephemeral port over real embedded backends in a temp dir; the
// pipeline runs in-process (Worker::ProcessJob) where a test needs chunks.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "api_test_util.h"
#include "pipeline/documents.h"
#include "pipeline/services.h"
#include "pipeline/stage_chain.h"
#include "pipeline/worker.h"

namespace refinery {

using nlohmann::json;
using testing::ApiReply;

class ApiFixture : public ::testing::Test {
 protected:
  // `adjust` changes the test configuration before the services open (a profile).
  explicit ApiFixture(const std::function<void(Config&)>& adjust = {})
      : services_(testing::OpenTestServices(Adjusted(testing::TestConfig(dir_), adjust))),
        server_(std::make_unique<testing::RunningServer>(services_)) {}

  static Config Adjusted(Config config, const std::function<void(Config&)>& adjust) {
    if (adjust) adjust(config);
    return config;
  }

  testing::ApiReply Call(const std::string& method, const std::string& path, const std::string& body = "") {
    return server_->Call(method, path, body);
  }
  testing::ApiReply Post(const std::string& path, const json& body) { return server_->Post(path, body); }

  int64_t Ingest(const std::string& title, const std::string& content) {
    testing::ApiReply reply = Post("/ingest", {{"title", title}, {"content", content}});
    EXPECT_EQ(reply.status, 201) << reply.raw;
    return reply.body.value("id", int64_t{0});
  }

  // Leases and processes every queued job of every stage until none is left.
  void RunPipeline() {
    for (bool progressed = true; progressed;) {
      progressed = false;
      for (const StageDef& stage : StageChain()) {
        Worker worker(services_, stage);
        for (;;) {
          auto job = services_.queue->Lease(stage.name, 30, std::chrono::milliseconds(0));
          ASSERT_TRUE(job.ok()) << job.status().ToString();
          if (!job->has_value()) break;
          worker.ProcessJob(**job);
          progressed = true;
        }
      }
    }
  }

  testing::TempDir dir_;
  Services services_;
  std::unique_ptr<testing::RunningServer> server_;
};

// Checks the one error shape; returns the message for further checks.
inline std::string ExpectError(const ApiReply& reply, long status, const std::string& code) {
  EXPECT_EQ(reply.status, status) << reply.raw;
  EXPECT_EQ(reply.headers.count("content-type") ? reply.headers.at("content-type") : "", "application/json");
  EXPECT_TRUE(reply.body.is_object()) << reply.raw;
  if (!reply.body.is_object() || !reply.body.contains("error")) return "";
  const json& error = reply.body["error"];
  EXPECT_EQ(error.value("code", ""), code) << reply.raw;
  EXPECT_TRUE(error["message"].is_string() && !error["message"].get<std::string>().empty());
  return error.value("message", "");
}

// "2024-05-01T12:00:00.250Z" (checked by hand: std::regex trips GCC 12's
// -Wmaybe-uninitialized in the sanitizer build).
inline bool IsIsoUtc(const json& value) {
  if (!value.is_string()) return false;
  const std::string text = value.get<std::string>();
  const std::string shape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (text.size() != shape.size()) return false;
  for (size_t i = 0; i < shape.size(); ++i) {
    bool ok = shape[i] == 'd' ? (text[i] >= '0' && text[i] <= '9') : text[i] == shape[i];
    if (!ok) return false;
  }
  return true;
}

}  // namespace refinery
