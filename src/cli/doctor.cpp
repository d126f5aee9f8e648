// The doctor's section table and its text and JSON renderings.
#include "cli/doctor.h"

#include <algorithm>

namespace refinery::cli {

const char* MarkName(Mark mark) {
  switch (mark) {
    case Mark::kOk:
      return "ok";
    case Mark::kInfo:
      return "info";
    case Mark::kWarn:
      return "warn";
    case Mark::kFail:
      return "fail";
  }
  return "fail";
}

const char* MarkLabel(Mark mark) {
  switch (mark) {
    case Mark::kOk:
      return "[ OK ]";
    case Mark::kInfo:
      return "[INFO]";
    case Mark::kWarn:
      return "[WARN]";
    case Mark::kFail:
      return "[FAIL]";
  }
  return "[FAIL]";
}

Mark DoctorSection::Worst() const {
  Mark worst = Mark::kOk;
  for (const DoctorLine& line : lines) {
    if (line.mark == Mark::kWarn || line.mark == Mark::kFail) worst = std::max(worst, line.mark);
  }
  return worst;
}

const std::vector<DoctorCheck>& DoctorSections() {
  static const std::vector<DoctorCheck> kSections = {
      {"services", "Services", CheckServices}, {"api", "API", CheckApi},
      {"database", "Database", CheckDatabase}, {"queue", "Queue", CheckQueue},
      {"llm", "LLM services", CheckLlm},       {"pipeline", "Pipeline", CheckPipeline},
  };
  return kSections;
}

std::vector<DoctorSection> RunDoctor(DoctorContext& ctx) {
  std::vector<DoctorSection> sections;
  for (const DoctorCheck& check : DoctorSections()) {
    DoctorSection section;
    section.name = check.name;
    section.title = check.title;
    check.run(ctx, section);
    sections.push_back(std::move(section));
  }
  return sections;
}

bool Healthy(const std::vector<DoctorSection>& sections) {
  return std::none_of(sections.begin(), sections.end(),
                      [](const DoctorSection& s) { return s.Worst() == Mark::kFail; });
}

std::string RenderDoctorText(const std::vector<DoctorSection>& sections) {
  std::string out;
  for (const DoctorSection& section : sections) {
    out += "== " + section.title + " " + MarkLabel(section.Worst()) + "\n";
    for (const DoctorLine& line : section.lines) {
      out += "  " + std::string(MarkLabel(line.mark)) + " " + line.text + "\n";
    }
    out += "\n";
  }
  out += Healthy(sections) ? "healthy\n" : "UNHEALTHY\n";
  return out;
}

nlohmann::ordered_json RenderDoctorJson(const std::vector<DoctorSection>& sections) {
  nlohmann::ordered_json out;
  out["healthy"] = Healthy(sections);
  nlohmann::ordered_json by_name = nlohmann::ordered_json::object();
  for (const DoctorSection& section : sections) {
    nlohmann::ordered_json s;
    s["status"] = MarkName(section.Worst());
    s["title"] = section.title;
    nlohmann::ordered_json checks = nlohmann::ordered_json::array();
    for (const DoctorLine& line : section.lines) {
      checks.push_back({{"status", MarkName(line.mark)}, {"message", line.text}});
    }
    s["checks"] = std::move(checks);
    for (const auto& [key, value] : section.details.items()) s[key] = value;
    by_name[section.name] = std::move(s);
  }
  out["sections"] = std::move(by_name);
  return out;
}

}  // namespace refinery::cli
