#include "protocol/comm/comm.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <span>

#include "protocol/codec/message_codec.hpp"
#include "protocol/comm/address.hpp"
#include "protocol/comm/byte_sample.hpp"

namespace daskcpp::protocol {

namespace {

void set_int_option(int fd, int level, int name, int value) {
  // Best effort, as upstream: a platform without the option keeps its default.
  (void)::setsockopt(fd, level, name, &value, sizeof(value));
}

}  // namespace

void configure_socket(tcp::socket& socket, std::chrono::seconds tcp_timeout) {
  ErrorCode ec;
  socket.set_option(tcp::no_delay(true), ec);
  socket.set_option(asio::socket_base::keep_alive(true), ec);
  // Upstream set_tcp_timeout: 10 probes; idle + 10 * interval == timeout.
  const long timeout = std::max<long>(11, static_cast<long>(tcp_timeout.count()));
  constexpr long kProbes = 10;
  long idle = std::max<long>(2, timeout / 4);
  const long interval = std::max<long>(1, (timeout - idle) / kProbes);
  idle = timeout - interval * kProbes;
  const int fd = socket.native_handle();
  set_int_option(fd, IPPROTO_TCP, TCP_KEEPIDLE, static_cast<int>(idle));
  set_int_option(fd, IPPROTO_TCP, TCP_KEEPINTVL, static_cast<int>(interval));
  set_int_option(fd, IPPROTO_TCP, TCP_KEEPCNT, static_cast<int>(kProbes));
  set_int_option(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, static_cast<int>(timeout * 1000));
}

std::string format_endpoint(const tcp::endpoint& endpoint) {
  asio::ip::address addr = endpoint.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
    addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  }
  return format_address(addr.to_string(), endpoint.port());
}

std::shared_ptr<Comm> Comm::make(tcp::socket socket, CommOptions options) {
  return std::shared_ptr<Comm>(new Comm(std::move(socket), options));
}

Comm::Comm(tcp::socket socket, CommOptions options)
    : socket_(std::move(socket)),
      options_(options),
      decoder_(options.frame_limits),
      drained_(socket_.get_executor()) {
  drained_.expires_at(asio::steady_timer::time_point::max());
  ErrorCode ec;
  auto remote = socket_.remote_endpoint(ec);
  peer_address_ = ec ? std::string("tcp://<unknown>") : format_endpoint(remote);
  auto local = socket_.local_endpoint(ec);
  local_address_ = ec ? std::string("tcp://<unknown>") : format_endpoint(local);
}

Comm::~Comm() {
  ErrorCode ec;
  socket_.close(ec);
}

asio::awaitable<Status> Comm::handshake() {
  // We always advertise compression nil, so stock peers never compress to us.
  Handshake ours;
  ours.compression = std::nullopt;
  ours.pickle_protocol = options_.pickle_protocol;
  // Ours goes into the write queue first, so neither side waits for the other.
  Status st = write(ours.encode());
  if (!st.ok()) co_return st;
  Result<Value> theirs = co_await read(options_.handshake_timeout);
  if (!theirs.ok()) {
    abort();
    co_return theirs.status().with_context("handshake with " + peer_address_);
  }
  Result<Handshake> remote = Handshake::decode(*theirs);
  if (!remote.ok()) {
    abort();
    co_return remote.status().with_context("handshake with " + peer_address_);
  }
  session_ = negotiate(ours, *remote);
  co_return Status::OK();
}

Status Comm::decode_error(const Status& st, std::span<const std::uint8_t> sample) {
  abort();
  return st.with_context("from " + peer_address_ + " (bytes: \"" +
                         escaped_sample(sample) + "\")");
}

asio::awaitable<Result<Frames>> Comm::read_frames() {
  auto self = shared_from_this();
  while (decoded_.empty()) {
    // Bad bytes behind good messages: those were delivered first, now the error.
    if (!read_error_.ok()) co_return read_error_;
    if (closed_) co_return Status::IOError("comm to " + peer_address_ + " is closed");
    std::vector<Frames> out;
    ErrorCode ec;
    // The decoder hands out either the rest of a large body (zero copy) or its
    // staging buffer, which may take in several small messages at once.
    std::span<std::uint8_t> buf = decoder_.prepare();
    if (buf.empty()) co_return Status::Invalid("frame decoder failed earlier");
    const std::size_t n =
        co_await socket_.async_read_some(asio::buffer(buf.data(), buf.size()),
                                         asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) {
      Status st = decoder_.commit(n, out);
      if (!st.ok()) {
        read_error_ = decode_error(st, buf.first(n));
        if (out.empty()) co_return read_error_;
      }
    }
    if (ec) {
      const bool eof = ec == asio::error::eof;
      const bool mid_message = !decoder_.at_message_boundary();
      abort();
      if (eof) {
        co_return Status::IOError("connection closed by " + peer_address_ +
                                  (mid_message ? " in the middle of a message" : ""));
      }
      co_return Status::IOError("read from " + peer_address_ + ": " + ec.message());
    }
    for (Frames& f : out) decoded_.push_back(std::move(f));
  }
  Frames frames = std::move(decoded_.front());
  decoded_.pop_front();
  co_return frames;
}

asio::awaitable<Result<Value>> Comm::read() {
  auto self = shared_from_this();
  Result<Frames> frames = co_await read_frames();
  if (!frames.ok()) co_return frames.status();
  Result<Value> value = decode_message(*frames, options_.decode_limits);
  if (!value.ok()) {
    std::span<const std::uint8_t> sample;
    if (!frames->empty()) sample = (*frames)[0].span();
    co_return decode_error(value.status(), sample);
  }
  co_return std::move(value).value();
}

asio::awaitable<Result<ParsedMessage>> Comm::read_parsed() {
  auto self = shared_from_this();
  Result<Frames> frames = co_await read_frames();
  if (!frames.ok()) co_return frames.status();
  // Shares frame 0's buffer, so the error sample outlives a failed parse.
  const Bytes frame0 = frames->empty() ? Bytes() : (*frames)[0];
  Result<ParsedMessage> parsed =
      ParsedMessage::parse(std::move(*frames), options_.decode_limits);
  if (!parsed.ok()) co_return decode_error(parsed.status(), frame0.span());
  co_return std::move(parsed).value();
}

asio::awaitable<Result<Value>> Comm::read(std::chrono::milliseconds timeout) {
  auto self = shared_from_this();
  auto fired = std::make_shared<bool>(false);
  asio::steady_timer timer(socket_.get_executor());
  timer.expires_after(timeout);
  std::weak_ptr<Comm> weak = self;
  timer.async_wait([weak, fired](const ErrorCode& ec) {
    if (ec) return;
    *fired = true;
    if (auto comm = weak.lock()) comm->abort();
  });
  Result<Value> out = co_await read();
  timer.cancel();
  if (*fired) {
    co_return Status::IOError("timed out after " + std::to_string(timeout.count()) +
                              " ms reading from " + peer_address_);
  }
  co_return out;
}

Status Comm::write(const Value& message) {
  if (closed_ || closing_) {
    return Status::IOError("write to closed comm " + peer_address_);
  }
  return write_frames(encode_message(message));
}

Status Comm::write_frames(Frames frames) {
  if (closed_ || closing_) {
    return Status::IOError("write to closed comm " + peer_address_);
  }
  if (!write_error_.ok()) return write_error_;
  OutMessage msg;
  msg.prelude = encode_frame_prelude(frames);
  msg.bytes = msg.prelude.size();
  for (const Bytes& f : frames) msg.bytes += f.size();
  if (queued_bytes_ + msg.bytes > options_.max_queued_write_bytes && queued_bytes_ > 0) {
    return Status::CapacityError("write queue to " + peer_address_ + " holds " +
                                 std::to_string(queued_bytes_) +
                                 " bytes; the peer is not reading");
  }
  msg.frames = std::move(frames);
  queued_bytes_ += msg.bytes;
  queue_.push_back(std::move(msg));
  if (!writing_) do_write();
  return Status::OK();
}

void Comm::do_write() {
  writing_ = true;
  in_flight_.clear();
  while (!queue_.empty()) {
    in_flight_.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  std::vector<asio::const_buffer> buffers;
  for (const OutMessage& m : in_flight_) {
    buffers.emplace_back(m.prelude.data(), m.prelude.size());
    for (const Bytes& f : m.frames) {
      if (!f.empty()) buffers.emplace_back(f.data(), f.size());
    }
  }
  asio::async_write(socket_, buffers,
                    [self = shared_from_this()](const ErrorCode& ec, std::size_t) {
                      self->on_write(ec);
                    });
}

void Comm::on_write(const ErrorCode& ec) {
  for (const OutMessage& m : in_flight_) queued_bytes_ -= m.bytes;
  in_flight_.clear();
  if (ec) {
    write_error_ = Status::IOError("write to " + peer_address_ + ": " + ec.message());
    writing_ = false;
    abort();
    return;
  }
  if (!queue_.empty() && !closed_) {
    do_write();
    return;
  }
  writing_ = false;
  notify_drained();
  if (closing_) finish_close();
}

void Comm::notify_drained() { drained_.cancel(); }

asio::awaitable<Status> Comm::flush() {
  auto self = shared_from_this();
  while (writing_ && !closed_) {
    ErrorCode ec;
    co_await drained_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (!write_error_.ok()) co_return write_error_;
  co_return Status::OK();
}

void Comm::close() {
  if (closed_ || closing_) return;
  closing_ = true;
  if (!writing_) finish_close();
}

void Comm::finish_close() {
  if (closed_) return;
  closed_ = true;
  ErrorCode ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  notify_drained();
}

void Comm::abort() {
  if (closed_) return;
  for (const OutMessage& m : queue_) queued_bytes_ -= m.bytes;
  queue_.clear();
  closing_ = true;
  // Any write in flight completes with operation_aborted and releases its bytes.
  finish_close();
}

}  // namespace daskcpp::protocol
