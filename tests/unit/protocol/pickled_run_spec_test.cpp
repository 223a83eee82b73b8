// PickledRunSpec: a run_spec stored whole or as patches over a sibling's pickle
// gives back exactly its own bytes, and shares what siblings share.

#include "protocol/codec/pickled_run_spec.hpp"

#include <catch2/catch.hpp>
#include <string>

namespace daskcpp::protocol {
namespace {

// A stand-in pickle: `size` bytes of a repeating pattern.
std::string pickle_of(std::size_t size, char seed = 'a') {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>(seed + i % 23);
  return s;
}

std::string header_prefix(std::string_view header, std::size_t n) {
  return std::string(header.substr(0, n));
}

TEST_CASE("a whole run_spec gives back its pickle and the stock sub-header",
          "[pickled_run_spec]") {
  const std::string pickle = pickle_of(300);
  const PickledRunSpec spec = PickledRunSpec::whole(pickle);
  CHECK(spec.pickle() == pickle);
  CHECK(spec.patch_bytes() == 0);
  const Payload p = spec.payload();
  CHECK(p.kind == Payload::Kind::kPickled);
  CHECK(p.frames.empty());
  CHECK(p.header == pickled_sub_header(pickle, 0));
  // fixmap 3, "pickled-obj", bin16 of 300 bytes.
  CHECK(header_prefix(p.header.view(), 16) ==
        std::string("\x83\xabpickled-obj\xc5\x01\x2c", 16));
  CHECK(std::string(p.header.view().substr(16 + 300)) ==
        std::string("\xab"
                    "compression\x90\xaenum-sub-frames\x00",
                    29));
}

TEST_CASE("the sub-header's bin and count forms follow the sizes", "[pickled_run_spec]") {
  CHECK(header_prefix(pickled_sub_header(pickle_of(0xff), 0).view(), 15) ==
        std::string("\x83\xabpickled-obj\xc4\xff", 15));
  CHECK(header_prefix(pickled_sub_header(pickle_of(0x10000), 0).view(), 18) ==
        std::string("\x83\xabpickled-obj\xc6\x00\x01\x00\x00", 18));
  const Bytes with_buffers = pickled_sub_header("x", 2);
  CHECK(std::string(with_buffers.view().substr(16)) ==
        std::string("\xab"
                    "compression\x92\xc0\xc0\xaenum-sub-frames\x02",
                    31));
}

TEST_CASE("a sibling is stored as patches over the base and rebuilt exactly",
          "[pickled_run_spec]") {
  const std::string first = pickle_of(2400);
  const PickledRunSpec base = PickledRunSpec::whole(first);
  std::string sibling = first;
  sibling[100] = 'X';
  sibling[2399] = 'Y';
  const PickledRunSpec spec = PickledRunSpec::over(base.base(), sibling);
  CHECK(spec.base() == base.base());
  CHECK(spec.pickle() == sibling);
  CHECK(spec.payload().header == pickled_sub_header(sibling, 0));
  // Two runs of one byte each: offset 100 (1 varint byte), 2399 (2), length 1.
  CHECK(spec.patch_bytes() == (1 + 1 + 1) + (2 + 1 + 1));
}

TEST_CASE("differences a few bytes apart share one run", "[pickled_run_spec]") {
  const std::string first = pickle_of(1000);
  const PickledRunSpec base = PickledRunSpec::whole(first);
  std::string sibling = first;
  sibling[10] = 'X';
  sibling[13] = 'Y';  // 2 equal bytes between: carried inside the run
  const PickledRunSpec spec = PickledRunSpec::over(base.base(), sibling);
  CHECK(spec.pickle() == sibling);
  CHECK(spec.patch_bytes() == 1 + 1 + 4);
}

TEST_CASE("a long run of differences is one patch", "[pickled_run_spec]") {
  const std::string first = pickle_of(200'000);
  const PickledRunSpec base = PickledRunSpec::whole(first);
  std::string sibling = first;
  for (std::size_t i = 1000; i < 71'000; ++i) sibling[i] = static_cast<char>(~sibling[i]);
  const PickledRunSpec spec = PickledRunSpec::over(base.base(), sibling);
  CHECK(spec.base() == base.base());
  CHECK(spec.pickle() == sibling);
  // Offset 1000 and length 70,000 as varints: 2 and 3 bytes.
  CHECK(spec.patch_bytes() == 2 + 3 + 70'000);
}

TEST_CASE("a pickle too unlike the base, or of another length, is stored whole",
          "[pickled_run_spec]") {
  const std::string first = pickle_of(600);
  const PickledRunSpec base = PickledRunSpec::whole(first);
  const std::string other = pickle_of(600, 'A');  // differs nearly everywhere
  const PickledRunSpec unlike = PickledRunSpec::over(base.base(), other);
  CHECK(unlike.base() != base.base());
  CHECK(unlike.patch_bytes() == 0);
  CHECK(unlike.pickle() == other);
  const std::string longer = first + "z";
  const PickledRunSpec grown = PickledRunSpec::over(base.base(), longer);
  CHECK(grown.base() != base.base());
  CHECK(grown.pickle() == longer);
  const PickledRunSpec no_base = PickledRunSpec::over(nullptr, first);
  CHECK(no_base.pickle() == first);
}

TEST_CASE("out-of-band buffers travel with a whole run_spec", "[pickled_run_spec]") {
  const std::string pickle = pickle_of(40);
  const PickledRunSpec spec =
      PickledRunSpec::whole(pickle, {Bytes::copy_of(std::string_view("buf-0")),
                                     Bytes::copy_of(std::string_view("b1"))});
  const Payload p = spec.payload();
  REQUIRE(p.frames.size() == 2);
  CHECK(p.frames[0].view() == "buf-0");
  CHECK(p.frames[1].view() == "b1");
  CHECK(p.header == pickled_sub_header(pickle, 2));
}

}  // namespace
}  // namespace daskcpp::protocol
