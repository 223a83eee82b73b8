#pragma once
// A task's pickled run_spec as the scheduler holds it, and the `__Pickled__`
// sub-header distributed writes for a ToPickle object
// (protocol/core.py create_pickled_sub_frames, compression off):
//   {"pickled-obj": <bin>, "compression": [nil] * n, "num-sub-frames": n}
// in that key order, shortest forms, as Python's msgpack packs it.
//
// Why a stored form of its own: stock keeps each task's run_spec as a Python
// object whose function and constants are shared with its siblings, and
// pickles it per compute-task. daskcpp pickles at intake, so without sharing a
// held graph keeps every sibling's copy of the same function bytes (a dask.array
// `ones` chunk pickles to ~2.4 KB, its docstring included). Siblings of one task
// group pickle to bytes of the same length that differ only where their keys
// differ; a PickledRunSpec keeps one sibling's pickle shared (the base) and its
// own bytes as patches over it.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/codec/value.hpp"

namespace daskcpp::protocol {

// The sub-header of `pickled` with `num_buffers` out-of-band buffers.
Bytes pickled_sub_header(std::string_view pickled, std::size_t num_buffers);

class PickledRunSpec {
 public:
  using Base = std::shared_ptr<const std::string>;

  // A pickle stored whole: it is its own base.
  static PickledRunSpec whole(std::string_view pickle, std::vector<Bytes> buffers = {});
  // `pickle` as patches over `base` when the two have the same length and the
  // patches are smaller than half of it; whole otherwise.
  static PickledRunSpec over(const Base& base, std::string_view pickle);

  std::size_t size() const { return base_->size(); }
  // The pickle bytes, rebuilt.
  std::string pickle() const;
  // What a compute-task carries: the sub-header with the pickle inside, and the
  // out-of-band buffers. Built anew on every call.
  Payload payload() const;
  // The base, for siblings to be stored over.
  const Base& base() const { return base_; }
  // Bytes this task owns beyond the shared base (its patches).
  std::size_t patch_bytes() const { return patches_.size(); }

 private:
  PickledRunSpec(Base base, std::string patches, std::vector<Bytes> buffers)
      : base_(std::move(base)),
        patches_(std::move(patches)),
        buffers_(std::move(buffers)) {}
  // Writes the pickle into `out` (exactly size() bytes).
  void copy_to(char* out) const;

  Base base_;
  // Runs of (varint offset, varint length, bytes) where the pickle differs from
  // base_ (pickled_run_spec.cpp).
  std::string patches_;
  std::vector<Bytes> buffers_;
};

}  // namespace daskcpp::protocol
