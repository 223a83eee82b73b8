// decompress_frame (declared in message_codec.hpp): the receiving half of
// distributed.protocol.compression for the one codec a C++ peer meets in practice.
#include <lz4.h>

#include <climits>
#include <memory>
#include <string>

#include "protocol/codec/message_codec.hpp"

namespace daskcpp::protocol {

namespace {

// LZ4 cannot expand a block by more than ~255x (a match token of 255-byte length
// extensions); anything announcing more is lying, and we refuse before allocating.
constexpr std::uint64_t kLz4MaxRatio = 255;
constexpr std::uint64_t kLz4Slack = 64;

Result<Bytes> decompress_lz4(const Bytes& frame, std::size_t max_decompressed_bytes) {
  // python-lz4 lz4.block.compress(store_size=True): u32le size, then the block.
  if (frame.size() < 4) {
    return Status::Invalid("lz4 frame of " + std::to_string(frame.size()) +
                           " bytes is shorter than its 4-byte size prefix");
  }
  const std::uint64_t announced =
      std::uint64_t{frame[0]} | (std::uint64_t{frame[1]} << 8) |
      (std::uint64_t{frame[2]} << 16) | (std::uint64_t{frame[3]} << 24);
  const std::uint64_t block_size = frame.size() - 4;
  if (announced > max_decompressed_bytes) {
    return Status::CapacityError("lz4 frame announces " + std::to_string(announced) +
                                 " decompressed bytes, over the limit of " +
                                 std::to_string(max_decompressed_bytes));
  }
  if (announced > block_size * kLz4MaxRatio + kLz4Slack) {
    return Status::Invalid("lz4 frame announces " + std::to_string(announced) +
                           " decompressed bytes but its " + std::to_string(block_size) +
                           "-byte block cannot expand that far");
  }
  if (block_size > static_cast<std::uint64_t>(INT_MAX) ||
      announced > static_cast<std::uint64_t>(INT_MAX)) {
    return Status::CapacityError("lz4 frame of " + std::to_string(frame.size()) +
                                 " bytes is too large for one LZ4 block call");
  }
  const auto n = static_cast<std::size_t>(announced);
  std::shared_ptr<std::uint8_t[]> out = std::make_shared_for_overwrite<std::uint8_t[]>(n);
  const int got = LZ4_decompress_safe(reinterpret_cast<const char*>(frame.data() + 4),
                                      reinterpret_cast<char*>(out.get()),
                                      static_cast<int>(block_size), static_cast<int>(n));
  if (got < 0 || static_cast<std::size_t>(got) != n) {
    return Status::Invalid(
        "lz4 block is corrupt or does not decompress to the announced " +
        std::to_string(n) + " bytes");
  }
  std::uint8_t* data = out.get();
  return Bytes(std::shared_ptr<const void>(std::move(out)), data, n);
}

}  // namespace

Result<Bytes> decompress_frame(std::string_view compression, const Bytes& frame,
                               std::size_t max_decompressed_bytes) {
  if (compression.empty()) return frame;
  if (compression == "lz4") return decompress_lz4(frame, max_decompressed_bytes);
  return Status::NotImplemented("compression '" + std::string(compression) +
                                "' is not supported (only lz4 or none)");
}

}  // namespace daskcpp::protocol
