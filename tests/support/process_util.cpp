#include "support/process_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

namespace refinery::testing {

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t length = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    close(fd);
    throw std::runtime_error("bind failed");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Field 4 of /proc/PID/stat (after the parenthesised command, which may hold spaces).
pid_t ParentOf(const std::string& stat) {
  auto close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close_paren + 2));
  std::string state;
  pid_t ppid = -1;
  fields >> state >> ppid;
  return state == "Z" ? -1 : ppid;  // a zombie is not a live child
}

}  // namespace

std::vector<pid_t> ChildPids(pid_t parent, const std::string& needle) {
  std::vector<pid_t> pids;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string base = entry.path().string();
    if (ParentOf(ReadFile(base + "/stat")) != parent) continue;
    std::string cmdline = ReadFile(base + "/cmdline");
    for (char& c : cmdline)
      if (c == '\0') c = ' ';
    if (cmdline.find(needle) != std::string::npos) pids.push_back(std::stoi(name));
  }
  return pids;
}

pid_t ParentPid(pid_t pid) { return ParentOf(ReadFile("/proc/" + std::to_string(pid) + "/stat")); }

double ProcessAgeSeconds(pid_t pid) {
  // Field 22 of /proc/PID/stat: start time in clock ticks after boot.
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  auto close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close_paren + 2));
  std::string field;
  for (int i = 3; i <= 22; ++i) fields >> field;
  double uptime = -1;
  std::istringstream(ReadFile("/proc/uptime")) >> uptime;
  if (!fields || uptime < 0) return -1;
  return uptime - std::stod(field) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

bool IsAlive(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  auto close_paren = stat.rfind(')');
  return close_paren != std::string::npos && close_paren + 2 < stat.size() && stat[close_paren + 2] != 'Z';
}

bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
               std::chrono::milliseconds poll) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(poll);
  }
  return condition();
}

std::vector<ScifactDoc> LoadScifact(size_t limit) {
  std::ifstream in(std::string(REFINERY_SCIFACT_DIR) + "/corpus.jsonl");
  if (!in) throw std::runtime_error("cannot open SciFact corpus under " REFINERY_SCIFACT_DIR);
  std::vector<ScifactDoc> docs;
  for (std::string line; docs.size() < limit && std::getline(in, line);) {
    auto json = nlohmann::json::parse(line);
    docs.push_back(
        {json.at("_id").get<std::string>(), json.at("title").get<std::string>(), json.at("text").get<std::string>()});
  }
  return docs;
}

}  // namespace refinery::testing
