// Materializing a 100k-task dask.array graph: the C++ materializer (Python helper
// + conversion to MaterializedTask records) against the stock scheduler's own
// steps (deserialize, _materialize_graph, dask.order, one ToPickle dumps per task)
// in the same interpreter. Prints medians of a few repetitions.
//
// Usage: materialize_bench [reps=3] [scenario=array_100k]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <variant>
#include <vector>

#include "protocol/codec/message_codec.hpp"
#include "python_compat/graph_materializer.hpp"
#include "python_compat/interpreter.hpp"

namespace {

using daskcpp::Bytes;
using namespace daskcpp::python_compat;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

MaterializeRequest request_from(const daskcpp::protocol::Frames& frames) {
  auto msg = daskcpp::protocol::decode_message(frames);
  const auto& op = msg.value().as_array()[0];
  MaterializeRequest r;
  r.expr = op.find("expr_ser")->as_payload();
  r.annotations = op.find("annotations")->as_payload();
  r.keys = *daskcpp::protocol::set_items(*op.find("keys"));
  r.internal_priority = *op.find("internal_priority");
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::stoi(argv[1]) : 3;
  const std::string scenario = argc > 2 ? argv[2] : "array_100k";
  InterpreterOptions options;
  options.sys_path = {DASKCPP_BENCH_FIXTURES_DIR};
  auto interp = Interpreter::start(options);
  if (!interp.ok()) {
    std::fprintf(stderr, "%s\n", interp.status().to_string().c_str());
    return 1;
  }
  const char* fixtures = "daskcpp_graph_fixtures";
  auto frames =
      (*interp)->call_sync(fixtures, "update_graph_frames", {Bytes::copy_of(scenario)});
  if (!frames.ok()) {
    std::fprintf(stderr, "%s\n", frames.status().to_string().c_str());
    return 1;
  }
  GraphMaterializer materializer(**interp);
  std::vector<double> ours, stock;
  std::size_t tasks = 0;
  for (int i = 0; i < reps; ++i) {
    auto request = request_from(frames.value());
    auto t0 = std::chrono::steady_clock::now();
    auto r = materializer.materialize(std::move(request));
    auto t1 = std::chrono::steady_clock::now();
    if (!r.ok() || !std::holds_alternative<MaterializedGraph>(r.value())) {
      std::fprintf(stderr, "materialize failed\n");
      return 1;
    }
    tasks = std::get<MaterializedGraph>(r.value()).tasks.size();
    ours.push_back(std::chrono::duration<double>(t1 - t0).count());
    auto s = (*interp)->call_sync(fixtures, "stock_steps", frames.value());
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.status().to_string().c_str());
      return 1;
    }
    stock.push_back(std::stod(std::string(s.value()[0].view())));
  }
  const double a = median(ours), b = median(stock);
  std::printf("scenario %s: %zu tasks, %d reps\n", scenario.c_str(), tasks, reps);
  std::printf("daskcpp materializer: %.3f s median (%.2f us/task)\n", a, a * 1e6 / tasks);
  std::printf("stock steps:          %.3f s median (%.2f us/task)\n", b, b * 1e6 / tasks);
  std::printf("ratio stock/daskcpp:  %.2f\n", b / a);
  return 0;
}
