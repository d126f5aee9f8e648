// StopSignals: SIGINT/SIGTERM -> an std::atomic<bool>.
#include <csignal>

#include "supervisor/supervisor.h"

namespace refinery {

namespace {

// The one piece of global mutable state: a handler gets no user pointer, so
// the flag it sets must be reachable from a global. Both atomics must be
// lock-free for a handler to touch them.
std::atomic<std::atomic<bool>*> g_stop_flag{nullptr};
static_assert(std::atomic<std::atomic<bool>*>::is_always_lock_free);
static_assert(std::atomic<bool>::is_always_lock_free);

void OnStopSignal(int /*sig*/) {
  std::atomic<bool>* flag = g_stop_flag.load();
  if (flag != nullptr) flag->store(true);
}

}  // namespace

StopSignals::StopSignals(std::atomic<bool>& stop) : previous_flag_(g_stop_flag.exchange(&stop)) {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // other code's blocking calls need not handle EINTR
  sigaction(SIGINT, &action, &previous_int_);
  sigaction(SIGTERM, &action, &previous_term_);
}

StopSignals::~StopSignals() {
  sigaction(SIGINT, &previous_int_, nullptr);
  sigaction(SIGTERM, &previous_term_, nullptr);
  g_stop_flag.store(previous_flag_);
}

}  // namespace refinery
