#include "protocol/framing/frame_decoder.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <string>

namespace daskcpp::protocol {

namespace {

std::uint64_t load_u64le(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void store_u64le(std::uint8_t* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// A header buffer that once held a huge length table is not kept around.
constexpr std::size_t kKeptHeaderCapacity = 4096;

}  // namespace

FrameDecoder::FrameDecoder(FrameLimits limits) : limits_(limits) { header_.reserve(64); }

Status FrameDecoder::fail(Status st) {
  state_ = State::kFailed;
  error_ = st;
  return st;
}

Status FrameDecoder::consume(std::span<const std::uint8_t> bytes,
                             std::vector<Frames>& out) {
  if (state_ == State::kFailed) return error_;
  while (!bytes.empty()) {
    if (state_ == State::kFrames) {
      const std::size_t n = static_cast<std::size_t>(
          std::min<std::uint64_t>(bytes.size(), body_size_ - body_filled_));
      std::memcpy(body_.get() + body_filled_, bytes.data(), n);
      body_filled_ += n;
      bytes = bytes.subspan(n);
      if (body_filled_ == body_size_) on_frames(out);
      continue;
    }
    const std::size_t n = std::min(bytes.size(), header_needed_ - header_.size());
    header_.insert(header_.end(), bytes.begin(), bytes.begin() + n);
    bytes = bytes.subspan(n);
    if (header_.size() == header_needed_) DASKCPP_RETURN_NOT_OK(advance(out));
  }
  return Status::OK();
}

Status FrameDecoder::advance(std::vector<Frames>& out) {
  Status st;
  switch (state_) {
    case State::kLenField:
      st = on_len_field();
      break;
    case State::kFrameCount:
      st = on_frame_count();
      break;
    case State::kFrameLengths:
      st = on_frame_lengths();
      if (st.ok() && body_size_ == 0) on_frames(out);
      break;
    case State::kFrames:
    case State::kFailed:
      assert(false && "advance() is only called on a complete header field");
      break;
  }
  if (!st.ok()) return fail(std::move(st));
  return st;
}

Status FrameDecoder::on_len_field() {
  len_field_ = load_u64le(header_.data());
  header_.clear();
  header_needed_ = 8;
  state_ = State::kFrameCount;
  return Status::OK();
}

Status FrameDecoder::on_frame_count() {
  frame_count_ = load_u64le(header_.data());
  header_.clear();
  if (frame_count_ == 0) {
    return Status::Invalid("frame count N is 0; every message has at least frame 0");
  }
  if (frame_count_ > limits_.max_frames) {
    return Status::CapacityError("frame count N=" + std::to_string(frame_count_) +
                                 " exceeds the limit of " +
                                 std::to_string(limits_.max_frames) + " frames");
  }
  // N <= max_frames keeps 8 + 8N far from overflow.
  const std::uint64_t prelude = 8 + 8 * frame_count_;
  if (len_field_ < prelude) {
    return Status::Invalid("len-field L=" + std::to_string(len_field_) +
                           " is smaller than the prelude of " + std::to_string(prelude) +
                           " bytes (N=" + std::to_string(frame_count_) + ")");
  }
  header_needed_ = static_cast<std::size_t>(8 * frame_count_);
  state_ = State::kFrameLengths;
  return Status::OK();
}

Status FrameDecoder::on_frame_lengths() {
  frame_lengths_.resize(static_cast<std::size_t>(frame_count_));
  // L must end on a frame boundary: L - prelude is the size of a prefix of frames
  // (Python's TCP.read keeps the frames inside L and reads the rest one by one).
  const std::uint64_t inside = len_field_ - (8 + 8 * frame_count_);
  bool on_boundary = inside == 0;
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < frame_lengths_.size(); ++i) {
    const std::uint64_t len = load_u64le(header_.data() + 8 * i);
    if (len > limits_.max_message_bytes - sum) {
      return Status::CapacityError("frame " + std::to_string(i) + " length " +
                                   std::to_string(len) +
                                   " takes the message over the limit of " +
                                   std::to_string(limits_.max_message_bytes) + " bytes");
    }
    frame_lengths_[i] = len;
    sum += len;
    if (sum == inside) on_boundary = true;
  }
  if (!on_boundary) {
    return Status::Invalid("len-field L=" + std::to_string(len_field_) +
                           " does not end on a frame boundary (prelude " +
                           std::to_string(8 + 8 * frame_count_) + " bytes, frames " +
                           std::to_string(sum) + " bytes)");
  }
  if (header_.capacity() > kKeptHeaderCapacity) {
    header_ = std::vector<std::uint8_t>();
    header_.reserve(64);
  } else {
    header_.clear();
  }
  body_size_ = sum;
  body_filled_ = 0;
  // One allocation for all frames, not zero-filled: every byte is overwritten.
  if (sum > 0) body_ = std::make_shared_for_overwrite<std::uint8_t[]>(sum);
  state_ = State::kFrames;
  return Status::OK();
}

void FrameDecoder::on_frames(std::vector<Frames>& out) {
  Frames frames;
  frames.reserve(frame_lengths_.size());
  std::shared_ptr<const void> owner = body_;
  std::size_t offset = 0;
  for (std::uint64_t len : frame_lengths_) {
    const auto n = static_cast<std::size_t>(len);
    frames.emplace_back(owner, body_ ? body_.get() + offset : nullptr, n);
    offset += n;
  }
  out.push_back(std::move(frames));
  body_.reset();
  body_size_ = 0;
  body_filled_ = 0;
  header_needed_ = 8;
  state_ = State::kLenField;
}

std::span<std::uint8_t> FrameDecoder::prepare() {
  prepared_body_ = false;
  if (state_ == State::kFailed) return {};
  if (state_ == State::kFrames && body_size_ - body_filled_ >= kStagingBytes) {
    prepared_body_ = true;
    return {body_.get() + body_filled_,
            static_cast<std::size_t>(body_size_ - body_filled_)};
  }
  if (!staging_) staging_ = std::make_unique_for_overwrite<std::uint8_t[]>(kStagingBytes);
  return {staging_.get(), kStagingBytes};
}

Status FrameDecoder::commit(std::size_t n, std::vector<Frames>& out) {
  if (state_ == State::kFailed) return error_;
  if (!prepared_body_) return consume({staging_.get(), n}, out);
  prepared_body_ = false;
  assert(n <= body_size_ - body_filled_);
  body_filled_ += n;
  if (body_filled_ == body_size_) on_frames(out);
  return Status::OK();
}

std::size_t FrameDecoder::next_required_size() const {
  switch (state_) {
    case State::kFrames:
      return static_cast<std::size_t>(body_size_ - body_filled_);
    case State::kFailed:
      return 0;
    default:
      return header_needed_ - header_.size();
  }
}

bool FrameDecoder::at_message_boundary() const {
  return state_ == State::kLenField && header_.empty();
}

std::vector<std::uint8_t> encode_frame_prelude(std::span<const Bytes> frames) {
  std::vector<std::uint8_t> prelude(16 + 8 * frames.size());
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    store_u64le(prelude.data() + 16 + 8 * i, frames[i].size());
    sum += frames[i].size();
  }
  // C++ writer rule (protocol.md §1.2): L covers the prelude and every frame.
  store_u64le(prelude.data(), 8 + 8 * frames.size() + sum);
  store_u64le(prelude.data() + 8, frames.size());
  return prelude;
}

Bytes encode_frames_contiguous(std::span<const Bytes> frames) {
  std::vector<std::uint8_t> prelude = encode_frame_prelude(frames);
  std::size_t total = prelude.size();
  for (const Bytes& f : frames) total += f.size();
  prelude.reserve(total);
  for (const Bytes& f : frames)
    prelude.insert(prelude.end(), f.data(), f.data() + f.size());
  return Bytes::from_vector(std::move(prelude));
}

}  // namespace daskcpp::protocol
