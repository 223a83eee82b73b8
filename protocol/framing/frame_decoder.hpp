#pragma once
// Framing: bytes <-> frames of one Dask wire message (protocol.md §1.2).
//
//   u64le L | u64le N | u64le len[0..N-1] | frame 0 | ... | frame N-1
//
// FrameDecoder is a push decoder (Arrow ipc::MessageDecoder, Beast basic_parser):
// bytes go in at any split point, whole messages come out. Limits are checked
// before anything is allocated, so a length field of 2^63 costs nothing.
// Explicit states: kLenField -> kFrameCount -> kFrameLengths -> kFrames -> (message).
// L is only sanity-checked (L >= 8 + 8N and L ends on a frame boundary), as the
// Python reader does.
//
// Thread safety: one decoder per connection, used by one thread at a time.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/status.hpp"

namespace daskcpp::protocol {

// The frames of one message; frame 0 is msgpack, the rest are payload frames.
using Frames = std::vector<Bytes>;

struct FrameLimits {
  std::uint64_t max_frames = 1u << 20;           // per message
  std::uint64_t max_message_bytes = 4ull << 30;  // sum of frame lengths
};

class FrameDecoder {
 public:
  explicit FrameDecoder(FrameLimits limits = {});

  // Feeds bytes; every message completed by them is appended to `out`.
  // After an error the decoder stays failed and returns the same error.
  Status consume(std::span<const std::uint8_t> bytes, std::vector<Frames>& out);

  // Zero-copy path for sockets: a writable buffer the caller may read into, then
  // commit(n) with the number of bytes written. While a large message body is
  // being received the buffer is the rest of that body itself (at most
  // next_required_size() bytes, never copied again); otherwise it is a staging
  // buffer of kStagingBytes that may hold several small messages at once, so a
  // stream of small messages costs one read per buffer-full, not four per message.
  // The span is valid until the next call on the decoder.
  std::span<std::uint8_t> prepare();
  Status commit(std::size_t n, std::vector<Frames>& out);

  // Bytes still needed to finish the current header field or message.
  std::size_t next_required_size() const;
  // True between messages (no partial message buffered).
  bool at_message_boundary() const;

  static constexpr std::size_t kStagingBytes = 64 * 1024;

 private:
  enum class State { kLenField, kFrameCount, kFrameLengths, kFrames, kFailed };
  Status on_len_field();
  Status on_frame_count();
  Status on_frame_lengths();
  void on_frames(std::vector<Frames>& out);
  Status advance(std::vector<Frames>& out);
  Status fail(Status st);

  FrameLimits limits_;
  State state_ = State::kLenField;
  Status error_;
  std::uint64_t len_field_ = 0;
  std::uint64_t frame_count_ = 0;
  std::vector<std::uint64_t> frame_lengths_;
  std::uint64_t body_size_ = 0;
  // Header bytes being collected for the current field (L, N or the lengths).
  std::vector<std::uint8_t> header_;
  std::size_t header_needed_ = 8;
  // The body of the current message: one allocation (not zero-filled), frames
  // become slices of it.
  std::shared_ptr<std::uint8_t[]> body_;
  std::size_t body_filled_ = 0;
  // Staging buffer handed out by prepare() outside large bodies; allocated lazily.
  std::unique_ptr<std::uint8_t[]> staging_;
  bool prepared_body_ = false;  // prepare() returned the body itself
};

// The prelude (L, N, lengths) to write before `frames`, with L covering all
// frames (protocol.md §1.2 "C++ writer rule"). Frames are written after it
// unchanged, so large payloads go to the socket without being concatenated.
std::vector<std::uint8_t> encode_frame_prelude(std::span<const Bytes> frames);

// Prelude and frames concatenated into one buffer (tests, small messages).
Bytes encode_frames_contiguous(std::span<const Bytes> frames);

}  // namespace daskcpp::protocol
