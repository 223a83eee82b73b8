#include "bench/sim/none_value.hpp"

#include <array>
#include <memory>

#include "protocol/codec/message_codec.hpp"

namespace daskcpp::bench {

namespace {

using protocol::Array;
using protocol::make_map;
using protocol::Value;

// pickle.dumps(type(None), protocol=5): a FRAME of 26 bytes holding
// `builtins.type` applied to the tuple (None,).
constexpr std::array<std::uint8_t, 37> kNoneTypePickle = {
    0x80, 0x05, 0x95, 0x1a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x8c, 0x08,
    'b',  'u',  'i',  'l',  't',  'i',  'n',  's',  0x94, 0x8c, 0x04, 't',  'y',
    'p',  'e',  0x94, 0x93, 0x94, 'N',  0x85, 0x94, 'R',  0x94, '.'};

Bytes make_header() {
  Value header = make_map({{"serializer", "pickle"},
                           {"writeable", Value(Array{})},
                           {"split-num-sub-frames", Value(Array{Value(1)})},
                           {"split-offsets", Value(Array{Value(0)})},
                           {"compression", Value(Array{Value()})},
                           {"num-sub-frames", 1}});
  // A map of plain scalars always encodes; an empty Bytes would only mean a bug here.
  Result<Bytes> bytes = protocol::encode_msgpack(header);
  return bytes.ok() ? *bytes : Bytes();
}

protocol::PayloadPtr make_payload(std::uint8_t pickle_protocol) {
  auto p = std::make_shared<protocol::Payload>();
  p->kind = protocol::Payload::Kind::kSerialized;
  p->header = make_header();
  const std::array<std::uint8_t, 4> pickle = {0x80, pickle_protocol, 'N', '.'};
  p->frames.push_back(Bytes::copy_of(pickle));
  return p;
}

}  // namespace

Bytes none_type_pickle() {
  static const Bytes bytes = Bytes::copy_of(kNoneTypePickle);
  return bytes;
}

Value none_payload(std::int64_t pickle_protocol) {
  static const protocol::PayloadPtr p4 = make_payload(4);
  static const protocol::PayloadPtr p5 = make_payload(5);
  return Value(pickle_protocol < 5 ? p4 : p5);
}

}  // namespace daskcpp::bench
