// LeaseKeeper: keeps the leases of the jobs a worker holds alive while their
// stages run. Internal to the pipeline module.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>

#include "queue/queue.h"

namespace refinery {

// One thread heartbeats every held lease each third of the visibility
// timeout, so a job costs no thread of its own (a thread per job was a
// clone, a stack and a join for every job of a busy pipeline).
class LeaseKeeper {
 public:
  LeaseKeeper(Queue& queue, double visibility_s);
  ~LeaseKeeper();  // stops the thread and joins it
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  // The job's lease is renewed while its Hold lives.
  class Hold {
   public:
    Hold(LeaseKeeper& keeper, uint64_t serial) : keeper_(&keeper), serial_(serial) {}
    ~Hold() { keeper_->Drop(serial_); }
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;

   private:
    LeaseKeeper* keeper_;
    uint64_t serial_;
  };
  [[nodiscard]] Hold Keep(const Job& job);

 private:
  void Drop(uint64_t serial);
  void Loop();

  Queue& queue_;
  const double visibility_s_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;                // GUARDED_BY(mutex_)
  uint64_t next_serial_ = 0;         // GUARDED_BY(mutex_)
  std::map<uint64_t, Job> held_;     // GUARDED_BY(mutex_)
  std::thread thread_;               // last: starts after the members it uses exist
};

}  // namespace refinery
