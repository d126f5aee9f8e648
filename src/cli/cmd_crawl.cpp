// `refinery crawl URL [--depth N] [--wait]`: starts a crawl (the running
// crawl workers of `refinery up` fetch it) and, with --wait, follows it to
// its end with a progress line.
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "cli/cli.h"
#include "core/clock.h"
#include "pipeline/crawl_stage.h"

namespace refinery::cli {
namespace {

struct CrawlFlags {
  std::string url;
  int depth = 1;
  int max_pages = 0;
  std::string path_prefix;
  bool wait = false;
  double timeout_s = 0;  // 0: wait as long as it takes
};

std::string ProgressLine(const CrawlRecord& c) {
  const int64_t open = c.pages - c.pages_completed - c.pages_failed - c.pages_skipped;
  return "crawl " + std::to_string(c.id) + " " + c.status + ": " + std::to_string(c.pages) + " pages, " +
         std::to_string(c.pages_completed) + " completed, " + std::to_string(c.pages_failed) + " failed, " +
         std::to_string(c.pages_skipped) + " skipped, " + std::to_string(open) + " to go";
}

// Polls the crawl until it ends; the exit code says how.
int WaitForCrawl(Services& s, int64_t id, double timeout_s) {
  const bool tty = isatty(STDERR_FILENO) == 1;
  const double deadline = timeout_s > 0 ? NowSeconds() + timeout_s : 0;
  std::string last;
  for (;;) {
    auto crawl = s.store->crawls().GetCrawl(id);
    if (!crawl.ok()) {
      std::cerr << (tty ? "\n" : "") << "refinery: crawl: " << crawl.status().message() << "\n";
      return crawl.status().transient() ? kExitUnavailable : kExitFailure;
    }
    const std::string line = ProgressLine(*crawl);
    if (line != last) std::cerr << (tty ? "\r\033[K" : "") << line << (tty ? "" : "\n") << std::flush;
    last = line;
    if (crawl->status == "completed" || crawl->status == "failed") {
      if (tty) std::cerr << "\n";
      if (crawl->status == "failed") std::cerr << "refinery: crawl failed: " << crawl->error_message << "\n";
      return crawl->status == "completed" ? kExitOk : kExitFailure;
    }
    if (deadline > 0 && NowSeconds() > deadline) {
      std::cerr << (tty ? "\n" : "") << "refinery: crawl " << id << ": still running after " << timeout_s
                << " s (is `refinery up` running?)\n";
      return kExitFailure;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

int RunCrawl(const GlobalFlags& global, const CrawlFlags& flags) {
  int code = kExitOk;
  auto services = OpenOrReport(global, "crawl", OpenMode::kServe, &code);
  if (!services) return code;
  CrawlRequest request;
  request.url = flags.url;
  request.max_depth = flags.depth;
  request.max_pages = flags.max_pages;
  request.path_prefix = flags.path_prefix;
  auto started = StartCrawl(*services, request);
  if (!started.ok()) {
    std::cerr << "refinery: crawl: " << started.status().message() << "\n";
    return started.status().transient() ? kExitUnavailable : kExitUsage;
  }
  std::cout << "crawl " << started->start.crawl_id << " queued: " << started->url
            << (started->start.restarted ? "" : " (already running)") << "\n"
            << std::flush;
  return flags.wait ? WaitForCrawl(*services, started->start.crawl_id, flags.timeout_s) : kExitOk;
}

}  // namespace

void AddCrawl(CLI::App& app, const GlobalFlags& global, int* code) {
  auto flags = std::make_shared<CrawlFlags>();
  auto* cmd = app.add_subcommand("crawl", "Crawl a web site into the pipeline (the workers of `refinery up` fetch it)");
  cmd->add_option("url", flags->url, "The start URL (http or https)")->required();
  cmd->add_option("--depth", flags->depth, "Links followed from the start page (0..3)")
      ->check(CLI::Range(0, kMaxCrawlDepth));
  cmd->add_option("--max-pages", flags->max_pages, "At most this many pages (default REFINERY_CRAWL_MAX_PAGES)")
      ->check(CLI::Range(1, kMaxCrawlPages));
  cmd->add_option("--path-prefix", flags->path_prefix, "Only follow links under this path");
  cmd->add_flag("--wait", flags->wait, "Wait until the crawl completed or failed, with a progress line");
  cmd->add_option("--timeout", flags->timeout_s, "With --wait: give up after this many seconds (0: never)");
  cmd->callback([&global, code, flags] { *code = RunCrawl(global, *flags); });
}

}  // namespace refinery::cli
