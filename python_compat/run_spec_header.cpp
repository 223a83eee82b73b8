#include "python_compat/run_spec_header.hpp"

#include <cstdint>
#include <string>

namespace daskcpp::python_compat {

namespace {

void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_fixstr(std::string& out, std::string_view s) {
  out.push_back(static_cast<char>(0xa0 | s.size()));  // every name here is < 32 bytes
  out.append(s);
}

}  // namespace

Bytes run_spec_header(std::string_view pickled, std::size_t num_buffers) {
  std::string out;
  out.reserve(pickled.size() + 48 + num_buffers);
  out.push_back(static_cast<char>(0x83));  // fixmap, 3 entries
  put_fixstr(out, "pickled-obj");
  const std::uint64_t len = pickled.size();
  if (len <= 0xff) {
    out.push_back(static_cast<char>(0xc4));
    put_be(out, len, 1);
  } else if (len <= 0xffff) {
    out.push_back(static_cast<char>(0xc5));
    put_be(out, len, 2);
  } else {
    out.push_back(static_cast<char>(0xc6));
    put_be(out, len, 4);
  }
  out.append(pickled);
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
  return Bytes::from_string(std::move(out));
}

}  // namespace daskcpp::python_compat
