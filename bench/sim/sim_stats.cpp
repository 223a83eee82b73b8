#include "bench/sim/sim_stats.hpp"

#include <sys/resource.h>

#include <nlohmann/json.hpp>

namespace daskcpp::bench {

double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::string SimStats::to_json() const {
  nlohmann::json j;
  j["compute_tasks"] = compute_tasks;
  j["tasks_finished"] = tasks_finished;
  j["first_compute"] = first_compute;
  j["last_finished"] = last_finished;
  j["cpu_s"] = process_cpu_seconds() - cpu_at_reset;
  return j.dump();
}

void SimStats::reset() {
  *this = SimStats{};
  cpu_at_reset = process_cpu_seconds();
}

}  // namespace daskcpp::bench
