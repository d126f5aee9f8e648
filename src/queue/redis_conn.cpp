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
  if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS || reply->type == REDIS_REPLY_ERROR) {
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
    : endpoint_(std::move(endpoint)),
      options_(options),
      pool_("redis", {.max_size = options.max_connections},
            {.open = [this](FcfsPool<Connection>::Deadline) { return Open(); },
             .validate = nullptr,  // a dead one shows on use; Client retries on a fresh one
             .discard = [](Connection& conn) { return conn.broken(); }}) {}

Pool::~Pool() = default;

Result<Pool::Lease> Pool::Checkout(bool fresh_only) {
  if (fresh_only) pool_.DiscardIdle();
  return pool_.Checkout(std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.checkout_timeout_ms));
}

size_t Pool::Waiting() const { return static_cast<size_t>(pool_.counts().waiting); }

Result<std::unique_ptr<Connection>> Pool::Open() {
  {
    std::lock_guard lock(backoff_mu_);
    if (std::chrono::steady_clock::now() < next_connect_) {
      return Status::Unavailable("redis: " + endpoint_.host + ":" + std::to_string(endpoint_.port) +
                                 " unreachable, reconnect backing off");
    }
  }
  Result<std::unique_ptr<Connection>> fresh = Connect();
  std::lock_guard lock(backoff_mu_);
  if (fresh.ok()) {
    failed_connects_ = 0;
    return fresh;
  }
  failed_connects_ = std::min(failed_connects_ + 1, 64);  // the cap is reached long before
  const std::chrono::duration<double> backoff(JitteredBackoff(options_.reconnect, failed_connects_));
  next_connect_ =
      std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(backoff);
  return fresh;
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
