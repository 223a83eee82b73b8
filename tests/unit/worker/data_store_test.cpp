// DataStore, MemoryThresholds and spill files: the SpillBuffer bookkeeping (what is
// counted where, LRU order, what to spill to reach a target, pins) and the spill
// file layout shared with daskcpp._spill.

#include "worker/store/data_store.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "worker/store/memory_thresholds.hpp"
#include "worker/store/spill_file.hpp"

namespace daskcpp::worker {
namespace {

using protocol::Key;

Key k(const char* s) { return Key::str(s); }

std::vector<std::string> names(const std::vector<Key>& keys) {
  std::vector<std::string> out;
  for (const Key& key : keys) out.push_back(key.decoded().as_str());
  return out;
}

TEST_CASE("DataStore counts memory bytes and spilled (sizeof, disk) separately",
          "[data_store]") {
  DataStore s;
  CHECK_FALSE(s.put(k("a"), 1, 100).has_value());
  CHECK_FALSE(s.put(k("b"), 2, 50).has_value());
  CHECK(s.memory_bytes() == 150);
  s.mark_spilled(k("a"), 80);
  CHECK(s.memory_bytes() == 50);
  CHECK(s.spilled().memory == 100);
  CHECK(s.spilled().disk == 80);
  CHECK(s.find(k("a"))->where == Where::disk);
  CHECK(s.find(k("a"))->disk_bytes == 80);
  s.mark_spilled(k("a"), 999);  // already on disk: no-op
  CHECK(s.spilled().disk == 80);
  s.mark_unspilled(k("a"));
  CHECK(s.memory_bytes() == 150);
  CHECK(s.spilled().memory == 0);
  CHECK(s.spilled().disk == 0);
  CHECK(s.find(k("a"))->where == Where::memory);
}

TEST_CASE("DataStore erase and replace give back the old entry", "[data_store]") {
  DataStore s;
  s.put(k("a"), 1, 100);
  s.mark_spilled(k("a"), 70);
  std::optional<StoredValue> old = s.put(k("a"), 7, 30);
  REQUIRE(old.has_value());
  CHECK(old->id == 1);
  CHECK(old->where == Where::disk);
  CHECK(s.spilled().disk == 0);
  CHECK(s.memory_bytes() == 30);
  std::optional<StoredValue> gone = s.erase(k("a"));
  REQUIRE(gone.has_value());
  CHECK(gone->id == 7);
  CHECK(s.memory_bytes() == 0);
  CHECK(s.size() == 0);
  CHECK_FALSE(s.erase(k("a")).has_value());
  CHECK(s.put(k("neg"), 3, -5) == std::nullopt);
  CHECK(s.memory_bytes() == 0);  // negative sizes count as zero
}

TEST_CASE("DataStore spills least recently used first; get touches", "[data_store]") {
  DataStore s;
  s.put(k("a"), 1, 10);
  s.put(k("b"), 2, 10);
  s.put(k("c"), 3, 10);
  CHECK(names(s.spill_candidates(30)).empty());
  CHECK(names(s.spill_candidates(25)) == std::vector<std::string>{"a"});
  s.touch(k("a"));
  CHECK(names(s.spill_candidates(10)) == std::vector<std::string>{"b", "c"});
  CHECK(names(s.spill_candidates(0)) == std::vector<std::string>{"b", "c", "a"});
  CHECK(s.least_recently_used() == k("b"));
  s.mark_spilled(k("b"), 10);
  CHECK(s.least_recently_used() == k("c"));
  s.mark_unspilled(k("b"));  // back in memory as the most recently used
  CHECK(names(s.spill_candidates(0)) == std::vector<std::string>{"c", "a", "b"});
  CHECK(s.touch(k("missing")) == nullptr);
}

TEST_CASE("DataStore never offers pinned keys", "[data_store]") {
  DataStore s;
  s.put(k("a"), 1, 10);
  s.put(k("b"), 2, 10);
  s.pin(k("a"));
  s.pin(k("a"));
  CHECK(names(s.spill_candidates(0)) == std::vector<std::string>{"b"});
  s.unpin(k("a"));
  CHECK(s.least_recently_used() == k("b"));
  s.unpin(k("a"));
  CHECK(names(s.spill_candidates(0)) == std::vector<std::string>{"a", "b"});
  s.pin(k("a"));
  s.pin(k("b"));
  CHECK_FALSE(s.least_recently_used().has_value());
  s.put(k("a"), 5, 1);  // a replaced value keeps its pins
  CHECK(s.find(k("a"))->pins == 1);
  s.unpin(k("missing"));  // no-op
}

TEST_CASE("MemoryThresholds mirror the WorkerMemoryManager fractions", "[data_store]") {
  MemoryThresholds none;
  CHECK_FALSE(none.enabled());
  CHECK_FALSE(none.should_pause(1'000'000'000'000));
  CHECK_FALSE(none.should_spill(1'000'000'000'000));
  MemoryThresholds m;
  m.limit = 1000;
  CHECK(m.target_bytes() == 600);
  CHECK_FALSE(m.should_spill(700));
  CHECK(m.should_spill(701));
  CHECK_FALSE(m.should_pause(800));
  CHECK(m.should_pause(801));
}

struct TempDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("daskcpp-spill-test-" + std::to_string(getpid()));
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string file(const char* name) const { return (path / name).string(); }
};

void write_raw(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST_CASE("Spill files round-trip header and frames exactly", "[data_store]") {
  TempDir dir;
  SpilledGroup g{Bytes::copy_of(std::string_view("hdr")),
                 {Bytes::copy_of(std::string_view("frame-one")), Bytes(),
                  Bytes::copy_of(std::string_view("2"))}};
  Result<std::int64_t> n = write_spill_file(dir.file("v"), g);
  REQUIRE(n.ok());
  CHECK(*n == 24 + 3 * 8 + 3 + 9 + 0 + 1);
  CHECK(static_cast<std::int64_t>(std::filesystem::file_size(dir.file("v"))) == *n);
  Result<SpilledGroup> back = read_spill_file(dir.file("v"));
  REQUIRE(back.ok());
  CHECK(back->header.view() == "hdr");
  REQUIRE(back->frames.size() == 3);
  CHECK(back->frames[0].view() == "frame-one");
  CHECK(back->frames[1].empty());
  CHECK(back->frames[2].view() == "2");
}

TEST_CASE("Spill files: bad input is a clear error", "[data_store]") {
  TempDir dir;
  CHECK(read_spill_file(dir.file("absent")).status().code() == StatusCode::kIOError);
  write_raw(dir.file("foreign"), "not a spill file at all, really");
  auto foreign = read_spill_file(dir.file("foreign"));
  CHECK(foreign.status().message().find("not a spill file") != std::string::npos);

  std::string head = "DCSPILL1";
  auto u64 = [](std::uint64_t v) {
    std::string s;
    for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return s;
  };
  // A huge frame count must not allocate: rejected against the file size.
  write_raw(dir.file("count"), head + u64(0) + u64(1ULL << 60));
  CHECK(read_spill_file(dir.file("count")).status().message().find("frame count") !=
        std::string::npos);
  write_raw(dir.file("trunc"), head + u64(2) + u64(1) + u64(100) + "hd" + "x");
  CHECK(read_spill_file(dir.file("trunc"))
            .status()
            .message()
            .find("frame length exceeds") != std::string::npos);
  write_raw(dir.file("hdr"), head + u64(50) + u64(0) + "h");
  CHECK(
      read_spill_file(dir.file("hdr")).status().message().find("header length exceeds") !=
      std::string::npos);
  write_raw(dir.file("trail"), head + u64(1) + u64(0) + "h" + "junk");
  CHECK(read_spill_file(dir.file("trail")).status().message().find("4 trailing bytes") !=
        std::string::npos);
}

}  // namespace
}  // namespace daskcpp::worker
