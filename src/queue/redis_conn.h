// Small RAII layer over hiredis 0.14 for the Redis queue: a reply holder, one
// connection, a self-healing pool of connections and a client that runs
// commands and Lua scripts through it.
//
// hiredis contexts are not thread-safe, so each thread checks one out of the
// pool for the length of a command. A context that saw an I/O error is never
// reused; the next checkout connects again, with backoff while Redis stays down.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/backoff.h"
#include "core/pool.h"
#include "core/status.h"

namespace refinery::redis {

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
// Owns a reply tree; error replies are values too (type REDIS_REPLY_ERROR).
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// Reply helpers: tolerant of the wrong type (they return empty/0), so callers
// check shapes once where it matters and never dereference blindly.
std::string ReplyString(const redisReply* reply);
int64_t ReplyInteger(const redisReply* reply);
bool IsError(const redisReply* reply, const char* prefix = nullptr);

// Where the server is: parsed from redis://[:password@]host[:port][/db].
struct Endpoint {
  std::string host;
  int port = 6379;
  int db = 0;
  std::string password;
};
Result<Endpoint> ParseRedisUrl(const std::string& url);

struct PoolOptions {
  int max_connections = 16;        // per process; Lease's blocking wait holds one
  int connect_timeout_ms = 1000;   // one connect attempt
  int command_timeout_ms = 1500;   // a reply must come within this (plus any BLOCK)
  int checkout_timeout_ms = 1000;  // wait for a free connection, then Unavailable
  // Between connect attempts while Redis is down: doubling per failed
  // attempt up to max_s, jittered so every worker does not reconnect at the
  // same instant after a Redis restart (core/backoff.h).
  Backoff reconnect{.base_s = 0.05, .max_s = 1.0};
};

// One connection. Broken after any I/O error or timeout: the stream may hold
// half a reply, so the pool throws it away.
class Connection {
 public:
  explicit Connection(redisContext* context) : context_(context) {}
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one command (argv form: user data is never parsed as a command).
  // Unavailable on I/O errors; a Redis error reply is returned as a Reply.
  Result<Reply> Command(const std::vector<std::string>& args);
  bool broken() const { return broken_; }
  // The last failure was the command timeout: the server may be hung, so a
  // retry would only double the wait.
  bool timed_out() const { return timed_out_; }

 private:
  redisContext* context_;
  bool broken_ = false;
  bool timed_out_ = false;
};

// Core's first-come-first-served pool (core/pool.h) plus Redis's policy:
// connect with AUTH/SELECT, throw away broken connections, and back off
// between connect attempts while Redis is down.
class Pool {
 public:
  Pool(Endpoint endpoint, PoolOptions options);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // RAII checkout: returns the connection to the pool on destruction, or
  // closes it when broken. `reused()` tells a stale pooled connection (worth
  // one retry on a fresh one) from a freshly made one.
  using Lease = FcfsPool<Connection>::Lease;

  // An idle connection, else a new one (if under max), else waits up to the
  // checkout timeout. Unavailable when Redis cannot be reached (fails fast
  // during the backoff that follows a failed connect). `fresh_only` first
  // closes the idle connections: they probably died with the one that just
  // failed.
  Result<Lease> Checkout(bool fresh_only = false);

  // Callers queued in Checkout right now.
  size_t Waiting() const;

 private:
  // The open hook of pool_: Connect, unless backing off.
  Result<std::unique_ptr<Connection>> Open();
  Result<std::unique_ptr<Connection>> Connect();
  Status Handshake(Connection& conn);

  const Endpoint endpoint_;
  const PoolOptions options_;
  FcfsPool<Connection> pool_;
  std::mutex backoff_mu_;
  std::chrono::steady_clock::time_point next_connect_{};  // GUARDED_BY(backoff_mu_)
  int failed_connects_ = 0;  // GUARDED_BY(backoff_mu_): in a row; 0 once a connect succeeds
};

// A Lua script with its SHA1, run by EVALSHA (EVAL after a NOSCRIPT, e.g.
// once Redis restarted and lost its script cache).
struct Script {
  explicit Script(std::string body);
  std::string body;
  std::string sha1;
};

// Runs commands on pooled connections. A command that fails with an I/O
// error (not a timeout) on a reused connection is retried once on a fresh one:
// after a Redis restart every pooled connection is dead, and callers should
// not see that.
class Client {
 public:
  Client(Endpoint endpoint, PoolOptions options) : pool_(std::move(endpoint), options) {}

  // Both turn error replies into a Status (ErrorReplyStatus).
  Result<Reply> Run(const std::vector<std::string>& args);
  Result<Reply> Eval(const Script& script, const std::vector<std::string>& keys, const std::vector<std::string>& args);

 private:
  // One command with the stale-connection retry; error replies stay replies.
  Result<Reply> Raw(const std::vector<std::string>& args);

  Pool pool_;
};

// LOADING/BUSY/MASTERDOWN and friends mean "try later" (Unavailable); any
// other error reply is a bug on our side (Internal).
Status ErrorReplyStatus(const redisReply* reply, const std::string& what);

}  // namespace refinery::redis
