// [services.<name>] tables of refinery.toml: the supervision settings of
// each service `refinery up` runs.
#include <functional>
#include <vector>

#include "core/config_internal.h"

namespace refinery {
namespace {

using FieldReader = std::function<Status(ServiceSettings&, const toml::node&, const std::string& name)>;

Status WrongType(const std::string& name, const char* want) {
  return Status::InvalidArgument(name + ": expected " + want);
}

FieldReader Seconds(std::optional<double> ServiceSettings::*field) {
  return [field](ServiceSettings& s, const toml::node& node, const std::string& name) {
    auto value = node.value<double>();  // integers convert too
    if (!value || !(*value > 0) || *value > 86400) return WrongType(name, "a number of seconds in (0, 86400]");
    s.*field = *value;
    return Status::Ok();
  };
}

FieldReader Count(std::optional<int> ServiceSettings::*field, int lo, int hi) {
  return [field, lo, hi](ServiceSettings& s, const toml::node& node, const std::string& name) {
    auto value = node.value<int64_t>();
    if (!node.is_integer() || *value < lo || *value > hi) {
      return Status::InvalidArgument(name + ": expected an integer in " + std::to_string(lo) + ".." +
                                     std::to_string(hi));
    }
    s.*field = static_cast<int>(*value);
    return Status::Ok();
  };
}

Status ReadRestart(ServiceSettings& s, const toml::node& node, const std::string& name) {
  auto value = node.value<std::string>();
  if (!node.is_string()) return WrongType(name, "a string (no, on-failure, always or unless-stopped)");
  s.restart = *value;
  return Status::Ok();
}

Status ReadDependsOn(ServiceSettings& s, const toml::node& node, const std::string& name) {
  const toml::array* list = node.as_array();
  if (list == nullptr) return WrongType(name, "an array of service names");
  std::vector<std::string> names;
  for (const auto& item : *list) {
    if (!item.is_string()) return WrongType(name, "an array of service names");
    names.push_back(*item.value<std::string>());
  }
  s.depends_on = std::move(names);
  return Status::Ok();
}

const std::vector<std::pair<std::string, FieldReader>>& Fields() {
  static const std::vector<std::pair<std::string, FieldReader>> kFields = {
      {"restart", ReadRestart},
      {"replicas", Count(&ServiceSettings::replicas, 1, 64)},
      {"concurrency", Count(&ServiceSettings::concurrency, 1, 256)},
      {"depends_on", ReadDependsOn},
      {"health_interval_s", Seconds(&ServiceSettings::health_interval_s)},
      {"health_timeout_s", Seconds(&ServiceSettings::health_timeout_s)},
      {"health_retries", Count(&ServiceSettings::health_retries, 1, 100)},
      {"start_period_s", Seconds(&ServiceSettings::start_period_s)},
      {"backoff_initial_s", Seconds(&ServiceSettings::backoff_initial_s)},
      {"backoff_max_s", Seconds(&ServiceSettings::backoff_max_s)},
      {"stable_after_s", Seconds(&ServiceSettings::stable_after_s)},
      {"crash_loop_after", Count(&ServiceSettings::crash_loop_after, 1, 1000)},
  };
  return kFields;
}

Status ReadService(ServiceSettings& settings, const toml::table& table, const std::string& where) {
  for (const auto& [key, node] : table) {
    const std::string name = where + "." + std::string(key.str());
    bool known = false;
    for (const auto& [field, read] : Fields()) {
      if (field != key.str()) continue;
      known = true;
      REFINERY_RETURN_IF_ERROR(read(settings, node, name));
    }
    if (!known) {
      std::string fields;
      for (const auto& entry : Fields()) fields += (fields.empty() ? "" : ", ") + entry.first;
      return Status::InvalidArgument(name + ": unknown setting (known: " + fields + ")");
    }
  }
  return Status::Ok();
}

}  // namespace

ServiceSettings ServiceSettings::Over(const ServiceSettings& base) const {
  ServiceSettings merged = base;
  auto take = [](auto& into, const auto& from) {
    if (from) into = from;
  };
  take(merged.restart, restart);
  take(merged.replicas, replicas);
  take(merged.concurrency, concurrency);
  take(merged.depends_on, depends_on);
  take(merged.health_interval_s, health_interval_s);
  take(merged.health_timeout_s, health_timeout_s);
  take(merged.health_retries, health_retries);
  take(merged.start_period_s, start_period_s);
  take(merged.backoff_initial_s, backoff_initial_s);
  take(merged.backoff_max_s, backoff_max_s);
  take(merged.stable_after_s, stable_after_s);
  take(merged.crash_loop_after, crash_loop_after);
  return merged;
}

Status ApplyServicesToml(Config& config, const toml::table& services, const std::string& path) {
  for (const auto& [key, node] : services) {
    const std::string where = path + ": services." + std::string(key.str());
    const toml::table* table = node.as_table();
    if (table == nullptr)
      return Status::InvalidArgument(where + ": expected a table ([services." + std::string(key.str()) + "])");
    REFINERY_RETURN_IF_ERROR(ReadService(config.services[std::string(key.str())], *table, where));
  }
  return Status::Ok();
}

}  // namespace refinery
