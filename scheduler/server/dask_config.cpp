#include "scheduler/server/dask_config.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "protocol/messages/timedelta.hpp"

extern char** environ;

namespace daskcpp::scheduler {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

// The scalar after "key:", without a trailing comment or quotes.
std::string scalar_text(std::string_view v) {
  v = trim(v);
  if (!v.empty() && (v.front() == '"' || v.front() == '\'')) {
    const char q = v.front();
    auto end = v.find(q, 1);
    return std::string(
        v.substr(1, end == std::string_view::npos ? v.size() - 1 : end - 1));
  }
  if (auto hash = v.find(" #"); hash != std::string_view::npos)
    v = trim(v.substr(0, hash));
  return std::string(v);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

Result<double> parse_number(const std::string& key, const std::string& v) {
  const std::string l = lower(v);
  if (l == "inf" || l == ".inf" || l == "infinity") return kInfinity;
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (v.empty() || end == nullptr || *end != '\0') {
    return Status::Invalid("dask config '" + key + "': expected a number, got '" + v +
                           "'");
  }
  return d;
}

Result<double> parse_seconds(const std::string& key, const std::string& v) {
  Result<double> r = protocol::parse_timedelta(std::string_view(v));
  if (!r.ok()) {
    return Status::Invalid("dask config '" + key + "': " + r.status().message());
  }
  return *r;
}

// dask.utils.parse_bytes for the few forms config files use ("100MB", "1 kiB", 1e8).
Result<double> parse_bytes(const std::string& key, const std::string& v) {
  std::size_t i = 0;
  while (i < v.size() && (std::isdigit(static_cast<unsigned char>(v[i])) || v[i] == '.' ||
                          v[i] == 'e' || v[i] == 'E' || v[i] == '+' || v[i] == '-')) {
    ++i;
  }
  std::string num = v.substr(0, i);
  std::string unit = lower(std::string(trim(std::string_view(v).substr(i))));
  static const std::pair<const char*, double> kUnits[] = {
      {"", 1},         {"b", 1},           {"kb", 1e3},
      {"mb", 1e6},     {"gb", 1e9},        {"tb", 1e12},
      {"kib", 1024.0}, {"mib", 1048576.0}, {"gib", 1073741824.0},
      {"k", 1e3},      {"m", 1e6},         {"g", 1e9}};
  for (const auto& [u, mult] : kUnits) {
    if (unit == u) {
      DASKCPP_ASSIGN_OR_RETURN(double n, parse_number(key, num.empty() ? "1" : num));
      return n * mult;
    }
  }
  return Status::Invalid("dask config '" + key + "': cannot parse bytes '" + v + "'");
}

}  // namespace

std::string normalize_config_key(std::string_view key) {
  std::string out = lower(std::string(key));
  std::replace(out.begin(), out.end(), '_', '-');
  return out;
}

void parse_config_yaml(std::string_view text, FlatConfig& out) {
  // Stack of (indent, key) for the enclosing mappings.
  std::vector<std::pair<std::size_t, std::string>> stack;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::string_view l = line;
    if (auto c = l.find('#');
        c == 0 || (c != std::string_view::npos && trim(l.substr(0, c)).empty())) {
      continue;
    }
    if (trim(l).empty() || trim(l).front() == '-' || trim(l) == "---") continue;
    std::size_t indent = l.find_first_not_of(' ');
    std::string_view body = l.substr(indent);
    auto colon = body.find(':');
    if (colon == std::string_view::npos) continue;
    std::string key = normalize_config_key(scalar_text(body.substr(0, colon)));
    std::string value = scalar_text(body.substr(colon + 1));
    while (!stack.empty() && stack.back().first >= indent) stack.pop_back();
    std::string path;
    for (const auto& [ind, k] : stack) path += k + ".";
    path += key;
    if (value.empty()) {
      stack.emplace_back(indent, key);
    } else if (value.front() != '{' && value.front() != '[') {
      out[path] = value;
    }
  }
}

void parse_config_env(const std::vector<std::string>& env, FlatConfig& out) {
  for (const std::string& entry : env) {
    if (entry.rfind("DASK_", 0) != 0) continue;
    auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    std::string name = entry.substr(5, eq - 5);
    std::string path;
    std::size_t pos = 0;
    while (true) {
      auto sep = name.find("__", pos);
      path += normalize_config_key(name.substr(pos, sep - pos));
      if (sep == std::string::npos) break;
      path += ".";
      pos = sep + 2;
    }
    out[path] = scalar_text(entry.substr(eq + 1));
  }
}

Result<SchedulerSettings> settings_from_config(const FlatConfig& flat) {
  SchedulerSettings s;
  auto get = [&](const char* k) -> const std::string* {
    auto it = flat.find(std::string("distributed.scheduler.") + k);
    return it == flat.end() ? nullptr : &it->second;
  };
  const std::string prefix = "distributed.scheduler.";
  if (const std::string* v = get("allowed-failures")) {
    DASKCPP_ASSIGN_OR_RETURN(double d, parse_number(prefix + "allowed-failures", *v));
    s.config.allowed_failures = static_cast<int>(d);
  }
  if (const std::string* v = get("worker-saturation")) {
    DASKCPP_ASSIGN_OR_RETURN(s.config.worker_saturation,
                             parse_number(prefix + "worker-saturation", *v));
  }
  if (const std::string* v = get("unknown-task-duration")) {
    DASKCPP_ASSIGN_OR_RETURN(s.config.unknown_task_duration,
                             parse_seconds(prefix + "unknown-task-duration", *v));
  }
  if (const std::string* v = get("worker-ttl")) {
    const std::string l = lower(*v);
    if (l == "null" || l == "none" || l == "~" || l == "false") {
      s.worker_ttl_seconds = 0;
    } else {
      DASKCPP_ASSIGN_OR_RETURN(s.worker_ttl_seconds,
                               parse_seconds(prefix + "worker-ttl", *v));
    }
  }
  if (const std::string* v = get("bandwidth")) {
    DASKCPP_ASSIGN_OR_RETURN(s.config.bandwidth, parse_bytes(prefix + "bandwidth", *v));
  }
  if (const std::string* v = get("default-data-size")) {
    DASKCPP_ASSIGN_OR_RETURN(double d, parse_bytes(prefix + "default-data-size", *v));
    s.config.default_data_size = static_cast<std::int64_t>(d);
  }
  for (auto [name, field] :
       {std::pair{"sender-min", &s.config.rebalance_sender_min},
        std::pair{"recipient-max", &s.config.rebalance_recipient_max},
        std::pair{"sender-recipient-gap", &s.config.rebalance_sender_recipient_gap}}) {
    const std::string k = std::string("distributed.worker.memory.rebalance.") + name;
    if (auto it = flat.find(k); it != flat.end()) {
      DASKCPP_ASSIGN_OR_RETURN(*field, parse_number(k, it->second));
    }
  }
  if (const std::string* v = get("work-stealing")) {
    const std::string l = lower(*v);
    s.config.work_stealing = !(l == "false" || l == "0" || l == "no" || l == "off");
  }
  if (const std::string* v = get("work-stealing-interval")) {
    // parse_timedelta(..., default="ms"): a bare number is milliseconds.
    const std::string key = prefix + "work-stealing-interval";
    Result<double> ms = parse_number(key, *v);
    if (ms.ok()) {
      s.config.work_stealing_interval = *ms / 1000;
    } else {
      DASKCPP_ASSIGN_OR_RETURN(s.config.work_stealing_interval, parse_seconds(key, *v));
    }
  }
  if (const std::string* v = get("validate")) {
    s.config.validate = lower(*v) == "true" || *v == "1";
  }
  if (auto it = flat.find("distributed.admin.low-level-log-length"); it != flat.end()) {
    DASKCPP_ASSIGN_OR_RETURN(double d, parse_number(it->first, it->second));
    s.config.transition_log_length = static_cast<std::size_t>(std::max(d, 0.0));
  }
  if (auto it = flat.find("distributed.admin.log-length"); it != flat.end()) {
    DASKCPP_ASSIGN_OR_RETURN(double d, parse_number(it->first, it->second));
    s.log_length = static_cast<std::size_t>(std::max(d, 0.0));
  }
  return s;
}

Result<SchedulerSettings> load_scheduler_settings() {
  namespace fs = std::filesystem;
  FlatConfig flat;
  std::vector<fs::path> files;
  auto add_dir_or_file = [&files](const fs::path& p) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> found;
      for (const auto& e : fs::directory_iterator(p, ec)) {
        const auto ext = e.path().extension();
        if (ext == ".yaml" || ext == ".yml") found.push_back(e.path());
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(p, ec)) {
      files.push_back(p);
    }
  };
  if (const char* home = std::getenv("HOME"))
    add_dir_or_file(fs::path(home) / ".config/dask");
  if (const char* dc = std::getenv("DASK_CONFIG")) add_dir_or_file(dc);
  for (const fs::path& f : files) {
    std::ifstream in(f);
    std::stringstream ss;
    ss << in.rdbuf();
    parse_config_yaml(ss.str(), flat);
  }
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.emplace_back(*e);
  parse_config_env(env, flat);
  return settings_from_config(flat);
}

}  // namespace daskcpp::scheduler
