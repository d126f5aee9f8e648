// `refinery pull [embed|reason]`: pulls each configured Ollama endpoint's
// model that the server lacks, printing the progress (Ollama /api/pull).
#include <unistd.h>

#include <iostream>
#include <memory>

#include "cli/cli.h"
#include "llm/model_pull.h"

namespace refinery::cli {
namespace {

// Pulls one endpoint's model unless present; prints a line per status
// (and, on a terminal, the percentage in place).
int PullOne(const std::string& role, const LlmEndpointConfig& config, const std::string& openai_key) {
  LlmEndpoint endpoint(role, config, openai_key);
  auto listed = ListEndpoint(endpoint);
  if (!listed.ok()) {
    std::cerr << "refinery: pull: " << listed.status().message() << "\n";
    return kExitUnavailable;
  }
  if (listed->model_present) {
    std::cout << role << ": " << config.model << " is already on " << config.url << "\n";
    return kExitOk;
  }
  const bool tty = isatty(STDOUT_FILENO) != 0;
  std::string last_status;
  Status pulled = PullModel(endpoint, [&](const PullProgress& p) {
    if (p.status != last_status) {
      if (tty && !last_status.empty()) std::cout << "\n";
      std::cout << role << ": " << p.Describe() << (tty ? "" : "\n") << std::flush;
      last_status = p.status;
    } else if (tty) {
      std::cout << "\r" << role << ": " << p.Describe() << std::flush;
    }
    return true;
  });
  if (tty && !last_status.empty()) std::cout << "\n";
  if (!pulled.ok()) {
    std::cerr << "refinery: pull: " << pulled.message() << "\n";
    return pulled.transient() ? kExitUnavailable : kExitFailure;
  }
  std::cout << role << ": " << config.model << " pulled\n";
  return kExitOk;
}

}  // namespace

void AddPull(CLI::App& app, const GlobalFlags& flags, int* code) {
  auto* cmd = app.add_subcommand("pull", "Pull the configured Ollama models the servers lack, with progress");
  auto which = std::make_shared<std::string>("all");
  cmd->add_option("endpoint", *which, "embed, reason or all (default)")->check(CLI::IsMember({"embed", "reason", "all"}));
  cmd->callback([&flags, code, which] {
    auto config = LoadEffectiveConfig(flags, "pull");
    if (!config) {
      *code = kExitUsage;
      return;
    }
    std::vector<std::pair<std::string, const LlmEndpointConfig*>> chosen;
    if (*which != "reason") chosen.emplace_back("llm_embed", &config->llm_embed);
    if (*which != "embed") chosen.emplace_back("llm_reason", &config->llm_reason);
    int worst = kExitOk;
    int pulled = 0;
    for (const auto& [role, endpoint] : chosen) {
      if (!endpoint->configured() || endpoint->provider != "ollama") continue;
      ++pulled;
      const int result = PullOne(role, *endpoint, config->openai_api_key);
      if (result != kExitOk) worst = result;
    }
    if (pulled == 0) {
      std::cerr << "refinery: pull: no Ollama endpoint configured for " << *which
                << " (set OLLAMA_EMBED_URL / OLLAMA_BASE_URL or REFINERY_EMBED_URL / REFINERY_REASON_URL)\n";
      worst = kExitUsage;
    }
    *code = worst;
  });
}

}  // namespace refinery::cli
