#include "store/pg_conn.h"

#include <poll.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <map>

#include "core/vector_bytes.h"

namespace refinery::pg {
namespace {

// The client stops waiting this long after statement_timeout should have
// fired on the server: only a vanished network gets that far.
constexpr double kClientWaitSlackS = 5.0;

// Waits until `fd` is ready for `events` or `deadline` passes; false on timeout.
bool WaitSocket(int fd, short events, Deadline deadline) {
  for (;;) {
    const double left = SecondsLeft(deadline);
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int rc = poll(&p, 1, static_cast<int>(std::ceil(left * 1000)));
    if (rc > 0) return true;
    if (rc == 0) continue;            // loop re-checks the deadline (poll may wake early)
    if (errno != EINTR) return true;  // let libpq report the socket's error
  }
}

// libpq messages span lines ("...\n\tThis probably means..."): one log line each.
std::string Trim(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\t', ' ');
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// The server's NOTICEs ("schema already exists, skipping") are expected
// noise here; libpq would print each to stderr.
void IgnoreNotice(void*, const char*) {}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 0;
}

// Defaults from the issue: fail a connect to a black hole in 10 s, and notice
// a peer that vanished without a FIN within about a minute and a half.
constexpr std::array<std::pair<const char*, const char*>, 6> kDefaults = {{
    {"connect_timeout", "10"},
    {"keepalives", "1"},
    {"keepalives_idle", "30"},
    {"keepalives_interval", "10"},
    {"keepalives_count", "5"},
    {"fallback_application_name", "refinery"},
}};

}  // namespace

double SecondsLeft(Deadline deadline) { return std::chrono::duration<double>(deadline - Clock::now()).count(); }

Deadline After(double seconds) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

bool IsConnectionError(std::string_view sqlstate, bool connection_bad, std::string_view message) {
  if (sqlstate.starts_with("08")) return true;
  if (sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03") return true;
  if (!sqlstate.empty()) return false;  // the server answered: the statement failed, not the session
  return connection_bad || message.find("server closed the connection unexpectedly") != std::string_view::npos ||
         message.find("no connection to the server") != std::string_view::npos;
}

Status StatementErrorStatus(std::string_view sqlstate, const std::string& message) {
  if (sqlstate.starts_with("22") || sqlstate.starts_with("23")) {
    return Status::InvalidArgument(message);
  }
  if (sqlstate == "57014") return Status::Timeout(message);
  if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate.starts_with("53") || sqlstate == "55P03") {
    return Status::Unavailable(message);
  }
  return Status::Internal(message);
}

Result<ConnectSettings> BuildConnectSettings(const std::string& url, double statement_timeout_s) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (options == nullptr) {
    std::string why = error != nullptr ? Trim(error) : "out of memory";
    PQfreemem(error);
    return Status::InvalidArgument("DATABASE_URL: cannot parse: " + why);
  }
  std::map<std::string, std::string> set;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val != nullptr) set[o->keyword] = o->val;
  }
  PQconninfoFree(options);
  for (const auto& [key, value] : kDefaults) set.try_emplace(key, value);
  std::string& opts = set["options"];
  if (opts.find("statement_timeout") == std::string::npos) {
    const auto ms = static_cast<int64_t>(std::llround(statement_timeout_s * 1000));
    opts += (opts.empty() ? "" : " ") + std::string("-c statement_timeout=") + std::to_string(ms);
  }
  ConnectSettings settings;
  settings.statement_timeout_s = statement_timeout_s;
  double timeout = 0;
  const std::string& ct = set["connect_timeout"];
  auto [ptr, ec] = std::from_chars(ct.data(), ct.data() + ct.size(), timeout);
  (void)ptr;
  // libpq treats 0 (or junk) as "wait forever"; our caller's deadline still bounds it.
  settings.connect_timeout_s = (ec == std::errc() && timeout > 0) ? timeout : 1e9;
  settings.params.assign(set.begin(), set.end());
  return settings;
}

// ---- Params ----

void Params::Add(double v) {
  std::array<char, 64> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  (void)ec;  // 64 bytes always suffice for a double
  AddText(std::string(buf.data(), end));
}

void Params::Add(const std::vector<float>& v) {
  if (v.empty()) return Add(nullptr);
  values_.emplace_back(EncodeFloats(v));
  formats_.push_back(1);
}

std::vector<const char*> Params::Values() const {
  std::vector<const char*> out;
  for (const auto& v : values_) out.push_back(v ? v->c_str() : nullptr);
  return out;
}

std::vector<int> Params::Lengths() const {
  std::vector<int> out;
  for (const auto& v : values_) out.push_back(v ? static_cast<int>(v->size()) : 0);
  return out;
}

// ---- Rows ----

std::string Rows::Text(int row, int col) const {
  return std::string(PQgetvalue(result_.get(), row, col), static_cast<size_t>(PQgetlength(result_.get(), row, col)));
}

int64_t Rows::Int(int row, int col) const {
  const char* s = PQgetvalue(result_.get(), row, col);
  int64_t v = 0;
  std::from_chars(s, s + PQgetlength(result_.get(), row, col), v);
  return v;
}

double Rows::Real(int row, int col) const {
  const char* s = PQgetvalue(result_.get(), row, col);
  double v = 0;
  std::from_chars(s, s + PQgetlength(result_.get(), row, col), v);  // locale-independent
  return v;
}

std::vector<float> Rows::Floats(int row, int col) const {
  if (IsNull(row, col)) return {};
  const char* s = PQgetvalue(result_.get(), row, col);
  const auto len = static_cast<size_t>(PQgetlength(result_.get(), row, col));
  if (len < 2 || s[0] != '\\' || s[1] != 'x') return {};  // bytea_output=hex is the default
  std::string bytes((len - 2) / 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<char>(HexValue(s[2 + 2 * i]) * 16 + HexValue(s[3 + 2 * i]));
  }
  return DecodeFloats(bytes.data(), bytes.size());
}

int64_t Rows::Affected() const {
  const char* s = PQcmdTuples(result_.get());
  int64_t v = 0;
  std::from_chars(s, s + std::char_traits<char>::length(s), v);
  return v;
}

// ---- Conn ----

Conn::Conn(Key, ConnPtr conn, double statement_timeout_s)
    : conn_(std::move(conn)),
      statement_timeout_s_(statement_timeout_s),
      created_at_(Clock::now()),
      last_ok_at_(created_at_) {}

Result<std::unique_ptr<Conn>> Conn::Connect(const ConnectSettings& settings, Deadline deadline) {
  std::vector<const char*> keys;
  std::vector<const char*> values;
  for (const auto& [k, v] : settings.params) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  ConnPtr conn(PQconnectStartParams(keys.data(), values.data(), 0));
  if (conn == nullptr) return Status::Unavailable("postgres: cannot connect: out of memory");
  const Deadline limit = std::min(deadline, After(settings.connect_timeout_s));
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED || PQstatus(conn.get()) == CONNECTION_BAD) {
      return Status::Unavailable("postgres: cannot connect: " + Trim(PQerrorMessage(conn.get())));
    }
    const short events = state == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    if (!WaitSocket(PQsocket(conn.get()), events, limit)) {
      return Status::Unavailable("postgres: cannot connect: no answer within the time left");
    }
    state = PQconnectPoll(conn.get());
  }
  PQsetNoticeProcessor(conn.get(), IgnoreNotice, nullptr);
  return std::make_unique<Conn>(Key{}, std::move(conn), settings.statement_timeout_s);
}

bool Conn::InTransaction() const { return PQtransactionStatus(conn_.get()) != PQTRANS_IDLE; }

bool Conn::LooksIdleAndOpen() {
  if (broken_ || PQstatus(conn_.get()) != CONNECTION_OK) return false;
  pollfd p{PQsocket(conn_.get()), POLLIN, 0};
  return poll(&p, 1, 0) == 0;  // readable on an idle session: a goodbye or EOF
}

Status Conn::Failure(const PGresult* result, std::string_view sql) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string_view sqlstate = state != nullptr ? state : "";
  std::string message = Trim(result != nullptr ? PQresultErrorMessage(result) : "");
  if (message.empty()) message = Trim(PQerrorMessage(conn_.get()));
  const bool bad = PQstatus(conn_.get()) == CONNECTION_BAD;
  if (IsConnectionError(sqlstate, bad, message)) {
    broken_ = true;
    return Status::Unavailable("postgres: connection lost: " + message);
  }
  std::string what(sql.substr(0, 80));
  return StatementErrorStatus(sqlstate, "postgres: " + message + " (in: " + what + ")");
}

Result<ResultPtr> Conn::WaitForResult(Deadline deadline) {
  ResultPtr first;
  for (;;) {
    while (PQisBusy(conn_.get()) != 0) {
      if (!WaitSocket(PQsocket(conn_.get()), POLLIN, deadline)) {
        broken_ = true;  // the session's state is unknown now
        return Status::Unavailable("postgres: no answer from the server in time");
      }
      if (PQconsumeInput(conn_.get()) == 0) return Failure(nullptr, "");
    }
    ResultPtr next(PQgetResult(conn_.get()));
    if (next == nullptr) break;
    // Keep the first result, unless a later one reports the error.
    if (first == nullptr || PQresultStatus(next.get()) == PGRES_FATAL_ERROR) first = std::move(next);
  }
  if (first == nullptr) return Failure(nullptr, "");
  return first;
}

Result<Rows> Conn::Exec(std::string_view sql, const Params& params, std::optional<Deadline> deadline) {
  if (broken_) return Status::Unavailable("postgres: connection lost earlier");
  const std::string text(sql);
  const auto values = params.Values();
  const auto lengths = params.Lengths();
  // Without parameters, the simple protocol: it also runs several
  // statements in one string (migrations).
  const int sent = params.size() == 0 ? PQsendQuery(conn_.get(), text.c_str())
                                      : PQsendQueryParams(conn_.get(), text.c_str(), params.size(), nullptr,
                                                          values.data(), lengths.data(), params.Formats().data(), 0);
  if (sent == 0) {
    return Failure(nullptr, sql);
  }
  auto result = WaitForResult(deadline.value_or(After(statement_timeout_s_ + kClientWaitSlackS)));
  if (!result.ok()) return result.status();
  const ExecStatusType status = PQresultStatus(result->get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return Failure(result->get(), sql);
  last_ok_at_ = Clock::now();
  return Rows(std::move(*result));
}

Status Conn::Run(std::string_view sql, const Params& params) {
  auto rows = Exec(sql, params);
  return rows.ok() ? Status::Ok() : rows.status();
}

}  // namespace refinery::pg
