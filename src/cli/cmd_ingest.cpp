// `refinery ingest PATH...|-`: files, directory trees or stdin into the pipeline.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "api/json_util.h"
#include "cli/cli.h"
#include "core/json_depth.h"
#include "core/clock.h"
#include "pipeline/documents.h"
#include "pipeline/services.h"
#include "pipeline/stage_chain.h"

namespace refinery::cli {
namespace {

namespace fs = std::filesystem;

struct IngestFlags {
  std::vector<std::string> paths;
  std::string title;  // for stdin
  bool wait = false;
  double timeout_s = 0;  // 0: wait as long as it takes
};

// A progress line on a terminal; silent when stderr is not one.
class Progress {
 public:
  explicit Progress(std::string label) : label_(std::move(label)), enabled_(isatty(STDERR_FILENO) == 1) {}
  void Show(size_t done, size_t total) {
    if (!enabled_ || total == 0) return;
    const int width = 30;
    int filled = static_cast<int>(width * done / total);
    std::cerr << "\r" << label_ << " [" << std::string(filled, '#') << std::string(width - filled, '.') << "] " << done
              << "/" << total << std::flush;
  }
  void Finish() {
    if (enabled_) std::cerr << "\n";
  }

 private:
  std::string label_;
  bool enabled_;
};

std::string ReadAll(std::istream& in) {
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// A markdown file's first "# " heading, else the file name.
std::string TitleFor(const fs::path& path, const std::string& text) {
  if (path.extension() == ".md") {
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("# ", 0) == 0) return line.substr(2);
    }
  }
  return path.filename().string();
}

bool Ingestible(const fs::path& p) {
  auto ext = p.extension().string();
  return ext == ".txt" || ext == ".md" || ext == ".jsonl";
}

// Expands directories (recursively, sorted) into ingestible files.
Result<std::vector<fs::path>> CollectFiles(const std::vector<std::string>& paths) {
  std::vector<fs::path> files;
  for (const auto& arg : paths) {
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      std::vector<fs::path> found;
      for (const auto& entry : fs::recursive_directory_iterator(arg, ec)) {
        if (entry.is_regular_file() && Ingestible(entry.path())) found.push_back(entry.path());
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(arg, ec)) {
      files.emplace_back(arg);
    } else {
      return Status::InvalidArgument("ingest: no such file or directory: " + arg);
    }
  }
  return files;
}

// One document per line of a JSON-lines file: {"title", "text"|"content", "_id"?, "url"?}.
Result<std::vector<IngestRequest>> ReadJsonl(const fs::path& path, const std::string& text) {
  std::vector<IngestRequest> requests;
  std::istringstream lines(text);
  int number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string where = path.string() + ":" + std::to_string(number);
    if (!JsonDepthWithin(line, api::kMaxJsonDepth)) {
      return Status::InvalidArgument(where + ": nests deeper than " + std::to_string(api::kMaxJsonDepth) + " levels");
    }
    auto json = nlohmann::json::parse(line, nullptr, false);
    if (!json.is_object()) return Status::InvalidArgument(where + ": not a JSON object");
    IngestRequest r;
    r.title = json.value("title", "");
    r.content = json.contains("text") ? json.value("text", "") : json.value("content", "");
    r.source_url = json.value("url", "file://" + fs::absolute(path).string() + "#" + std::to_string(number));
    if (json.contains("_id")) r.metadata_json = nlohmann::json{{"source_id", json["_id"]}}.dump();
    if (r.title.empty()) r.title = path.filename().string() + ":" + std::to_string(number);
    requests.push_back(std::move(r));
  }
  return requests;
}

Result<std::vector<IngestRequest>> ReadRequests(const IngestFlags& flags) {
  std::vector<IngestRequest> requests;
  if (flags.paths.size() == 1 && flags.paths[0] == "-") {
    IngestRequest r;
    r.content = ReadAll(std::cin);
    r.title = flags.title.empty() ? "stdin" : flags.title;
    requests.push_back(std::move(r));
    return requests;
  }
  auto files = CollectFiles(flags.paths);
  if (!files.ok()) return files.status();
  for (const auto& path : *files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::InvalidArgument("ingest: cannot read " + path.string());
    std::string text = ReadAll(in);
    if (path.extension() == ".jsonl") {
      auto lines = ReadJsonl(path, text);
      if (!lines.ok()) return lines.status();
      for (auto& r : *lines) requests.push_back(std::move(r));
      continue;
    }
    IngestRequest r;
    r.title = TitleFor(path, text);
    r.source_url = "file://" + fs::absolute(path).string();
    r.mime_type = path.extension() == ".md" ? "text/markdown" : "text/plain";
    r.content = std::move(text);
    requests.push_back(std::move(r));
  }
  return requests;
}

struct WaitSummary {
  size_t complete = 0;
  size_t failed = 0;
  bool timed_out = false;
};

// Polls the store until every listed document is complete or failed.
WaitSummary WaitForDocuments(Services& s, std::vector<int64_t> pending, double timeout_s) {
  WaitSummary summary;
  const size_t total = pending.size();
  Progress progress("processing");
  double deadline = timeout_s > 0 ? NowSeconds() + timeout_s : 0;
  while (!pending.empty()) {
    std::vector<int64_t> still;
    for (int64_t id : pending) {
      auto doc = s.store->documents().Get(id);
      if (!doc.ok() && doc.status().code() == StatusCode::kNotFound) {
        ++summary.failed;
        continue;
      }
      if (doc.ok() && doc->state == kStateComplete) {
        ++summary.complete;
        continue;
      }
      if (doc.ok() && doc->state == kStateError) {
        ++summary.failed;
        continue;
      }
      still.push_back(id);
    }
    pending.swap(still);
    progress.Show(total - pending.size(), total);
    if (pending.empty()) break;
    if (deadline > 0 && NowSeconds() > deadline) {
      summary.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  progress.Finish();
  return summary;
}

int RunIngest(const GlobalFlags& global, const IngestFlags& flags) {
  auto config = LoadEffectiveConfig(global, "ingest");
  if (!config) return kExitUsage;
  auto requests = ReadRequests(flags);
  if (!requests.ok()) {
    std::cerr << "refinery: " << requests.status().message() << "\n";
    return kExitUsage;
  }
  auto services = OpenServices(*config, OpenMode::kServe);
  if (!services.ok()) {
    std::cerr << "refinery: " << services.status().message() << "\n";
    return kExitUnavailable;
  }
  double started = NowSeconds();
  std::vector<int64_t> ids;
  size_t created = 0, rejected = 0;
  Progress progress("ingesting ");
  for (size_t i = 0; i < requests->size(); ++i) {
    auto outcome = IngestDocument(*services, (*requests)[i]);
    progress.Show(i + 1, requests->size());
    if (!outcome.ok()) {
      std::cerr << "\nrefinery: " << (*requests)[i].title << ": " << outcome.status().message() << "\n";
      if (outcome.status().transient()) return kExitUnavailable;
      ++rejected;
      continue;
    }
    ids.push_back(outcome->id);
    created += outcome->created ? 1 : 0;
  }
  progress.Finish();
  std::cout << "ingested " << ids.size() << " document(s): " << created << " new, " << ids.size() - created
            << " already present" << (rejected ? ", " + std::to_string(rejected) + " rejected" : "") << "\n";
  if (!flags.wait) return rejected ? kExitFailure : kExitOk;
  WaitSummary summary = WaitForDocuments(*services, ids, flags.timeout_s);
  std::printf("%zu complete, %zu failed%s in %.1f s\n", summary.complete, summary.failed,
              summary.timed_out ? ", the rest still processing (timed out)" : "", NowSeconds() - started);
  return (summary.failed || summary.timed_out || rejected) ? kExitFailure : kExitOk;
}

}  // namespace

void AddIngest(CLI::App& app, const GlobalFlags& global, int* code) {
  auto* cmd = app.add_subcommand("ingest", "Ingest .txt/.md/.jsonl files, a directory tree, or stdin (-)");
  auto flags = std::make_shared<IngestFlags>();
  cmd->add_option("paths", flags->paths, "Files or directories, or - for stdin")->required();
  cmd->add_option("--title", flags->title, "Title of the document read from stdin");
  cmd->add_flag("--wait", flags->wait, "Wait until every document is complete or failed");
  cmd->add_option("--timeout", flags->timeout_s, "With --wait: give up after this many seconds (0: never)");
  cmd->callback([&global, code, flags] { *code = RunIngest(global, *flags); });
}

}  // namespace refinery::cli
