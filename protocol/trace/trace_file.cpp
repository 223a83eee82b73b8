#include "protocol/trace/trace_file.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace daskcpp::protocol {

namespace {

constexpr char kMagic[] = "DTRACE01";
constexpr std::size_t kMagicSize = 8;
constexpr std::size_t kRecordHeaderSize = 22;

std::uint64_t load_le(const std::uint8_t* p, int width) {
  std::uint64_t v = 0;
  for (int i = width - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

Result<std::vector<TraceRecord>> read_trace(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot open trace " + path);
  std::vector<std::uint8_t> data((std::istreambuf_iterator<char>(in)),
                                 std::istreambuf_iterator<char>());
  if (data.size() < kMagicSize || std::memcmp(data.data(), kMagic, kMagicSize) != 0) {
    return Status::Invalid(path + " does not start with DTRACE01");
  }
  const Bytes file = Bytes::from_vector(std::move(data));
  std::vector<TraceRecord> records;
  std::size_t pos = kMagicSize;
  while (pos < file.size()) {
    if (file.size() - pos < kRecordHeaderSize) {
      return Status::Invalid(path + ": truncated record header at offset " +
                             std::to_string(pos));
    }
    const std::uint8_t* h = file.data() + pos;
    TraceRecord r;
    r.type = static_cast<TraceRecordType>(h[0]);
    r.conn = static_cast<std::uint32_t>(load_le(h + 1, 4));
    r.dir = h[5];
    r.time = std::bit_cast<double>(load_le(h + 6, 8));
    const std::uint64_t len = load_le(h + 14, 8);
    pos += kRecordHeaderSize;
    if (len > file.size() - pos) {
      return Status::Invalid(path + ": record at offset " +
                             std::to_string(pos - kRecordHeaderSize) + " announces " +
                             std::to_string(len) + " payload bytes past the end");
    }
    r.payload = file.slice(pos, static_cast<std::size_t>(len));
    pos += static_cast<std::size_t>(len);
    records.push_back(std::move(r));
  }
  return records;
}

std::vector<std::string> trace_files(const std::string& dir) {
  std::vector<std::string> paths;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".bin") paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace daskcpp::protocol
