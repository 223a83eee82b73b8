#pragma once
// Bytes: a shared, immutable slice of bytes. Frames of a received message are
// slices of the one buffer the framing decoder filled, and payload frames are
// forwarded to other peers as the same slices, never copied (Arrow's Buffer
// slices, Beast's shared_ptr<std::string const> broadcast).
//
// Thread safety: a Bytes may be copied and read from any thread; the bytes it
// points to are never written after construction.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace daskcpp {

class Bytes {
 public:
  Bytes() = default;

  // Takes ownership of a buffer; the slice covers all of it.
  static Bytes from_vector(std::vector<std::uint8_t> v) {
    auto owner = std::make_shared<const std::vector<std::uint8_t>>(std::move(v));
    return Bytes(owner, owner->data(), owner->size());
  }
  static Bytes from_string(std::string s) {
    auto owner = std::make_shared<const std::string>(std::move(s));
    return Bytes(owner, reinterpret_cast<const std::uint8_t*>(owner->data()),
                 owner->size());
  }
  static Bytes copy_of(std::span<const std::uint8_t> s) {
    return from_vector(std::vector<std::uint8_t>(s.begin(), s.end()));
  }
  static Bytes copy_of(std::string_view s) { return from_string(std::string(s)); }
  // Keeps `owner` alive for as long as any slice of it lives.
  Bytes(std::shared_ptr<const void> owner, const std::uint8_t* data, std::size_t size)
      : owner_(std::move(owner)), data_(data), size_(size) {}

  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<const std::uint8_t> span() const { return {data_, size_}; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }
  std::uint8_t operator[](std::size_t i) const { return data_[i]; }

  // A sub-slice sharing ownership; the caller guarantees offset + len <= size().
  Bytes slice(std::size_t offset, std::size_t len) const {
    return Bytes(owner_, data_ + offset, len);
  }

  friend bool operator==(const Bytes& a, const Bytes& b) {
    return a.size_ == b.size_ &&
           (a.size_ == 0 || std::memcmp(a.data_, b.data_, a.size_) == 0);
  }

 private:
  std::shared_ptr<const void> owner_;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace daskcpp
