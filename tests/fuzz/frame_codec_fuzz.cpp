// libFuzzer entry point: arbitrary bytes through FrameDecoder, decode_message and
// encode_message. Any crash, sanitizer report or broken round trip is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "protocol/codec/message_codec.hpp"
#include "protocol/framing/frame_decoder.hpp"

using namespace daskcpp::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Small limits so the fuzzer explores structure, not allocation sizes.
  FrameLimits limits;
  limits.max_frames = 64;
  limits.max_message_bytes = 1 << 20;
  FrameDecoder decoder(limits);
  std::vector<Frames> messages;
  // Feed in two pieces, split by the first byte, to exercise resumption too.
  const std::size_t cut = size > 0 ? data[0] % (size + 1) : 0;
  if (!decoder.consume({data, cut}, messages).ok()) return 0;
  if (!decoder.consume({data + cut, size - cut}, messages).ok()) return 0;
  for (const Frames& frames : messages) {
    auto v = decode_message(frames);
    if (!v.ok()) continue;
    const Frames again = encode_message(*v);
    // What we encode must decode, and re-encode to the same bytes (bytes, not
    // Value ==, because NaN != NaN).
    auto back = decode_message(again);
    if (!back.ok()) std::abort();
    const Frames twice = encode_message(*back);
    if (twice != again) std::abort();
    (void)v->to_debug_string();
  }
  return 0;
}
