// Replays every recorded wire message (tests/fixtures/traces/raw/*.bin) through the
// framing decoder at every split point and through decode/encode, byte for byte.
#include <array>
#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <random>
#include <utility>

#include "protocol/codec/message_codec.hpp"
#include "protocol/framing/frame_decoder.hpp"
#include "tests/unit/protocol/test_bytes.hpp"
#include "tests/unit/trace_fixtures.hpp"

namespace daskcpp::protocol {
namespace {

struct Trace {
  std::string path;
  std::vector<TraceRecord> records;
};

std::vector<Trace> load_traces() {
  std::vector<Trace> traces;
  for (const std::string& path : test::raw_trace_paths()) {
    auto records = read_trace(path);
    INFO(path << ": " << records.status().to_string());
    REQUIRE(records.ok());
    traces.push_back({path, std::move(records).value()});
  }
  return traces;
}

std::vector<Bytes> messages_of(const Trace& t) {
  std::vector<Bytes> out;
  for (const TraceRecord& r : t.records) {
    if (r.type == TraceRecordType::kMessage) out.push_back(r.payload);
  }
  return out;
}

// Frames of one recorded message, read straight from its prelude (independently
// of FrameDecoder) to have something to compare against.
Frames reference_frames(const Bytes& wire) {
  auto u64 = [&](std::size_t off) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | wire[off + static_cast<std::size_t>(i)];
    return v;
  };
  const std::size_t n = static_cast<std::size_t>(u64(8));
  Frames frames;
  std::size_t pos = 16 + 8 * n;
  for (std::size_t i = 0; i < n; ++i) {
    const auto len = static_cast<std::size_t>(u64(16 + 8 * i));
    REQUIRE(pos + len <= wire.size());
    frames.push_back(wire.slice(pos, len));
    pos += len;
  }
  REQUIRE(pos == wire.size());
  return frames;
}

TEST_CASE("the raw traces are present and well-formed", "[traces]") {
  const std::vector<Trace> traces = load_traces();
  REQUIRE(traces.size() == 3);
  // {records of type 1, 2, 3} per file, counted independently with Python's struct.
  const std::vector<std::array<std::size_t, 3>> expected = {
      {7, 63, 14}, {6, 50, 12}, {7, 79, 14}};
  for (std::size_t i = 0; i < traces.size(); ++i) {
    const Trace& t = traces[i];
    INFO(t.path);
    std::array<std::size_t, 3> counts{};
    for (const TraceRecord& r : t.records) {
      const auto type = static_cast<std::size_t>(r.type);
      REQUIRE((type >= 1 && type <= 3));
      ++counts[type - 1];
    }
    CHECK(counts == expected[i]);
    CHECK(t.records.front().type == TraceRecordType::kConnOpened);
    CHECK(t.records.front().payload.view().substr(0, 13) == "{\"listener\": ");
  }
}

TEST_CASE("every recorded message decodes at every split point", "[traces][framing]") {
  std::size_t splits = 0;
  for (const Trace& t : load_traces()) {
    for (const Bytes& wire : messages_of(t)) {
      const Frames expected = reference_frames(wire);
      for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
        FrameDecoder decoder;
        std::vector<Frames> out;
        REQUIRE(decoder.consume(wire.span().first(cut), out).ok());
        if (cut < wire.size()) {
          REQUIRE(out.empty());
          REQUIRE(decoder.at_message_boundary() == (cut == 0));
        }
        REQUIRE(decoder.consume(wire.span().subspan(cut), out).ok());
        REQUIRE(out.size() == 1);
        REQUIRE(out[0] == expected);
        REQUIRE(decoder.at_message_boundary());
        ++splits;
      }
    }
  }
  CHECK(splits > 50000);
}

TEST_CASE("every recorded message re-encodes byte for byte", "[traces][codec]") {
  std::size_t messages = 0;
  std::size_t payloads_seen = 0;
  for (const Trace& t : load_traces()) {
    for (const Bytes& wire : messages_of(t)) {
      FrameDecoder decoder;
      std::vector<Frames> out;
      REQUIRE(decoder.consume(wire.span(), out).ok());
      REQUIRE(out.size() == 1);
      const Frames& frames = out[0];
      auto v = decode_message(frames);
      INFO(t.path << " message " << messages << ": " << v.status().to_string());
      REQUIRE(v.ok());
      const Frames again = encode_message(*v);
      REQUIRE(again.size() == frames.size());
      REQUIRE(test::to_hex(again[0]) == test::to_hex(frames[0]));
      for (std::size_t i = 1; i < frames.size(); ++i) REQUIRE(again[i] == frames[i]);
      payloads_seen += frames.size() - 1;
      // Same total size as on the wire; and since every recorded message keeps all
      // its frames inside L, the same bytes too.
      const Bytes rewired = encode_frames_contiguous(again);
      REQUIRE(rewired.size() == wire.size());
      REQUIRE(rewired == wire);
      ++messages;
    }
  }
  CHECK(messages == 63 + 50 + 79);
  CHECK(payloads_seen == (73 - 63) + (64 - 50) + (94 - 79));
}

// Per connection and direction, all messages concatenated as they went over TCP.
std::vector<std::vector<std::uint8_t>> connection_streams(
    const Trace& t, std::vector<std::size_t>& counts) {
  std::map<std::pair<std::uint32_t, std::uint8_t>, std::size_t> index;
  std::vector<std::vector<std::uint8_t>> streams;
  for (const TraceRecord& r : t.records) {
    if (r.type != TraceRecordType::kMessage) continue;
    auto [it, inserted] = index.emplace(std::make_pair(r.conn, r.dir), streams.size());
    if (inserted) {
      streams.emplace_back();
      counts.push_back(0);
    }
    streams[it->second].insert(streams[it->second].end(), r.payload.data(),
                               r.payload.data() + r.payload.size());
    ++counts[it->second];
  }
  return streams;
}

TEST_CASE("whole connection streams in random-size chunks", "[traces][framing]") {
  std::mt19937 rng(20260801);  // fixed seed: the same chunking on every run
  std::uniform_int_distribution<std::size_t> chunk(1, 700);
  for (const Trace& t : load_traces()) {
    std::vector<std::size_t> counts;
    const auto streams = connection_streams(t, counts);
    for (std::size_t s = 0; s < streams.size(); ++s) {
      const auto& stream = streams[s];
      // consume() path.
      FrameDecoder decoder;
      std::vector<Frames> out;
      for (std::size_t pos = 0; pos < stream.size();) {
        const std::size_t n = std::min(chunk(rng), stream.size() - pos);
        REQUIRE(decoder.consume({stream.data() + pos, n}, out).ok());
        pos += n;
      }
      REQUIRE(out.size() == counts[s]);
      CHECK(decoder.at_message_boundary());
      std::size_t total = 0;
      for (const Frames& f : out) total += encode_frames_contiguous(f).size();
      CHECK(total == stream.size());

      // prepare()/commit() path, as a socket reader would use it.
      FrameDecoder reader;
      std::vector<Frames> out2;
      for (std::size_t pos = 0; pos < stream.size();) {
        std::span<std::uint8_t> buf = reader.prepare();
        const std::size_t n = std::min({chunk(rng), stream.size() - pos, buf.size()});
        std::memcpy(buf.data(), stream.data() + pos, n);
        REQUIRE(reader.commit(n, out2).ok());
        pos += n;
      }
      REQUIRE(out2 == out);
    }
  }
}

}  // namespace
}  // namespace daskcpp::protocol
