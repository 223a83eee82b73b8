#include "protocol/framing/frame_decoder.hpp"

#include <catch2/catch.hpp>
#include <cstring>

#include "protocol/codec/message_codec.hpp"
#include "tests/unit/protocol/test_bytes.hpp"

namespace daskcpp::protocol {
namespace {

using test::hex_bytes;
using test::hex_vector;
using test::to_hex;

// protocol.md §1.2, the handshake every peer sends (66 bytes, observed).
constexpr const char* kHandshakeHex =
    "3a00000000000000 0100000000000000 2a00000000000000"
    "83ab636f6d7072657373696f6ec0a6707974686f6e93030b02"
    "af7069636b6c652d70726f746f636f6c05";
// protocol.md §1.2, [{"op":"close-client"},{"op":"close-stream"}] (59 bytes).
constexpr const char* kCloseStreamHex =
    "3300000000000000 0100000000000000 2300000000000000"
    "9281a26f70ac636c6f73652d636c69656e7481a26f70ac636c6f73652d73747265616d";

std::vector<std::uint8_t> u64le(std::uint64_t v) {
  std::vector<std::uint8_t> out(8);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(v >> (8 * i));
  return out;
}

std::vector<std::uint8_t> concat(std::initializer_list<std::vector<std::uint8_t>> parts) {
  std::vector<std::uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST_CASE("handshake golden bytes decode and re-encode", "[framing]") {
  const std::vector<std::uint8_t> wire = hex_vector(kHandshakeHex);
  REQUIRE(wire.size() == 66);
  FrameDecoder decoder;
  std::vector<Frames> out;
  REQUIRE(decoder.consume(wire, out).ok());
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].size() == 1);
  CHECK(out[0][0].size() == 42);
  CHECK(decoder.at_message_boundary());

  auto v = decode_message(out[0]);
  REQUIRE(v.ok());
  const Value expected = make_map(
      {{"compression", nullptr}, {"python", Array{3, 11, 2}}, {"pickle-protocol", 5}});
  CHECK(*v == expected);

  const Frames frames = encode_message(expected);
  CHECK(to_hex(encode_frames_contiguous(frames)) == to_hex(wire));
  CHECK(to_hex(encode_frame_prelude(frames)) ==
        "3a00000000000000"
        "0100000000000000"
        "2a00000000000000");
}

TEST_CASE("close-stream batch golden bytes", "[framing]") {
  const std::vector<std::uint8_t> wire = hex_vector(kCloseStreamHex);
  REQUIRE(wire.size() == 59);
  const Value batch =
      Array{make_map({{"op", "close-client"}}), make_map({{"op", "close-stream"}})};
  CHECK(to_hex(encode_frames_contiguous(encode_message(batch))) == to_hex(wire));

  FrameDecoder decoder;
  std::vector<Frames> out;
  REQUIRE(decoder.consume(wire, out).ok());
  REQUIRE(out.size() == 1);
  auto v = decode_message(out[0]);
  REQUIRE(v.ok());
  CHECK(*v == batch);
}

TEST_CASE("truncated message: the decoder waits", "[framing]") {
  const std::vector<std::uint8_t> wire = hex_vector(kHandshakeHex);
  FrameDecoder decoder;
  std::vector<Frames> out;
  CHECK(decoder.at_message_boundary());
  CHECK(decoder.next_required_size() == 8);

  REQUIRE(decoder.consume({wire.data(), 5}, out).ok());
  CHECK(out.empty());
  CHECK_FALSE(decoder.at_message_boundary());
  CHECK(decoder.next_required_size() == 3);

  REQUIRE(decoder.consume({wire.data() + 5, 11}, out).ok());  // L and N complete
  CHECK(decoder.next_required_size() == 8);                   // len[0]

  REQUIRE(decoder.consume({wire.data() + 16, wire.size() - 17}, out).ok());
  CHECK(out.empty());
  CHECK_FALSE(decoder.at_message_boundary());
  CHECK(decoder.next_required_size() == 1);

  REQUIRE(decoder.consume({wire.data() + wire.size() - 1, 1}, out).ok());
  REQUIRE(out.size() == 1);
  CHECK(decoder.at_message_boundary());
  CHECK(decoder.next_required_size() == 8);
}

TEST_CASE("two messages in one buffer come out in order", "[framing]") {
  const auto wire = concat({hex_vector(kHandshakeHex), hex_vector(kCloseStreamHex)});
  FrameDecoder decoder;
  std::vector<Frames> out;
  REQUIRE(decoder.consume(wire, out).ok());
  REQUIRE(out.size() == 2);
  CHECK(out[0][0].size() == 42);
  CHECK(out[1][0].size() == 35);
}

TEST_CASE("frames are slices of one body buffer", "[framing]") {
  const Frames frames{hex_bytes("c0"), hex_bytes("0102"), Bytes(), hex_bytes("ff")};
  const Bytes wire = encode_frames_contiguous(frames);
  FrameDecoder decoder;
  std::vector<Frames> out;
  REQUIRE(decoder.consume(wire.span(), out).ok());
  REQUIRE(out.size() == 1);
  REQUIRE(out[0] == frames);
  // Consecutive frames are adjacent in memory: one allocation, no copies.
  CHECK(out[0][1].data() == out[0][0].data() + 1);
  CHECK(out[0][3].data() == out[0][1].data() + 2);
}

TEST_CASE("all-empty frames need no body", "[framing]") {
  const Frames frames{Bytes(), Bytes()};
  const Bytes wire = encode_frames_contiguous(frames);
  CHECK(wire.size() == 32);
  FrameDecoder decoder;
  std::vector<Frames> out;
  REQUIRE(decoder.consume(wire.span(), out).ok());
  REQUIRE(out.size() == 1);
  CHECK(out[0].size() == 2);
  CHECK(decoder.at_message_boundary());
}

TEST_CASE("L may end on any frame boundary, as the Python reader allows", "[framing]") {
  // Two frames of 1 and 2 bytes: prelude 8 + 16 = 24, boundaries at 24, 25, 27.
  for (std::uint64_t len_field : {24u, 25u, 27u}) {
    const auto wire =
        concat({u64le(len_field), u64le(2), u64le(1), u64le(2), hex_vector("c0 0102")});
    FrameDecoder decoder;
    std::vector<Frames> out;
    REQUIRE(decoder.consume(wire, out).ok());
    REQUIRE(out.size() == 1);
    CHECK(to_hex(out[0][1]) == "0102");
  }
}

TEST_CASE("L inside a frame is rejected naming L", "[framing][errors]") {
  const auto wire =
      concat({u64le(26), u64le(2), u64le(1), u64le(2), hex_vector("c0 0102")});
  FrameDecoder decoder;
  std::vector<Frames> out;
  const Status st = decoder.consume(wire, out);
  CHECK(st == Status::Invalid(
                  "len-field L=26 does not end on a frame boundary (prelude 24 bytes, "
                  "frames 3 bytes)"));
  CHECK(out.empty());
  // The decoder stays failed and repeats the error.
  CHECK(decoder.consume(hex_vector(kHandshakeHex), out) == st);
  CHECK_FALSE(decoder.at_message_boundary());
}

TEST_CASE("L past the last frame is rejected", "[framing][errors]") {
  const auto wire =
      concat({u64le(28), u64le(2), u64le(1), u64le(2), hex_vector("c0 0102")});
  FrameDecoder decoder;
  std::vector<Frames> out;
  CHECK(decoder.consume(wire, out) ==
        Status::Invalid("len-field L=28 does not end on a frame boundary (prelude 24 "
                        "bytes, frames 3 bytes)"));
}

TEST_CASE("L smaller than the prelude is rejected", "[framing][errors]") {
  const auto wire = concat({u64le(16), u64le(2)});
  FrameDecoder decoder;
  std::vector<Frames> out;
  CHECK(decoder.consume(wire, out) ==
        Status::Invalid("len-field L=16 is smaller than the prelude of 24 bytes (N=2)"));
}

TEST_CASE("zero frame count is rejected", "[framing][errors]") {
  const auto wire = concat({u64le(8), u64le(0)});
  FrameDecoder decoder;
  std::vector<Frames> out;
  CHECK(decoder.consume(wire, out) ==
        Status::Invalid("frame count N is 0; every message has at least frame 0"));
}

TEST_CASE("frame count of 2^63 fails before any allocation", "[framing][errors]") {
  // Only L and N are fed: the error comes from the count alone, before the
  // decoder could have allocated anything for 2^63 lengths.
  const auto wire = concat({u64le(24), u64le(std::uint64_t{1} << 63)});
  FrameDecoder decoder;
  std::vector<Frames> out;
  CHECK(decoder.consume(wire, out) ==
        Status::CapacityError(
            "frame count N=9223372036854775808 exceeds the limit of 1048576 frames"));
  CHECK(decoder.next_required_size() == 0);
}

TEST_CASE("frame length of 2^63 fails before the body is allocated",
          "[framing][errors]") {
  const auto wire = concat(
      {u64le(16 + (std::uint64_t{1} << 63)), u64le(1), u64le(std::uint64_t{1} << 63)});
  FrameDecoder decoder;
  std::vector<Frames> out;
  CHECK(decoder.consume(wire, out) ==
        Status::CapacityError("frame 0 length 9223372036854775808 takes the message over "
                              "the limit of 4294967296 bytes"));
}

TEST_CASE("sum of frame lengths over the limit is a CapacityError", "[framing][errors]") {
  FrameLimits limits;
  limits.max_message_bytes = 100;
  const auto wire = concat({u64le(24 + 100), u64le(2), u64le(60), u64le(41)});
  FrameDecoder decoder(limits);
  std::vector<Frames> out;
  CHECK(decoder.consume(wire, out) ==
        Status::CapacityError("frame 1 length 41 takes the message over the limit of 100 "
                              "bytes"));
}

TEST_CASE("prepare/commit: small messages share the staging buffer", "[framing]") {
  const auto wire = concat({hex_vector(kHandshakeHex), hex_vector(kCloseStreamHex)});
  FrameDecoder decoder;
  std::vector<Frames> out;
  std::span<std::uint8_t> buf = decoder.prepare();
  REQUIRE(buf.size() == FrameDecoder::kStagingBytes);
  std::memcpy(buf.data(), wire.data(), wire.size());
  REQUIRE(decoder.commit(wire.size(), out).ok());
  REQUIRE(out.size() == 2);
  CHECK(out[1][0].size() == 35);
}

TEST_CASE("prepare/commit: a large body is read in place", "[framing]") {
  std::vector<std::uint8_t> big(300 * 1024);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 7);
  const Frames frames{hex_bytes("c0"), Bytes::from_vector(big)};
  const Bytes wire = encode_frames_contiguous(frames);

  FrameDecoder decoder;
  std::vector<Frames> out;
  std::size_t pos = 0;
  bool saw_in_place = false;
  while (pos < wire.size()) {
    std::span<std::uint8_t> buf = decoder.prepare();
    // In the body, the buffer is exactly the rest of the body.
    if (buf.size() == decoder.next_required_size()) saw_in_place = true;
    const std::size_t n = std::min({buf.size(), wire.size() - pos, std::size_t{50000}});
    std::memcpy(buf.data(), wire.data() + pos, n);
    pos += n;
    REQUIRE(decoder.commit(n, out).ok());
  }
  CHECK(saw_in_place);
  REQUIRE(out.size() == 1);
  CHECK(out[0] == frames);
  CHECK(decoder.at_message_boundary());
}

}  // namespace
}  // namespace daskcpp::protocol
