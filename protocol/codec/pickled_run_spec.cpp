#include "protocol/codec/pickled_run_spec.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

namespace daskcpp::protocol {

namespace {

void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_fixstr(std::string& out, std::string_view s) {
  out.push_back(static_cast<char>(0xa0 | s.size()));  // every name here is < 32 bytes
  out.append(s);
}

// The sub-header up to the pickle bytes: the map, "pickled-obj", the bin header.
void put_head(std::string& out, std::uint64_t pickle_size) {
  out.push_back(static_cast<char>(0x83));  // fixmap, 3 entries
  put_fixstr(out, "pickled-obj");
  if (pickle_size <= 0xff) {
    out.push_back(static_cast<char>(0xc4));
    put_be(out, pickle_size, 1);
  } else if (pickle_size <= 0xffff) {
    out.push_back(static_cast<char>(0xc5));
    put_be(out, pickle_size, 2);
  } else {
    out.push_back(static_cast<char>(0xc6));
    put_be(out, pickle_size, 4);
  }
}

// The sub-header after the pickle bytes.
void put_tail(std::string& out, std::size_t num_buffers) {
  put_fixstr(out, "compression");
  if (num_buffers <= 15) {
    out.push_back(static_cast<char>(0x90 | num_buffers));
  } else if (num_buffers <= 0xffff) {
    out.push_back(static_cast<char>(0xdc));
    put_be(out, num_buffers, 2);
  } else {
    out.push_back(static_cast<char>(0xdd));
    put_be(out, num_buffers, 4);
  }
  out.append(num_buffers, static_cast<char>(0xc0));  // nil: not compressed
  put_fixstr(out, "num-sub-frames");
  if (num_buffers <= 0x7f) {
    out.push_back(static_cast<char>(num_buffers));
  } else if (num_buffers <= 0xff) {
    out.push_back(static_cast<char>(0xcc));
    put_be(out, num_buffers, 1);
  } else if (num_buffers <= 0xffff) {
    out.push_back(static_cast<char>(0xcd));
    put_be(out, num_buffers, 2);
  } else {
    out.push_back(static_cast<char>(0xce));
    put_be(out, num_buffers, 4);
  }
}

constexpr std::size_t kHeaderSlack = 48;  // the sub-header's bytes around the pickle

// A patch run: the offset and the length as LEB128 varints, then the bytes.
// Short headers keep a sibling's patches (a key index or two) within the
// string's inline buffer, so most tasks own no heap bytes for them.
// Equal bytes shorter than this between two differences stay inside one run:
// a new run would cost about as much as carrying them.
constexpr std::size_t kMinGap = 4;

void put_varint(std::string& out, std::size_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

std::size_t get_varint(std::string_view in, std::size_t& at) {
  std::size_t v = 0;
  for (int shift = 0; at < in.size(); shift += 7) {
    const auto byte = static_cast<unsigned char>(in[at++]);
    v |= static_cast<std::size_t>(byte & 0x7f) << shift;
    if (byte < 0x80) break;
  }
  return v;
}

void put_run(std::string& out, std::string_view pickle, std::size_t begin,
             std::size_t end) {
  put_varint(out, begin);
  put_varint(out, end - begin);
  out.append(pickle.substr(begin, end - begin));
}

// The runs where `pickle` differs from `base` (same length), or nullopt once
// they would take more than `limit` bytes.
std::optional<std::string> patches(std::string_view base, std::string_view pickle,
                                   std::size_t limit) {
  constexpr std::size_t kBlock = 32;
  const std::size_t n = pickle.size();
  std::string out;
  std::size_t i = 0;
  while (i < n) {
    while (i + kBlock <= n &&
           std::memcmp(base.data() + i, pickle.data() + i, kBlock) == 0)
      i += kBlock;
    while (i < n && base[i] == pickle[i]) ++i;
    if (i == n) break;
    const std::size_t begin = i;
    std::size_t end = i + 1;  // one past the last differing byte of the run
    for (std::size_t j = end; j < n && j - end < kMinGap; ++j) {
      if (base[j] != pickle[j]) end = j + 1;
    }
    put_run(out, pickle, begin, end);
    if (out.size() > limit) return std::nullopt;
    i = end;
  }
  return out;
}

}  // namespace

Bytes pickled_sub_header(std::string_view pickled, std::size_t num_buffers) {
  std::string out;
  out.reserve(pickled.size() + kHeaderSlack + num_buffers);
  put_head(out, pickled.size());
  out.append(pickled);
  put_tail(out, num_buffers);
  return Bytes::from_string(std::move(out));
}

PickledRunSpec PickledRunSpec::whole(std::string_view pickle,
                                     std::vector<Bytes> buffers) {
  return PickledRunSpec(std::make_shared<const std::string>(pickle), {},
                        std::move(buffers));
}

PickledRunSpec PickledRunSpec::over(const Base& base, std::string_view pickle) {
  if (base && base->size() == pickle.size()) {
    if (auto runs = patches(*base, pickle, pickle.size() / 2)) {
      return PickledRunSpec(base, std::move(*runs), {});
    }
  }
  return whole(pickle);
}

void PickledRunSpec::copy_to(char* out) const {
  std::memcpy(out, base_->data(), base_->size());
  std::size_t at = 0;
  while (at < patches_.size()) {
    const std::size_t offset = get_varint(patches_, at);
    const std::size_t length = get_varint(patches_, at);
    std::memcpy(out + offset, patches_.data() + at, length);
    at += length;
  }
}

std::string PickledRunSpec::pickle() const {
  std::string out(size(), '\0');
  copy_to(out.data());
  return out;
}

Payload PickledRunSpec::payload() const {
  std::string header;
  header.reserve(size() + kHeaderSlack + buffers_.size());
  put_head(header, size());
  const std::size_t at = header.size();
  header.resize(at + size());
  copy_to(header.data() + at);
  put_tail(header, buffers_.size());
  Payload p;
  p.kind = Payload::Kind::kPickled;
  p.header = Bytes::from_string(std::move(header));
  p.frames = buffers_;
  return p;
}

}  // namespace daskcpp::protocol
