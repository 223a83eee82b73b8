#include "worker/nanny/worker_args.hpp"

#include <array>
#include <string_view>

namespace daskcpp::worker::nanny {

namespace {

// Options taking a value that the nanny consumes.
constexpr std::array<std::string_view, 5> kDroppedWithValue = {
    "--nworkers", "--nanny-port", "--nanny-address", "--nanny-ready-fd", "--name"};
constexpr std::array<std::string_view, 2> kDroppedFlags = {"--nanny", "--no-nanny"};

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& list, std::string_view s) {
  for (std::string_view x : list) {
    if (x == s) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> worker_process_args(const std::vector<std::string>& args,
                                             const std::optional<std::string>& name) {
  std::vector<std::string> out;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    std::string_view option = arg;
    bool inline_value = false;
    if (arg.rfind("--", 0) == 0) {
      if (auto eq = arg.find('='); eq != std::string::npos) {
        option = std::string_view(arg).substr(0, eq);
        inline_value = true;
      }
    }
    if (contains(kDroppedFlags, option) && !inline_value) continue;
    if (contains(kDroppedWithValue, option)) {
      if (!inline_value) ++i;  // skip its value
      continue;
    }
    out.push_back(arg);
  }
  out.push_back("--no-nanny");
  if (name) {
    out.push_back("--name");
    out.push_back(*name);
  }
  return out;
}

std::optional<std::string> worker_name(const std::optional<std::string>& name,
                                       int nworkers, int index) {
  if (!name || name->empty() || nworkers == 1) return name;
  return *name + "-" + std::to_string(index);
}

}  // namespace daskcpp::worker::nanny
