// Throughput of the protocol hot path on the recorded traffic: every type-2
// message of tests/fixtures/traces/raw/*.bin, decoded (FrameDecoder + decode_message) and
// encoded (encode_message + encode_frame_prelude) many times over.
// Usage: codec_bench [repetitions]   (no timing asserts; numbers are reported)
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "protocol/codec/message_codec.hpp"
#include "protocol/framing/frame_decoder.hpp"
#include "protocol/trace/trace_file.hpp"

namespace {

using daskcpp::Bytes;
using namespace daskcpp::protocol;
using Clock = std::chrono::steady_clock;

struct Rate {
  double seconds;
  std::size_t bytes;
  std::size_t messages;
};

void report(const char* what, const Rate& r) {
  spdlog::info("{:<28} {:9.1f} MB/s {:12.0f} msg/s  ({} msgs, {} bytes, {:.3f} s)", what,
               static_cast<double>(r.bytes) / r.seconds / 1e6,
               static_cast<double>(r.messages) / r.seconds, r.messages, r.bytes,
               r.seconds);
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 2000;
  std::vector<Bytes> wire;
  std::vector<std::uint8_t> stream;  // all messages back to back, as on a socket
  for (const std::string& path : trace_files(DASKCPP_TRACES_DIR)) {
    auto records = read_trace(path);
    if (!records.ok()) {
      spdlog::error("{}", records.status().to_string());
      return 1;
    }
    for (const auto& r : *records) {
      if (r.type != TraceRecordType::kMessage) continue;
      wire.push_back(r.payload);
      stream.insert(stream.end(), r.payload.data(), r.payload.data() + r.payload.size());
    }
  }
  if (wire.empty()) {
    spdlog::error("no traces found in {}", DASKCPP_TRACES_DIR);
    return 1;
  }
  spdlog::info("{} messages, {} bytes per repetition, {} repetitions", wire.size(),
               stream.size(), reps);

  std::size_t sink = 0;
  std::vector<Frames> messages;
  messages.reserve(wire.size());

  // Framing only: the whole stream through one decoder.
  {
    const auto t0 = Clock::now();
    for (int i = 0; i < reps; ++i) {
      FrameDecoder decoder;
      messages.clear();
      if (!decoder.consume(stream, messages).ok()) return 1;
      sink += messages.size();
    }
    const std::chrono::duration<double> dt = Clock::now() - t0;
    report("framing", {dt.count(), stream.size() * reps, wire.size() * reps});
  }

  // Decode: framing + decode_message.
  std::vector<Value> values;
  {
    const auto t0 = Clock::now();
    for (int i = 0; i < reps; ++i) {
      FrameDecoder decoder;
      messages.clear();
      if (!decoder.consume(stream, messages).ok()) return 1;
      for (const Frames& f : messages) {
        auto v = decode_message(f);
        if (!v.ok()) return 1;
        sink += v->is_array() ? v->as_array().size() : 1;
      }
    }
    const std::chrono::duration<double> dt = Clock::now() - t0;
    report("decode (framing+message)",
           {dt.count(), stream.size() * reps, wire.size() * reps});
    for (const Frames& f : messages) values.push_back(*decode_message(f));
  }

  // Encode: encode_message + prelude (frames are handed to the socket as they are).
  {
    std::size_t bytes = 0;
    const auto t0 = Clock::now();
    for (int i = 0; i < reps; ++i) {
      for (const Value& v : values) {
        const Frames frames = encode_message(v);
        const std::vector<std::uint8_t> prelude = encode_frame_prelude(frames);
        bytes += prelude.size();
        for (const Bytes& f : frames) bytes += f.size();
      }
    }
    const std::chrono::duration<double> dt = Clock::now() - t0;
    report("encode (message+prelude)", {dt.count(), bytes, values.size() * reps});
  }
  spdlog::debug("sink {}", sink);
  return sink == 0 ? 1 : 0;
}
