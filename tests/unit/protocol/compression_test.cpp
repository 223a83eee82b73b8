#include <lz4.h>

#include <catch2/catch.hpp>
#include <string>

#include "protocol/codec/message_codec.hpp"
#include "tests/unit/protocol/test_bytes.hpp"

namespace daskcpp::protocol {
namespace {

// python-lz4's lz4.block.compress(data, store_size=True).
Bytes lz4_block(const std::string& data) {
  std::vector<std::uint8_t> out(
      4 + static_cast<std::size_t>(LZ4_compressBound(static_cast<int>(data.size()))));
  const auto n = static_cast<std::uint32_t>(data.size());
  for (int i = 0; i < 4; ++i) out[i] = static_cast<std::uint8_t>(n >> (8 * i));
  const int c = LZ4_compress_default(data.data(), reinterpret_cast<char*>(out.data() + 4),
                                     static_cast<int>(data.size()),
                                     static_cast<int>(out.size() - 4));
  REQUIRE(c > 0);
  out.resize(4 + static_cast<std::size_t>(c));
  return Bytes::from_vector(std::move(out));
}

Status decompress_err(std::string_view codec, const Bytes& frame,
                      std::size_t limit = 1ull << 32) {
  auto r = decompress_frame(codec, frame, limit);
  REQUIRE_FALSE(r.ok());
  return r.status();
}

TEST_CASE("no compression passes the frame through", "[compression]") {
  const Bytes f = Bytes::copy_of(std::string_view("abc"));
  auto r = decompress_frame("", f);
  REQUIRE(r.ok());
  CHECK(r->data() == f.data());
}

TEST_CASE("lz4 block format round-trips", "[compression]") {
  std::string data;
  for (int i = 0; i < 5000; ++i) data += "dask-" + std::to_string(i % 17);
  const Bytes frame = lz4_block(data);
  CHECK(frame.size() < data.size());
  auto r = decompress_frame("lz4", frame);
  REQUIRE(r.ok());
  CHECK(r->view() == data);
}

TEST_CASE("lz4 errors", "[compression][errors]") {
  CHECK(decompress_err("lz4", test::hex_bytes("0100")) ==
        Status::Invalid("lz4 frame of 2 bytes is shorter than its 4-byte size prefix"));
  // The largest size a u32 prefix can announce (python-lz4 cannot express 2^40),
  // with a 2-byte block: refused before allocating, by the limit or by LZ4's ratio.
  const Bytes huge = test::hex_bytes("ffffffff 1000");
  CHECK(
      decompress_err("lz4", huge, 1 << 20) ==
      Status::CapacityError("lz4 frame announces 4294967295 decompressed bytes, over the "
                            "limit of 1048576"));
  CHECK(
      decompress_err("lz4", huge) ==
      Status::Invalid("lz4 frame announces 4294967295 decompressed bytes but its 2-byte "
                      "block cannot expand that far"));
  // A valid block that decompresses to fewer bytes than announced.
  Bytes frame = lz4_block("hello hello hello hello");
  std::vector<std::uint8_t> lying(frame.data(), frame.data() + frame.size());
  lying[0] = static_cast<std::uint8_t>(lying[0] + 1);
  CHECK(decompress_err("lz4", Bytes::from_vector(lying)) ==
        Status::Invalid("lz4 block is corrupt or does not decompress to the announced 24 "
                        "bytes"));
}

TEST_CASE("other codecs are NotImplemented, naming the codec", "[compression][errors]") {
  const Bytes f = Bytes::copy_of(std::string_view("abc"));
  CHECK(decompress_err("zlib", f) ==
        Status::NotImplemented("compression 'zlib' is not supported (only lz4 or none)"));
  CHECK(decompress_err("zstd", f) ==
        Status::NotImplemented("compression 'zstd' is not supported (only lz4 or none)"));
}

}  // namespace
}  // namespace daskcpp::protocol
