// RedisQueue against real Redis servers: dying consumers, a Redis that
// restarts empty or is down, and two processes consuming one stage.
// Skipped when REFINERY_TEST_REDIS_URL is unset (scripts/test-services.sh).
#include "queue/redis_conn.h"
#include "queue/redis_queue.h"

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "support/process_util.h"
#include "support/test_support.h"

namespace refinery {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string TestRedisUrl() {
  const char* url = std::getenv("REFINERY_TEST_REDIS_URL");
  return url == nullptr ? std::string() : std::string(url);
}

#define SKIP_WITHOUT_REDIS() \
  if (TestRedisUrl().empty()) GTEST_SKIP() << "REFINERY_TEST_REDIS_URL is not set"

// A queue on `url` whose keys belong to `dir` alone.
std::unique_ptr<RedisQueue> OpenQueue(const std::string& url, const testing::TempDir& dir) {
  Config config;
  config.redis_url = url;
  RedisQueueOptions options;
  options.key_prefix = "refinery-test:" + dir.path() + ":";
  Result<std::unique_ptr<RedisQueue>> queue = RedisQueue::Open(config, options);
  EXPECT_TRUE(queue.ok()) << queue.status().ToString();
  return queue.ok() ? std::move(queue).value() : nullptr;
}

double SecondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// A private redis-server child on a free port, with no persistence, so a
// restart comes back empty. Stopped (SHUTDOWN NOSAVE) on destruction.
class PrivateRedis {
 public:
  explicit PrivateRedis(std::string dir) : dir_(std::move(dir)), port_(testing::FreePort()) {}
  ~PrivateRedis() { Stop(); }

  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

  bool Start() {
    pid_ = fork();
    if (pid_ == 0) {
      std::string port = std::to_string(port_);
      std::string log = dir_ + "/redis.log";
      execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", dir_.c_str(), "--logfile", log.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    return pid_ > 0 && testing::WaitUntil([this] { return Command("PING") == "PONG"; }, 10s);
  }

  void Stop() {
    if (pid_ <= 0) return;
    Command("SHUTDOWN NOSAVE");
    if (!testing::WaitUntil([this] { return waitpid(pid_, nullptr, WNOHANG) == pid_; }, 5s)) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
  }

  // SIGSTOP/SIGCONT: a hung server that keeps its connections open.
  void Pause() { kill(pid_, SIGSTOP); }
  void Resume() { kill(pid_, SIGCONT); }

  // A fixed command (no user data) on a fresh connection; its reply as text.
  std::string Command(const char* command) const {
    redisContext* context = redisConnectWithTimeout("127.0.0.1", port_, timeval{1, 0});
    std::string text;
    if (context != nullptr && context->err == 0) {
      auto* reply = static_cast<redisReply*>(redisCommand(context, command));
      if (reply != nullptr && reply->str != nullptr) text.assign(reply->str, reply->len);
      if (reply != nullptr) freeReplyObject(reply);
    }
    if (context != nullptr) redisFree(context);
    return text;
  }

 private:
  std::string dir_;
  int port_;
  pid_t pid_ = -1;
};

// Forks a consumer that leases one job with a short visibility and dies
// without acking it (as a killed worker would). Returns 1 when it got one.
int LeaseAndDieInChild(const std::string& url, const testing::TempDir& dir) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  pid_t child = fork();
  if (child == 0) {
    close(fds[0]);
    std::unique_ptr<RedisQueue> queue = OpenQueue(url, dir);
    Result<std::optional<Job>> job = queue->Lease("chunk", 0.5, 5s);
    char attempt = (job.ok() && job->has_value()) ? 1 : 0;
    if (write(fds[1], &attempt, 1) != 1) _exit(2);
    _exit(0);  // no Ack, no destructors: the lease just stops being kept
  }
  close(fds[1]);
  char attempt = -1;
  if (read(fds[0], &attempt, 1) != 1) attempt = -1;
  close(fds[0]);
  waitpid(child, nullptr, 0);
  return attempt;
}

TEST(RedisQueueIntegrationTest, DeadConsumersJobIsRedeliveredAfterVisibility) {
  SKIP_WITHOUT_REDIS();
  testing::TempDir dir;
  std::unique_ptr<RedisQueue> queue = OpenQueue(TestRedisUrl(), dir);
  ASSERT_NE(queue, nullptr);
  ASSERT_TRUE(queue->Enqueue("chunk", 42).ok());
  const auto leased_at = Clock::now();
  ASSERT_EQ(LeaseAndDieInChild(TestRedisUrl(), dir), 1);

  Result<std::optional<Job>> job = queue->Lease("chunk", 30, 10s);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  ASSERT_TRUE(job->has_value());
  EXPECT_GE(SecondsSince(leased_at), 0.45);  // not before the dead lease expired
  EXPECT_EQ((*job)->document_id, 42);
  EXPECT_TRUE(queue->Ack(**job).ok());
  Result<QueueDepth> depth = queue->Depth("chunk");
  ASSERT_TRUE(depth.ok());
  EXPECT_EQ(depth->ready + depth->in_flight + depth->delayed, 0);
  EXPECT_TRUE(queue->Purge().ok());
}

// An upgrade meets the job hash an older version wrote ("<state> <id>
// <attempts> <ref>"): its delayed jobs still count, and its dead ones
// (state x, no longer a queue's business) read as no job, so Enqueue
// starts them afresh.
TEST(RedisQueueIntegrationTest, JobsAnOlderVersionWroteAreReadAndDeadOnesStartAfresh) {
  SKIP_WITHOUT_REDIS();
  testing::TempDir dir;
  PrivateRedis server(dir.path());
  ASSERT_TRUE(server.Start());
  std::unique_ptr<RedisQueue> queue = OpenQueue(server.url(), dir);
  ASSERT_NE(queue, nullptr);
  const std::string prefix = "refinery-test:" + dir.path() + ":chunk:";
  for (const std::string& args : {"HSET '" + prefix + "jobs' 1 'x 7 5 1-0'", "HSET '" + prefix + "jobs' 2 'd 8 1 -'",
                                  "ZADD '" + prefix + "delayed' 9999999999999 2"}) {
    ASSERT_EQ(std::system(("redis-cli -u " + server.url() + " " + args + " >/dev/null").c_str()), 0) << args;
  }
  EXPECT_FALSE(*queue->HasLiveJob("chunk", 1));
  EXPECT_TRUE(*queue->HasLiveJob("chunk", 2));
  EXPECT_EQ(queue->Depth("chunk")->delayed, 1);
  ASSERT_TRUE(queue->Enqueue("chunk", 1).ok());
  ASSERT_TRUE(queue->Enqueue("chunk", 2).ok());  // now: the earlier time wins
  std::set<int64_t> leased;
  for (int i = 0; i < 2; ++i) {
    Result<std::optional<Job>> job = queue->Lease("chunk", 30, 5s);
    ASSERT_TRUE(job.ok() && job->has_value()) << job.status().ToString();
    leased.insert((*job)->document_id);
    EXPECT_TRUE(queue->Ack(**job).ok());
  }
  EXPECT_EQ(leased, (std::set<int64_t>{1, 2}));
}

TEST(RedisQueueIntegrationTest, RedisRestartedEmptyIsHealedTransparently) {
  SKIP_WITHOUT_REDIS();
  testing::TempDir dir;
  PrivateRedis server(dir.path());
  ASSERT_TRUE(server.Start());
  std::unique_ptr<RedisQueue> queue = OpenQueue(server.url(), dir);
  ASSERT_NE(queue, nullptr);
  ASSERT_TRUE(queue->Enqueue("chunk", 1).ok());
  ASSERT_TRUE(queue->Enqueue("chunk", 2, 3600).ok());
  Result<std::optional<Job>> before = queue->Lease("chunk", 30, 1s);
  ASSERT_TRUE(before.ok() && before->has_value());

  server.Stop();
  ASSERT_TRUE(server.Start());  // same port and command line, no data
  // The pooled connections are dead and the stream, group and scripts are
  // gone: none of that may reach the caller.
  EXPECT_EQ(queue->Ack(**before).code(), StatusCode::kLeaseLost);
  Result<bool> live = queue->HasLiveJob("chunk", 2);
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  EXPECT_FALSE(*live);  // lost with the data: the reconciler's job to re-enqueue
  ASSERT_TRUE(queue->Enqueue("chunk", 3).ok());
  Result<std::optional<Job>> after = queue->Lease("chunk", 30, 5s);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  ASSERT_TRUE(after->has_value());
  EXPECT_EQ((*after)->document_id, 3);
  EXPECT_TRUE(queue->Ack(**after).ok());
  Result<QueueDepth> depth = queue->Depth("chunk");
  ASSERT_TRUE(depth.ok()) << depth.status().ToString();
  EXPECT_EQ(depth->ready + depth->in_flight + depth->delayed, 0);
}

TEST(RedisQueueIntegrationTest, OutageGivesUnavailableThenQueueReconnectsByItself) {
  SKIP_WITHOUT_REDIS();
  testing::TempDir dir;
  PrivateRedis server(dir.path());
  ASSERT_TRUE(server.Start());
  std::unique_ptr<RedisQueue> queue = OpenQueue(server.url(), dir);
  ASSERT_NE(queue, nullptr);
  ASSERT_TRUE(queue->Ping().ok());

  // A consumer blocked waiting for work when Redis goes away is told so.
  Status blocked_status;
  Clock::time_point blocked_returned;
  std::thread blocked([&] {
    blocked_status = queue->Lease("embed", 30, 10s).status();
    blocked_returned = Clock::now();
  });
  std::this_thread::sleep_for(300ms);
  server.Stop();
  auto stopped = Clock::now();
  EXPECT_EQ(queue->Ping().code(), StatusCode::kUnavailable);
  EXPECT_EQ(queue->Enqueue("embed", 1).code(), StatusCode::kUnavailable);
  EXPECT_LT(SecondsSince(stopped), 2.0);
  blocked.join();
  EXPECT_EQ(blocked_status.code(), StatusCode::kUnavailable);
  EXPECT_LT(std::chrono::duration<double>(blocked_returned - stopped).count(), 2.0);

  ASSERT_TRUE(server.Start());
  auto restarted = Clock::now();
  // Reconnects within its backoff (capped at 1 s), with no help from outside.
  EXPECT_TRUE(testing::WaitUntil([&] { return queue->Ping().ok(); }, 3s));
  EXPECT_LT(SecondsSince(restarted), 1.5);
  ASSERT_TRUE(queue->Enqueue("embed", 1).ok());
  Result<std::optional<Job>> job = queue->Lease("embed", 30, 5s);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  ASSERT_TRUE(job->has_value());
  EXPECT_TRUE(queue->Ack(**job).ok());
}

TEST(RedisUrlTest, ParsesHostPortDatabaseAndPassword) {
  Result<redis::Endpoint> full = redis::ParseRedisUrl("redis://:s3cret@cache.local:6390/3");
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(full->host, "cache.local");
  EXPECT_EQ(full->port, 6390);
  EXPECT_EQ(full->db, 3);
  EXPECT_EQ(full->password, "s3cret");
  Result<redis::Endpoint> bare = redis::ParseRedisUrl("redis://localhost");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->port, 6379);
  EXPECT_EQ(bare->db, 0);
  for (const char* bad : {"http://x:1", "redis://", "redis://h:0", "redis://h:99999", "redis://h:1/x"}) {
    EXPECT_EQ(redis::ParseRedisUrl(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(RedisQueueIntegrationTest, RedisDownIsUnavailableQuicklyNotAHang) {
  SKIP_WITHOUT_REDIS();
  testing::TempDir dir;
  const std::string nobody = "redis://127.0.0.1:" + std::to_string(testing::FreePort());
  std::unique_ptr<RedisQueue> queue = OpenQueue(nobody, dir);
  ASSERT_NE(queue, nullptr);
  for (int i = 0; i < 3; ++i) {  // the first attempt, then during the backoff
    auto start = Clock::now();
    EXPECT_EQ(queue->Enqueue("chunk", 1).code(), StatusCode::kUnavailable);
    EXPECT_EQ(queue->Lease("chunk", 30, 1s).status().code(), StatusCode::kUnavailable);
    EXPECT_EQ(queue->Ping().code(), StatusCode::kUnavailable);
    EXPECT_LT(SecondsSince(start), 2.0);
  }
}

TEST(RedisQueueIntegrationTest, SilentServerTimesOutAsUnavailable) {
  SKIP_WITHOUT_REDIS();
  // Accepts TCP connections (kernel backlog) but never answers: a hung or
  // partitioned Redis. Commands must time out, not block forever.
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(listener, 16), 0);
  socklen_t length = sizeof address;
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  testing::TempDir dir;
  std::unique_ptr<RedisQueue> queue = OpenQueue("redis://127.0.0.1:" + std::to_string(ntohs(address.sin_port)), dir);
  ASSERT_NE(queue, nullptr);
  auto start = Clock::now();
  EXPECT_EQ(queue->Ping().code(), StatusCode::kUnavailable);
  EXPECT_LT(SecondsSince(start), 2.5);
  close(listener);
}

TEST(RedisQueueIntegrationTest, HungRedisTimesOutAsUnavailableThenRecovers) {
  SKIP_WITHOUT_REDIS();
  testing::TempDir dir;
  PrivateRedis server(dir.path());
  ASSERT_TRUE(server.Start());
  std::unique_ptr<RedisQueue> queue = OpenQueue(server.url(), dir);
  ASSERT_NE(queue, nullptr);
  ASSERT_TRUE(queue->Enqueue("chunk", 1).ok());  // leaves a pooled connection
  server.Pause();
  auto start = Clock::now();
  EXPECT_EQ(queue->Ping().code(), StatusCode::kUnavailable);
  EXPECT_LT(SecondsSince(start), 2.0);  // one command timeout, no retry on top
  server.Resume();
  EXPECT_TRUE(testing::WaitUntil([&] { return queue->Ping().ok(); }, 3s));
  Result<std::optional<Job>> job = queue->Lease("chunk", 30, 1s);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  ASSERT_TRUE(job->has_value());
  EXPECT_TRUE(queue->Ack(**job).ok());
}

// Leases and acks until the stage stays empty for a moment. Plain code, no
// gtest macros: it also runs in a forked child. False on any error.
bool Drain(Queue& queue, std::vector<int64_t>& documents) {
  const auto deadline = Clock::now() + 120s;  // hang guard only
  while (Clock::now() < deadline) {
    Result<std::optional<Job>> job = queue.Lease("chunk", 60, 300ms);
    if (!job.ok()) return false;
    if (!job->has_value()) return true;
    std::this_thread::sleep_for(1ms);  // "work", so the two processes interleave
    if (!queue.Ack(**job).ok()) return false;
    documents.push_back((*job)->document_id);
  }
  return false;
}

// Each worker process is a consumer; killed ones must not pile up forever.
// Consumers idle past the limit with nothing pending are swept on a lease;
// one still holding a job is kept, and its job stays its own.
TEST(RedisQueueIntegrationTest, IdleConsumersWithNothingPendingAreSwept) {
  SKIP_WITHOUT_REDIS();
  testing::TempDir dir;
  for (int i = 0; i < 3; ++i) {  // three workers that came, worked and went
    std::unique_ptr<RedisQueue> gone = OpenQueue(TestRedisUrl(), dir);
    ASSERT_NE(gone, nullptr);
    ASSERT_TRUE(gone->Enqueue("chunk", 100 + i).ok());
    Result<std::optional<Job>> job = gone->Lease("chunk", 30, 1s);
    ASSERT_TRUE(job.ok() && job->has_value());
    ASSERT_TRUE(gone->Ack(**job).ok());
  }
  std::unique_ptr<RedisQueue> holder = OpenQueue(TestRedisUrl(), dir);
  ASSERT_NE(holder, nullptr);
  ASSERT_TRUE(holder->Enqueue("chunk", 200).ok());
  Result<std::optional<Job>> held = holder->Lease("chunk", 30, 1s);
  ASSERT_TRUE(held.ok() && held->has_value());

  auto endpoint = redis::ParseRedisUrl(TestRedisUrl());
  ASSERT_TRUE(endpoint.ok());
  redis::Client raw(*endpoint, redis::PoolOptions{});
  const std::string stream = "refinery-test:" + dir.path() + ":chunk:stream";
  // {consumers, consumers owning a pending entry}
  auto consumers = [&] {
    Result<redis::Reply> reply = raw.Run({"XINFO", "CONSUMERS", stream, "refinery"});
    if (!reply.ok()) return std::pair<int, int>(-1, -1);
    std::pair<int, int> counts(static_cast<int>(reply->get()->elements), 0);
    for (size_t i = 0; i < reply->get()->elements; ++i) {
      const redisReply* fields = reply->get()->element[i];
      for (size_t f = 0; f + 1 < fields->elements; f += 2) {
        if (std::string(fields->element[f]->str) == "pending" && fields->element[f + 1]->integer > 0) ++counts.second;
      }
    }
    return counts;
  };
  ASSERT_EQ(consumers(), std::make_pair(4, 1));

  Config config;
  config.redis_url = TestRedisUrl();
  RedisQueueOptions options;
  options.key_prefix = "refinery-test:" + dir.path() + ":";
  options.consumer_idle_limit = 0ms;
  options.consumer_sweep_interval = 1ms;
  Result<std::unique_ptr<RedisQueue>> sweeper = RedisQueue::Open(config, options);
  ASSERT_TRUE(sweeper.ok()) << sweeper.status().ToString();
  std::this_thread::sleep_for(5ms);  // idle > 0 ms for everyone else
  // The workers' own leases swept (nothing) within the default minute:
  // let that minute pass.
  ASSERT_TRUE(raw.Run({"DEL", stream + ":consumers-swept"}).ok());
  Result<std::optional<Job>> none = (*sweeper)->Lease("chunk", 30, 0ms);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_FALSE(none->has_value());  // the only job is held
  // The holder stays; the sweeper, owning nothing, may or may not be listed.
  const auto after = consumers();
  EXPECT_EQ(after.second, 1);
  EXPECT_LE(after.first, 2);
  EXPECT_TRUE(holder->Ack(**held).ok());
}

TEST(RedisQueueIntegrationTest, TwoProcessesNeverGetTheSameJob) {
  SKIP_WITHOUT_REDIS();
  testing::TempDir dir;
  constexpr int kJobs = 300;
  {
    std::unique_ptr<RedisQueue> queue = OpenQueue(TestRedisUrl(), dir);
    ASSERT_NE(queue, nullptr);
    for (int doc = 1; doc <= kJobs; ++doc) ASSERT_TRUE(queue->Enqueue("chunk", doc).ok());
  }
  const std::string child_out = dir.path() + "/child.txt";
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    std::vector<int64_t> documents;
    std::unique_ptr<RedisQueue> queue = OpenQueue(TestRedisUrl(), dir);
    char byte = 'r';
    bool ok = queue != nullptr && write(ready[1], &byte, 1) == 1 && Drain(*queue, documents);
    std::ofstream out(child_out);
    for (int64_t doc : documents) out << doc << '\n';
    out.close();
    _exit(ok ? 0 : 3);
  }
  close(ready[1]);
  std::unique_ptr<RedisQueue> queue = OpenQueue(TestRedisUrl(), dir);
  ASSERT_NE(queue, nullptr);
  char byte = 0;
  EXPECT_EQ(read(ready[0], &byte, 1), 1);
  close(ready[0]);
  std::vector<int64_t> mine;
  EXPECT_TRUE(Drain(*queue, mine));
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);

  std::vector<int64_t> theirs;
  std::ifstream in(child_out);
  for (int64_t doc; in >> doc;) theirs.push_back(doc);
  std::map<int64_t, int> deliveries;
  for (int64_t doc : mine) ++deliveries[doc];
  for (int64_t doc : theirs) ++deliveries[doc];
  EXPECT_EQ(deliveries.size(), static_cast<size_t>(kJobs));
  for (const auto& [doc, count] : deliveries) EXPECT_EQ(count, 1) << "document " << doc;
  EXPECT_GT(mine.size(), 0u);
  EXPECT_GT(theirs.size(), 0u);
  std::printf("parent consumed %zu, child %zu\n", mine.size(), theirs.size());
  EXPECT_TRUE(queue->Purge().ok());
}

}  // namespace
}  // namespace refinery
