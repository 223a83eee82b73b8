// dask_order_check: runs the C++ dask.order port on graphs read from stdin, for
// tests/integration/test_dask_order_port.py to compare with dask.order.order.
//
// Input, repeated per graph:
//   "G <task_count> <node_count>\n"
//   per node: "<hash> <istask> <ndeps> <dep>... <text_bytes>\n<text>\n"
//   (externals have istask 0 and ndeps 0)
// Output, one line per graph: "ok <p0> <p1> ..." or "error <message with \n as \\n>".
// With --time, the wall time of each dask_order call goes to stderr ("order_ms <ms>").

#include <chrono>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "scheduler/ordering/dask_order.hpp"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  const bool report_time = argc > 1 && std::strcmp(argv[1], "--time") == 0;
  std::string tag;
  while (std::cin >> tag) {
    if (tag != "G") {
      std::cerr << "dask_order_check: expected G, got " << tag << "\n";
      return 2;
    }
    std::size_t n = 0, total = 0;
    std::cin >> n >> total;
    std::vector<std::int64_t> hashes(total), dep_ends, dep_index;
    std::vector<std::uint8_t> is_task(n);
    std::vector<std::string> texts(total);
    for (std::size_t x = 0; x < total; ++x) {
      int task = 0;
      std::size_t ndeps = 0, text_len = 0;
      std::cin >> hashes[x] >> task >> ndeps;
      for (std::size_t d = 0; d < ndeps; ++d) {
        std::int64_t dep = 0;
        std::cin >> dep;
        dep_index.push_back(dep);
      }
      std::cin >> text_len;
      std::cin.get();  // the newline before the text
      texts[x].resize(text_len);
      std::cin.read(texts[x].data(), static_cast<std::streamsize>(text_len));
      if (x < n) {
        is_task[x] = static_cast<std::uint8_t>(task);
        dep_ends.push_back(static_cast<std::int64_t>(dep_index.size()));
      }
    }
    daskcpp::ordering::DaskOrderGraph graph;
    graph.task_count = n;
    graph.node_count = total;
    graph.dep_ends = dep_ends;
    graph.dep_index = dep_index;
    graph.is_task = is_task;
    graph.key_hash = hashes;
    graph.key_text = [&](std::size_t x) { return std::string_view(texts[x]); };
    const auto start = std::chrono::steady_clock::now();
    auto result = daskcpp::ordering::dask_order(graph);
    if (report_time) {
      std::cerr << "order_ms "
                << std::chrono::duration<double, std::milli>(
                       std::chrono::steady_clock::now() - start)
                       .count()
                << "\n";
    }
    if (!result.ok()) {
      std::string message = result.status().message();
      std::string escaped;
      for (char c : message)
        escaped += c == '\n' ? std::string("\\n") : std::string(1, c);
      std::cout << "error " << escaped << "\n";
    } else {
      std::cout << "ok";
      for (std::int64_t p : result.value()) std::cout << ' ' << p;
      std::cout << "\n";
    }
    std::cout.flush();
  }
  return 0;
}
