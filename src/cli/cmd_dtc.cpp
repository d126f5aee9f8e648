// `refinery dtc CODE`: one trouble code with what the knowledge base knows
// about it (the shape of GET /dtc/{code} with --json).
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "api/dtc_json.h"
#include "cli/cli.h"
#include "pipeline/services.h"

namespace refinery::cli {
namespace {

using nlohmann::json;

std::string Text(const json& v) { return v.is_string() ? v.get<std::string>() : v.is_null() ? "-" : v.dump(); }

void PrintDtc(const json& d) {
  std::cout << Text(d["code"]) << "  " << Text(d["description"]) << "\n  " << Text(d["category"]) << ", "
            << Text(d["standard"]) << ", severity " << Text(d["severity"]) << "; confidence " << std::fixed
            << std::setprecision(2) << d["confidence_score"].get<double>() << " from "
            << d["source_count"].get<int64_t>() << " source(s)\n";
  if (!d["causes"].empty()) std::cout << "  causes:\n";
  for (const json& c : d["causes"]) {
    std::cout << "    " << std::left << std::setw(7) << Text(c["likelihood"]) << c["confidence_score"].get<double>()
              << "  " << Text(c["description"]) << "\n";
  }
  if (!d["diagnostic_steps"].empty()) std::cout << "  diagnostic steps:\n";
  for (const json& s : d["diagnostic_steps"]) {
    std::cout << "    " << Text(s["step_order"]) << ". " << Text(s["description"]);
    if (!s["tools_required"].empty()) std::cout << "  [" << Text(s["tools_required"]) << "]";
    if (s["expected_values"].is_string()) std::cout << "  expect " << Text(s["expected_values"]);
    std::cout << "\n";
  }
  for (const json& s : d["sensors"]) {
    std::cout << "  sensor: " << Text(s["name"]) << " (" << Text(s["sensor_type"]);
    if (s["typical_range"].is_string()) std::cout << ", " << Text(s["typical_range"]) << " " << Text(s["unit"]);
    std::cout << ")\n";
  }
  for (const json& t : d["tsb_references"]) std::cout << "  bulletin: " << Text(t["tsb_number"]) << "  " << Text(t["summary"]) << "\n";
  for (const json& c : d["conflicts"]) {
    std::cout << "  conflict on " << Text(c["field"]) << ": chose " << Text(c["resolved_value"]) << " ("
              << Text(c["reason"]) << ")\n";
  }
}

}  // namespace

void AddDtc(CLI::App& app, const GlobalFlags& flags, int* code) {
  auto* cmd = app.add_subcommand("dtc", "Show a trouble code: description, causes, steps, sensors, conflicts");
  auto dtc = std::make_shared<std::string>();
  cmd->add_option("code", *dtc, "The code, e.g. P0420 (any case)")->required();
  auto as_json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *as_json, "Print JSON (the shape of GET /dtc/{code})");
  cmd->callback([&flags, code, dtc, as_json] {
    auto services = OpenOrReport(flags, "dtc", OpenMode::kReadOnly, code);
    if (!services) return;
    auto detail = api::DtcDetailJson(services->store->knowledge(), *dtc);
    if (!detail.ok()) {
      std::cerr << "refinery: " << detail.status().message() << "\n";
      const StatusCode c = detail.status().code();
      *code = detail.status().transient() ? kExitUnavailable : c == StatusCode::kNotFound ? kExitFailure : kExitUsage;
      return;
    }
    if (*as_json) {
      std::cout << detail->dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    } else {
      PrintDtc(*detail);
    }
    *code = kExitOk;
  });
}

}  // namespace refinery::cli
