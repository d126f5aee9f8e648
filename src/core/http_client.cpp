#include "core/http_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>
#include <vector>

namespace refinery {
namespace {

// curl_global_init is not thread-safe; run it once before the first handle.
void EnsureCurlInitialised() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

// Where the body goes: kept, or handed to the request's reader.
struct BodySink {
  std::string* body;
  const std::function<bool(std::string_view)>* reader;  // may be empty
  const std::function<bool()>* keep_going;              // may be empty
  size_t max_body_bytes = 0;                            // 0: no cap
  bool aborted = false;
  bool too_large = false;
  size_t received = 0;
};

// The refusal of HttpRequest::check_address, kept for the call's result.
struct AddressGuard {
  const std::function<Status(const std::string&)>* check;
  Status refusal;
};

size_t WriteBody(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  sink->received += size * count;
  if (sink->max_body_bytes > 0 && sink->received > sink->max_body_bytes) {
    sink->too_large = true;
    return 0;  // curl ends the transfer with CURLE_WRITE_ERROR
  }
  if (!*sink->reader) {
    sink->body->append(data, size * count);
  } else if (!(*sink->reader)(std::string_view(data, size * count))) {
    sink->aborted = true;
    return 0;  // curl ends the transfer with CURLE_WRITE_ERROR
  }
  return size * count;
}

int KeepGoing(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* sink = static_cast<BodySink*>(user);
  if ((*sink->keep_going)()) return 0;
  sink->aborted = true;
  return 1;  // curl ends the transfer with CURLE_ABORTED_BY_CALLBACK
}

size_t WriteHeader(char* data, size_t size, size_t count, void* user) {
  std::string line(data, size * count);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t\r\n") + 1);
    (*static_cast<std::map<std::string, std::string>*>(user))[name] = value;
  }
  return size * count;
}

// Numeric form of a socket address curl is about to connect to.
std::string NumericAddress(const curl_sockaddr& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&address.addr);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
  } else if (address.family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address.addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
  }
  return text;
}

curl_socket_t OpenCheckedSocket(void* user, curlsocktype, curl_sockaddr* address) {
  auto* guard = static_cast<AddressGuard*>(user);
  const std::string ip = NumericAddress(*address);
  Status allowed = ip.empty() ? Status::InvalidArgument("refused a connection to a non-IP address")
                              : (*guard->check)(ip);
  if (!allowed.ok()) {
    guard->refusal = std::move(allowed);
    return CURL_SOCKET_BAD;  // curl fails the attempt with CURLE_COULDNT_CONNECT
  }
  return socket(address->family, address->socktype, address->protocol);
}

// The options of `request` beyond the body, headers and callbacks.
void SetTransferOptions(CURL* h, const HttpRequest& request) {
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // timeouts must not raise SIGALRM in threads
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout_s * 1000));
  double connect_s = std::min(request.timeout_s, request.connect_timeout_s);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_s * 1000));
  if (request.method != "GET" && request.method != "HEAD" && request.method != "DELETE") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  if (request.method == "HEAD") curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  if (request.stall_timeout_s > 0) {
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, std::max(1L, request.stall_min_bytes_per_s));
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, std::max(1L, static_cast<long>(request.stall_timeout_s)));
  }
  if (request.max_body_bytes > 0) {
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(request.max_body_bytes));
  }
  if (request.decode_content) curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
  if (request.direct) curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
}

// Runs `request` on `h`, which is fresh or reset (its connection cache survives a reset).
Result<HttpResponse> Perform(CURL* h, const HttpRequest& request) {
  HttpResponse response;
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const auto& [name, value] : request.headers) {
    headers.reset(curl_slist_append(headers.release(), (name + ": " + value).c_str()));
  }
  SetTransferOptions(h, request);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  AddressGuard guard{&request.check_address, Status::Ok()};
  if (request.check_address) {
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, OpenCheckedSocket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &guard);
  }
  BodySink sink{&response.body, &request.on_body, &request.keep_going, request.max_body_bytes};
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  if (request.keep_going) {
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, KeepGoing);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &sink);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  }
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, WriteHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &response.headers);
  CURLcode code = curl_easy_perform(h);
  if (!guard.refusal.ok() && code != CURLE_OK) return guard.refusal;
  if (sink.too_large || code == CURLE_FILESIZE_EXCEEDED) {
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
    response.too_large = true;
    return response;
  }
  if (sink.aborted) return Status::Unavailable(request.method + " " + request.url + ": stopped by its reader");
  if (code == CURLE_OPERATION_TIMEDOUT) {
    return Status::Timeout(request.method + " " + request.url + ": " + curl_easy_strerror(code));
  }
  if (code != CURLE_OK) {
    return Status::Unavailable(request.method + " " + request.url + ": " + curl_easy_strerror(code));
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  char* ip = nullptr;
  if (curl_easy_getinfo(h, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip != nullptr) response.primary_ip = ip;
  return response;
}

}  // namespace

Result<HttpResponse> HttpCall(const HttpRequest& request) {
  EnsureCurlInitialised();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Status::Internal("curl_easy_init failed");
  return Perform(curl.get(), request);
}

struct HttpSession::Handles {
  std::mutex mu;
  std::vector<std::unique_ptr<CURL, CurlDeleter>> idle;  // GUARDED_BY(mu)
  size_t max_idle;
};

HttpSession::HttpSession(size_t max_idle) : handles_(std::make_unique<Handles>()) { handles_->max_idle = max_idle; }

HttpSession::~HttpSession() = default;  // idle handles close their connections

Result<HttpResponse> HttpSession::Call(const HttpRequest& request) {
  EnsureCurlInitialised();
  std::unique_ptr<CURL, CurlDeleter> curl;
  {
    std::lock_guard lock(handles_->mu);
    if (!handles_->idle.empty()) {
      curl = std::move(handles_->idle.back());
      handles_->idle.pop_back();
    }
  }
  if (curl) {
    curl_easy_reset(curl.get());  // options go, the open connection stays
  } else {
    curl.reset(curl_easy_init());
    if (!curl) return Status::Internal("curl_easy_init failed");
  }
  Result<HttpResponse> response = Perform(curl.get(), request);
  std::lock_guard lock(handles_->mu);
  if (handles_->idle.size() < handles_->max_idle) handles_->idle.push_back(std::move(curl));
  return response;
}

Result<HttpResponse> HttpGet(const std::string& url, double timeout_s) {
  HttpRequest request;
  request.url = url;
  request.timeout_s = timeout_s;
  return HttpCall(request);
}

Result<HttpResponse> HttpPostJson(const std::string& url, const std::string& json, double timeout_s) {
  HttpRequest request;
  request.method = "POST";
  request.url = url;
  request.body = json;
  request.headers["Content-Type"] = "application/json";
  request.timeout_s = timeout_s;
  return HttpCall(request);
}

}  // namespace refinery
