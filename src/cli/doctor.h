// `refinery doctor`: a one-screen health report in sections. Each section is
// a function from the configuration to a list of marked lines plus JSON
// details, listed in one table (DoctorSections) so that adding a check means
// adding a row. The report is healthy when no line is marked kFail;
// warnings (e.g. dead letters) are shown but do not fail it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "pipeline/services.h"

namespace refinery::cli {

enum class Mark { kOk, kInfo, kWarn, kFail };
const char* MarkName(Mark mark);   // "ok" | "info" | "warn" | "fail"
const char* MarkLabel(Mark mark);  // "[ OK ]" | "[INFO]" | "[WARN]" | "[FAIL]"

struct DoctorLine {
  Mark mark = Mark::kOk;
  std::string text;
};

struct DoctorSection {
  std::string name;   // JSON key: services, api, database, queue, llm, pipeline
  std::string title;  // the text header
  std::vector<DoctorLine> lines;
  nlohmann::ordered_json details = nlohmann::ordered_json::object();  // machine-readable figures

  void Add(Mark mark, std::string text) { lines.push_back({mark, std::move(text)}); }
  Mark Worst() const;  // kOk for a section of only ok/info lines
};

// What every check may use. `services` is empty when the backends could not
// be opened (then `open_error` says why); checks that need them fail.
struct DoctorContext {
  Config config;
  std::string api_base;  // e.g. http://127.0.0.1:8000
  double timeout_s = 2;  // per HTTP probe
  std::optional<Services> services;
  std::string open_error;
};

struct DoctorCheck {
  const char* name;
  const char* title;
  void (*run)(DoctorContext& ctx, DoctorSection& section);
};

// The sections in report order.
const std::vector<DoctorCheck>& DoctorSections();

// Runs every section.
std::vector<DoctorSection> RunDoctor(DoctorContext& ctx);
bool Healthy(const std::vector<DoctorSection>& sections);

// One header line per section ("== Services [ OK ]"), then its lines.
std::string RenderDoctorText(const std::vector<DoctorSection>& sections);
// {"healthy": bool, "sections": {name: {"status", "title", "checks": [...], ...details}}}
nlohmann::ordered_json RenderDoctorJson(const std::vector<DoctorSection>& sections);

// The individual checks (doctor_checks.cpp, doctor_services.cpp).
void CheckServices(DoctorContext& ctx, DoctorSection& section);
void CheckApi(DoctorContext& ctx, DoctorSection& section);
void CheckDatabase(DoctorContext& ctx, DoctorSection& section);
void CheckQueue(DoctorContext& ctx, DoctorSection& section);
void CheckLlm(DoctorContext& ctx, DoctorSection& section);
void CheckPipeline(DoctorContext& ctx, DoctorSection& section);

}  // namespace refinery::cli
