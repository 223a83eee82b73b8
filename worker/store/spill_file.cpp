#include "worker/store/spill_file.hpp"

#include <cstring>
#include <fstream>
#include <memory>

namespace daskcpp::worker {

namespace {

constexpr char kMagic[8] = {'D', 'C', 'S', 'P', 'I', 'L', 'L', '1'};

void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t get_u64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

Result<std::int64_t> write_spill_file(const std::string& path,
                                      const SpilledGroup& group) {
  std::string head(kMagic, sizeof kMagic);
  put_u64(head, group.header.size());
  put_u64(head, group.frames.size());
  for (const Bytes& f : group.frames) put_u64(head, f.size());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::IOError("spill file " + path + ": cannot open for writing");
  out.write(head.data(), static_cast<std::streamsize>(head.size()));
  auto write = [&out](const Bytes& b) {
    out.write(reinterpret_cast<const char*>(b.data()),
              static_cast<std::streamsize>(b.size()));
  };
  write(group.header);
  std::int64_t total = static_cast<std::int64_t>(head.size() + group.header.size());
  for (const Bytes& f : group.frames) {
    write(f);
    total += static_cast<std::int64_t>(f.size());
  }
  out.flush();
  if (!out) return Status::IOError("spill file " + path + ": write failed");
  return total;
}

Result<SpilledGroup> read_spill_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return Status::IOError("spill file " + path + ": cannot open");
  std::streamoff size = in.tellg();
  if (size < 0) return Status::IOError("spill file " + path + ": cannot size");
  auto buffer =
      std::make_shared<std::vector<std::uint8_t>>(static_cast<std::size_t>(size));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(buffer->data()), size);
  if (!in) return Status::IOError("spill file " + path + ": read failed");

  const std::uint8_t* p = buffer->data();
  const std::size_t n = buffer->size();
  auto bad = [&path](const std::string& what) {
    return Status::Invalid("spill file " + path + ": " + what);
  };
  if (n < 24 || std::memcmp(p, kMagic, sizeof kMagic) != 0)
    return bad("not a spill file");
  std::uint64_t header_len = get_u64(p + 8);
  std::uint64_t nframes = get_u64(p + 16);
  std::size_t pos = 24;
  if (nframes > (n - pos) / 8)
    return bad("frame count " + std::to_string(nframes) + " exceeds the file size");
  std::vector<std::uint64_t> lengths(static_cast<std::size_t>(nframes));
  for (auto& len : lengths) {
    len = get_u64(p + pos);
    pos += 8;
  }
  std::uint64_t remaining = n - pos;
  if (header_len > remaining) return bad("header length exceeds the file size");
  remaining -= header_len;
  for (std::uint64_t len : lengths) {
    if (len > remaining) return bad("frame length exceeds the file size");
    remaining -= len;
  }
  if (remaining != 0) return bad(std::to_string(remaining) + " trailing bytes");

  Bytes all(buffer, buffer->data(), buffer->size());
  SpilledGroup group;
  group.header = all.slice(pos, static_cast<std::size_t>(header_len));
  pos += static_cast<std::size_t>(header_len);
  for (std::uint64_t len : lengths) {
    group.frames.push_back(all.slice(pos, static_cast<std::size_t>(len)));
    pos += static_cast<std::size_t>(len);
  }
  return group;
}

}  // namespace daskcpp::worker
