// FakeLlmServer's public settings and counters, and the FakeModel and
// Fault shorthands: all a lock on the shared state and a field.
#include <algorithm>
#include <utility>

#include "support/fake_llm_internal.h"
#include "support/fake_llm_server.h"

namespace refinery::testing {

using fake_llm::State;

FakeModel FakeModel::Embedding(std::string name, int dimension) {
  FakeModel model;
  model.name = std::move(name);
  model.dimension = dimension;
  model.can_chat = false;
  return model;
}

FakeModel FakeModel::Chat(std::string name, bool can_think) {
  FakeModel model;
  model.name = std::move(name);
  model.can_think = can_think;
  return model;
}

Fault Fault::Delay(std::chrono::milliseconds delay, int times) {
  Fault fault;
  fault.delay = delay;
  fault.times = times;
  return fault;
}

Fault Fault::Status(int status, std::string body, int times) {
  Fault fault;
  fault.status = status;
  fault.body = std::move(body);
  fault.times = times;
  return fault;
}

Fault Fault::RateLimited(int retry_after_s, int times) {
  Fault fault = Status(429, "", times);
  fault.retry_after_s = retry_after_s;
  return fault;
}

Fault Fault::ResetMidAnswer(int times) {
  Fault fault;
  fault.reset_mid_answer = true;
  fault.times = times;
  return fault;
}

void FakeLlmServer::AddModel(FakeModel model) { fake_llm::PutModel(impl_->state, std::move(model)); }

void FakeLlmServer::RemoveModel(const std::string& name) { fake_llm::DropModel(impl_->state, name); }

bool FakeLlmServer::HasModel(const std::string& name) const {
  return fake_llm::FindModel(impl_->state, name, LlmApi::kOllama).has_value();
}

void FakeLlmServer::AddPullableModel(FakeModel model) {
  std::lock_guard lock(impl_->state.mu);
  impl_->state.pullable.push_back(std::move(model));
}

std::vector<std::string> FakeLlmServer::LoadedModels() const {
  std::lock_guard lock(impl_->state.mu);
  std::vector<std::string> names;
  auto now = fake_llm::SystemClock::now();
  for (const auto& [name, expires] : impl_->state.loaded) {
    if (expires > now) names.push_back(name);
  }
  return names;
}

void FakeLlmServer::SetEmbedEndpoint(bool present) {
  std::lock_guard lock(impl_->state.mu);
  impl_->state.embed_endpoint = present;
}

void FakeLlmServer::SetJsonSchemaSupported(bool supported) {
  std::lock_guard lock(impl_->state.mu);
  impl_->state.json_schema = supported;
}

void FakeLlmServer::SetJsonObjectSupported(bool supported) {
  std::lock_guard lock(impl_->state.mu);
  impl_->state.json_object = supported;
}

void FakeLlmServer::SetApiKey(std::string key) {
  std::lock_guard lock(impl_->state.mu);
  impl_->state.api_key = std::move(key);
}

void FakeLlmServer::SetVersion(std::string version) {
  std::lock_guard lock(impl_->state.mu);
  impl_->state.version = std::move(version);
}

void FakeLlmServer::SetChatScript(ChatScript script) {
  std::lock_guard lock(impl_->state.mu);
  impl_->state.script = std::move(script);
}

void FakeLlmServer::AddFault(const std::string& path, Fault fault) {
  if (fault.times == 0 || fault.times < Fault::kForever) return;  // applies to no request
  std::lock_guard lock(impl_->state.mu);
  impl_->state.faults[path].push_back(std::move(fault));
}

void FakeLlmServer::ClearFaults() {
  std::lock_guard lock(impl_->state.mu);
  impl_->state.faults.clear();
}

void FakeLlmServer::SetLatency(std::chrono::milliseconds latency) {
  std::lock_guard lock(impl_->state.mu);
  impl_->state.latency = latency;
}

void FakeLlmServer::SetStreamDelay(std::chrono::milliseconds delay) {
  std::lock_guard lock(impl_->state.mu);
  impl_->state.stream_delay = delay;
}

int FakeLlmServer::RequestCount(const std::string& path) const {
  std::lock_guard lock(impl_->state.mu);
  if (path.empty()) return impl_->state.total_requests;
  auto it = impl_->state.counts.find(path);
  return it == impl_->state.counts.end() ? 0 : it->second;
}

int64_t FakeLlmServer::TextsEmbedded() const {
  std::lock_guard lock(impl_->state.mu);
  return impl_->state.texts_embedded;
}

std::vector<std::string> FakeLlmServer::RecentBodies(const std::string& path, size_t k) const {
  std::lock_guard lock(impl_->state.mu);
  std::vector<std::string> bodies;
  for (auto it = impl_->state.history.rbegin(); it != impl_->state.history.rend() && bodies.size() < k; ++it) {
    if (path.empty() || it->first == path) bodies.push_back(it->second);
  }
  std::reverse(bodies.begin(), bodies.end());
  return bodies;
}

int FakeLlmServer::InFlight() const {
  std::lock_guard lock(impl_->state.mu);
  return impl_->state.in_flight;
}

int FakeLlmServer::MaxInFlight() const {
  std::lock_guard lock(impl_->state.mu);
  return impl_->state.max_in_flight;
}

void FakeLlmServer::ResetCounters() {
  State& s = impl_->state;
  std::lock_guard lock(s.mu);
  s.counts.clear();
  s.total_requests = 0;
  s.texts_embedded = 0;
  s.history.clear();
  s.max_in_flight = s.in_flight;
}

}  // namespace refinery::testing
