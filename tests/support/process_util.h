// Helpers for tests that drive real processes and real data.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace refinery::testing {

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

// Pids of live processes whose parent is `parent` and whose command line
// (arguments joined by spaces) contains `needle`.
std::vector<pid_t> ChildPids(pid_t parent, const std::string& needle);

// The parent of live process `pid`; -1 when it is gone or a zombie.
pid_t ParentPid(pid_t pid);

// Seconds since live process `pid` started; -1 when it is gone.
double ProcessAgeSeconds(pid_t pid);

// True while `pid` exists and is not a zombie (a dead child nobody reaped yet).
bool IsAlive(pid_t pid);

// Polls `condition` every `poll` until it holds (true) or `timeout` passes (false).
bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
               std::chrono::milliseconds poll = std::chrono::milliseconds(50));

struct ScifactDoc {
  std::string id;
  std::string title;
  std::string text;
};

// The first `limit` SciFact abstracts from ../shared/data/scifact/corpus.jsonl.
std::vector<ScifactDoc> LoadScifact(size_t limit);

}  // namespace refinery::testing
