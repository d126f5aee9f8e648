#include "queue/redis_conn.h"

#include <openssl/sha.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <utility>

namespace refinery::redis {

namespace {

timeval Millis(int ms) { return timeval{.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000}; }

bool ParseInt(std::string_view text, int min, int max, int& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out >= min && out <= max;
}

Status BadUrl(const std::string& url, const std::string& why) {
  return Status::InvalidArgument("REDIS_URL: " + why + " in '" + url +
                                 "' (expected redis://[:password@]host[:port][/db])");
}

}  // namespace

std::string ReplyString(const redisReply* reply) {
  if (reply == nullptr) return {};
  if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS ||
      reply->type == REDIS_REPLY_ERROR) {
    return std::string(reply->str, reply->len);
  }
  if (reply->type == REDIS_REPLY_INTEGER) return std::to_string(reply->integer);
  return {};
}

int64_t ReplyInteger(const redisReply* reply) {
  if (reply == nullptr) return 0;
  if (reply->type == REDIS_REPLY_INTEGER) return reply->integer;
  int64_t value = 0;
  std::string text = ReplyString(reply);
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

bool IsError(const redisReply* reply, const char* prefix) {
  if (reply == nullptr || reply->type != REDIS_REPLY_ERROR) return false;
  return prefix == nullptr || std::strncmp(reply->str, prefix, std::strlen(prefix)) == 0;
}

Status ErrorReplyStatus(const redisReply* reply, const std::string& what) {
  std::string message = "redis: " + what + ": " + ReplyString(reply);
  for (const char* transient : {"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "READONLY", "OOM", "MISCONF"}) {
    if (IsError(reply, transient)) return Status::Unavailable(message);
  }
  return Status::Internal(message);
}

Result<Endpoint> ParseRedisUrl(const std::string& url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.rfind(kScheme, 0) != 0) return BadUrl(url, "unsupported scheme");
  std::string_view rest = std::string_view(url).substr(kScheme.size());
  Endpoint endpoint;
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view user_info = rest.substr(0, at);
    size_t colon = user_info.find(':');
    endpoint.password = std::string(colon == std::string_view::npos ? user_info : user_info.substr(colon + 1));
    rest = rest.substr(at + 1);
  }
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && !ParseInt(db, 0, 1 << 20, endpoint.db)) return BadUrl(url, "bad database number");
    rest = rest.substr(0, slash);
  }
  if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    if (!ParseInt(rest.substr(colon + 1), 1, 65535, endpoint.port)) return BadUrl(url, "bad port");
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return BadUrl(url, "missing host");
  endpoint.host = std::string(rest);
  return endpoint;
}

Connection::~Connection() { redisFree(context_); }

Result<Reply> Connection::Command(const std::vector<std::string>& args) {
  if (broken_) return Status::Unavailable("redis: connection is broken");
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const std::string& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  void* raw = redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data());
  if (raw == nullptr) {
    broken_ = true;  // I/O error, EOF or timeout: the stream is out of sync
    timed_out_ = context_->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
    return Status::Unavailable(std::string("redis: ") + args.front() + ": " + context_->errstr);
  }
  return Reply(static_cast<redisReply*>(raw));
}

Pool::Pool(Endpoint endpoint, PoolOptions options)
    : endpoint_(std::move(endpoint)), options_(options) {}

Pool::~Pool() = default;

Pool::Lease::~Lease() {
  if (conn_ != nullptr) pool_->Return(std::move(conn_));
}

Result<Pool::Lease> Pool::Checkout(bool fresh_only) {
  std::unique_lock lock(mu_);
  if (fresh_only) {  // idle connections probably died with the one that just failed
    open_ -= static_cast<int>(idle_.size());
    idle_.clear();
    HandOffLocked();
  }
  std::unique_ptr<Connection> conn;
  // Nobody waits while something is free (HandOffLocked), so taking
  // directly never jumps the queue.
  if (!idle_.empty()) {
    conn = std::move(idle_.back());
    idle_.pop_back();
  } else if (open_ < options_.max_connections) {
    ++open_;  // a slot of our own: connect below
  } else {
    Waiter me;
    waiters_.push_back(&me);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.checkout_timeout_ms);
    if (!me.ready_cv.wait_until(lock, deadline, [&] { return me.ready; })) {
      waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &me));
      return Status::Unavailable("redis: no free connection (all " +
                                 std::to_string(options_.max_connections) + " in use)");
    }
    conn = std::move(me.conn);  // null: handed a slot
  }
  if (conn != nullptr) return Lease(this, std::move(conn), /*reused=*/true);
  if (std::chrono::steady_clock::now() < next_connect_) {
    --open_;
    HandOffLocked();
    return Status::Unavailable("redis: " + endpoint_.host + ":" + std::to_string(endpoint_.port) +
                               " unreachable, reconnect backing off");
  }
  lock.unlock();
  Result<std::unique_ptr<Connection>> fresh = Connect();
  lock.lock();
  if (!fresh.ok()) {
    --open_;
    backoff_ms_ = std::min(options_.max_backoff_ms, backoff_ms_ == 0 ? 50 : backoff_ms_ * 2);
    next_connect_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(backoff_ms_);
    HandOffLocked();
    return fresh.status();
  }
  backoff_ms_ = 0;
  return Lease(this, std::move(fresh).value(), /*reused=*/false);
}

void Pool::Return(std::unique_ptr<Connection> conn) {
  std::lock_guard lock(mu_);
  if (conn->broken()) {
    --open_;
  } else {
    idle_.push_back(std::move(conn));
  }
  HandOffLocked();
}

void Pool::HandOffLocked() {
  while (!waiters_.empty() && (!idle_.empty() || open_ < options_.max_connections)) {
    Waiter* next = waiters_.front();
    waiters_.pop_front();
    if (!idle_.empty()) {
      next->conn = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++open_;  // a slot reserved for the waiter: it connects
    }
    next->ready = true;
    next->ready_cv.notify_one();
  }
}

size_t Pool::Waiting() {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

Result<std::unique_ptr<Connection>> Pool::Connect() {
  const std::string where = endpoint_.host + ":" + std::to_string(endpoint_.port);
  redisContext* context =
      redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, Millis(options_.connect_timeout_ms));
  if (context == nullptr) return Status::Unavailable("redis: cannot connect to " + where + ": out of memory");
  auto conn = std::make_unique<Connection>(context);  // frees the context on every path
  if (context->err != 0) return Status::Unavailable("redis: cannot connect to " + where + ": " + context->errstr);
  // Without a timeout a half-open TCP connection would hang a worker forever.
  if (redisSetTimeout(context, Millis(options_.command_timeout_ms)) != REDIS_OK ||
      redisEnableKeepAlive(context) != REDIS_OK) {
    return Status::Unavailable("redis: cannot configure connection to " + where + ": " + context->errstr);
  }
  REFINERY_RETURN_IF_ERROR(Handshake(*conn));
  return conn;
}

Status Pool::Handshake(Connection& conn) {
  std::vector<std::vector<std::string>> commands;
  if (!endpoint_.password.empty()) commands.push_back({"AUTH", endpoint_.password});
  if (endpoint_.db != 0) commands.push_back({"SELECT", std::to_string(endpoint_.db)});
  for (const std::vector<std::string>& command : commands) {
    Result<Reply> reply = conn.Command(command);
    if (!reply.ok()) return reply.status();
    if (IsError(reply->get())) return ErrorReplyStatus(reply->get(), command.front());
  }
  return Status::Ok();
}

Script::Script(std::string text) : body(std::move(text)) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest);
  char hex[2 * SHA_DIGEST_LENGTH + 1];
  for (int i = 0; i < SHA_DIGEST_LENGTH; ++i) std::snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  sha1 = hex;
}

Result<Reply> Client::Raw(const std::vector<std::string>& args) {
  Result<Pool::Lease> conn = pool_.Checkout();
  if (!conn.ok()) return conn.status();
  Result<Reply> reply = (*conn)->Command(args);
  if (reply.ok() || !conn->reused() || (*conn)->timed_out()) return reply;
  {
    Pool::Lease stale = std::move(conn).value();  // broken: closed on scope exit
  }
  Result<Pool::Lease> fresh = pool_.Checkout(/*fresh_only=*/true);
  if (!fresh.ok()) return fresh.status();
  return (*fresh)->Command(args);
}

Result<Reply> Client::Run(const std::vector<std::string>& args) {
  Result<Reply> reply = Raw(args);
  if (reply.ok() && IsError(reply->get())) return ErrorReplyStatus(reply->get(), args.front());
  return reply;
}

Result<Reply> Client::Eval(const Script& script, const std::vector<std::string>& keys,
                           const std::vector<std::string>& args) {
  std::vector<std::string> argv{"EVALSHA", script.sha1, std::to_string(keys.size())};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  Result<Reply> reply = Raw(argv);
  if (reply.ok() && IsError(reply->get(), "NOSCRIPT")) {  // EVAL also caches it again
    argv[0] = "EVAL";
    argv[1] = script.body;
    reply = Raw(argv);
  }
  if (reply.ok() && IsError(reply->get())) return ErrorReplyStatus(reply->get(), "script");
  return reply;
}

}  // namespace refinery::redis
