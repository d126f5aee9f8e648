// The doctor's "services" section. With a `refinery up` answering on its
// control socket, its "status" reply is the source (state, health,
// restarts). Either way /proc is scanned for `refinery up|api|worker`
// processes whose data directory (--data-dir, else REFINERY_DATA_DIR, else
// ./refinery-data relative to the process's cwd) is ours: without a
// supervisor that scan is the only source, and with one it still catches a
// SIGSTOPped child before the supervisor's health check does. The scan sees
// only processes on this machine.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/cli.h"
#include "cli/doctor.h"
#include "control/control_client.h"
#include "pipeline/stage_chain.h"
#include "supervisor/supervisor.h"

namespace refinery::cli {
namespace {

namespace fs = std::filesystem;

struct FoundProcess {
  pid_t pid = 0;
  std::string role;   // up | api | worker
  std::string stage;  // for workers
  std::string data_dir;
  char state = '?';  // /proc/<pid>/stat: R S D T t Z ...
  double uptime_s = 0;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// NUL-separated entries (cmdline, environ).
std::vector<std::string> SplitNul(const std::string& text) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, '\0')) parts.push_back(part);
  return parts;
}

std::string EnvValue(pid_t pid, const std::string& name) {
  for (const std::string& entry : SplitNul(ReadFile("/proc/" + std::to_string(pid) + "/environ"))) {
    if (entry.rfind(name + "=", 0) == 0) return entry.substr(name.size() + 1);
  }
  return "";
}

// Fills role, stage and data_dir from a refinery command line; false for
// other programs and other subcommands.
bool ParseCommandLine(pid_t pid, const std::vector<std::string>& argv, FoundProcess& out) {
  if (argv.empty() || fs::path(argv[0]).filename() != "refinery") return false;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg == "--data-dir" && i + 1 < argv.size()) {
      out.data_dir = argv[++i];
    } else if (arg.rfind("--data-dir=", 0) == 0) {
      out.data_dir = arg.substr(11);
    } else if ((arg == "--config" || arg == "--log-level") && i + 1 < argv.size()) {
      ++i;
    } else if (arg.rfind("-", 0) != 0 && out.role.empty()) {
      out.role = arg;
    } else if (arg.rfind("-", 0) != 0 && out.role == "worker" && out.stage.empty()) {
      out.stage = arg;
    }
  }
  if (out.role != "up" && out.role != "api" && out.role != "worker") return false;
  if (out.data_dir.empty()) out.data_dir = EnvValue(pid, "REFINERY_DATA_DIR");
  if (out.data_dir.empty()) out.data_dir = "./refinery-data";
  std::error_code ec;
  fs::path cwd = fs::read_symlink("/proc/" + std::to_string(pid) + "/cwd", ec);
  fs::path dir = fs::path(out.data_dir).is_absolute() ? fs::path(out.data_dir) : cwd / out.data_dir;
  out.data_dir = fs::weakly_canonical(dir, ec).string();
  return true;
}

// State letter and seconds since start, from /proc/<pid>/stat.
void ReadStat(FoundProcess& p) {
  std::string stat = ReadFile("/proc/" + std::to_string(p.pid) + "/stat");
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return;
  std::istringstream fields(stat.substr(close + 2));
  std::vector<std::string> f;
  for (std::string word; fields >> word;) f.push_back(word);
  if (f.size() < 20) return;
  p.state = f[0].empty() ? '?' : f[0][0];
  double boot_uptime = 0;
  std::istringstream(ReadFile("/proc/uptime")) >> boot_uptime;
  p.uptime_s = boot_uptime - std::stod(f[19]) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::vector<FoundProcess> ScanProcesses(const std::string& data_dir) {
  std::error_code ec;
  std::string ours = fs::weakly_canonical(fs::absolute(data_dir, ec), ec).string();
  std::vector<FoundProcess> found;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    FoundProcess p;
    p.pid = static_cast<pid_t>(std::stol(name));
    if (p.pid == getpid()) continue;
    if (!ParseCommandLine(p.pid, SplitNul(ReadFile(entry.path().string() + "/cmdline")), p)) continue;
    if (p.data_dir != ours) continue;
    ReadStat(p);
    found.push_back(p);
  }
  return found;
}

std::string Describe(const FoundProcess& p) {
  std::string what = "refinery " + p.role + (p.stage.empty() ? "" : " " + p.stage);
  return what + ": pid " + std::to_string(p.pid) + ", up " + std::to_string(static_cast<long>(p.uptime_s)) + " s";
}

// A stopped (SIGSTOP) or zombie process does not serve, however alive it looks.
Mark ProcessMark(const FoundProcess& p) {
  return (p.state == 'T' || p.state == 't' || p.state == 'Z') ? Mark::kFail : Mark::kOk;
}

std::string StateNote(const FoundProcess& p) {
  if (p.state == 'T' || p.state == 't') return " (stopped)";
  if (p.state == 'Z') return " (zombie)";
  return "";
}

// One line for the processes of one role (and stage); fail when none runs.
void ReportRole(DoctorSection& section, const std::vector<FoundProcess>& all, const std::string& role,
                const std::string& stage) {
  bool any = false;
  for (const FoundProcess& p : all) {
    if (p.role != role || p.stage != stage) continue;
    any = true;
    section.Add(ProcessMark(p), Describe(p) + StateNote(p));
  }
  std::string what = "refinery " + role + (stage.empty() ? "" : " " + stage);
  if (!any) section.Add(Mark::kFail, what + ": no process running for this data directory");
}

void ReportScan(DoctorSection& section, const std::vector<FoundProcess>& found) {
  section.details["source"] = "process scan";
  section.Add(Mark::kInfo, "no supervisor answering on its control socket; services detected by scanning /proc");
  bool has_up = false;
  for (const FoundProcess& p : found) has_up = has_up || p.role == "up";
  if (has_up) {
    ReportRole(section, found, "up", "");
  } else {
    section.Add(Mark::kInfo, "no `refinery up` supervisor for this data directory");
  }
  ReportRole(section, found, "api", "");
  for (const StageDef& stage : WorkerStages()) ReportRole(section, found, "worker", stage.name);
}

// running+healthy is ok; a service stopped by hand is the operator's choice
// (warn); starting, waiting, backoff and stopping are transient (warn); failing,
// exited and unhealthy fail.
Mark ServiceMark(const nlohmann::json& s) {
  const std::string state = s.value("state", "");
  const std::string health = s.value("health", "");
  if (state == "running") return health == "unhealthy" ? Mark::kFail : health == "starting" ? Mark::kWarn : Mark::kOk;
  if (state == "stopped" && s.value("held", false)) return Mark::kWarn;
  if (state == "starting" || state == "backoff" || state == "stopping" || state == "waiting") return Mark::kWarn;
  return Mark::kFail;
}

std::string ServiceText(const nlohmann::json& s) {
  std::string text = s.value("name", "?") + ": " + s.value("state", "?") + ", health " + s.value("health", "-") +
                     ", pid " + std::to_string(s.value("pid", 0)) + ", up " +
                     std::to_string(static_cast<long>(s.value("uptime_s", 0.0))) + " s, restarts " +
                     std::to_string(s.value("restarts", 0));
  if (s.value("held", false)) text += ", stopped by hand (`refinery start " + s.value("name", "") + "`)";
  if (!s.value("last_exit", "").empty()) text += ", last exit " + s.value("last_exit", "");
  if (!s.value("last_error", "").empty()) text += ", " + s.value("last_error", "");
  return text;
}

// False when no supervisor answers (the caller falls back to the scan).
bool ReportSupervisor(DoctorContext& ctx, DoctorSection& section, const std::vector<FoundProcess>& found) {
  const std::string path = ctx.config.ControlSocketPath();
  if (!fs::exists(path)) return false;
  auto reply = ControlRequest(path, "status", ctx.timeout_s);
  if (!reply.ok()) return false;
  auto parsed = nlohmann::json::parse(*reply, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object() || !parsed["services"].is_array()) return false;
  section.details["source"] = "supervisor";
  section.details["services"] = parsed["services"];
  section.Add(Mark::kOk, "supervisor answers on " + path);
  for (const auto& s : parsed["services"]) {
    Mark mark = ServiceMark(s);
    std::string text = ServiceText(s);
    for (const FoundProcess& p : found) {
      if (p.pid != s.value("pid", 0) || ProcessMark(p) == Mark::kOk) continue;
      mark = Mark::kFail;
      text += StateNote(p);
    }
    section.Add(mark, text);
  }
  return true;
}

}  // namespace

void CheckServices(DoctorContext& ctx, DoctorSection& section) {
  std::vector<FoundProcess> found = ScanProcesses(ctx.config.data_dir);
  if (!ReportSupervisor(ctx, section, found)) ReportScan(section, found);
  nlohmann::ordered_json processes = nlohmann::ordered_json::array();
  for (const FoundProcess& p : found) {
    processes.push_back({{"pid", p.pid},
                         {"role", p.role},
                         {"stage", p.stage},
                         {"state", std::string(1, p.state)},
                         {"uptime_s", p.uptime_s},
                         {"status", MarkName(ProcessMark(p))}});
  }
  section.details["processes"] = std::move(processes);
}

}  // namespace refinery::cli
