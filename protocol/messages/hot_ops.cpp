#include "protocol/messages/hot_ops.hpp"

#include <cmath>

#include "protocol/codec/msgpack_view.hpp"

namespace daskcpp::protocol {

namespace {

using msgpack::object;
namespace v = view;

std::optional<Key> read_key(const object* o) {
  if (o == nullptr) return std::nullopt;
  std::string bytes;
  if (!v::append_key_bytes(*o, bytes)) return std::nullopt;
  return Key::from_wire(std::move(bytes));
}

bool is_map(const object* o) { return o != nullptr && o->type == msgpack::type::MAP; }
bool is_array(const object* o) { return o != nullptr && o->type == msgpack::type::ARRAY; }

// A map field converted to a Value only when it has entries (most are {}).
std::optional<Value> read_map_value(const object* o, const ParsedMessage& message) {
  if (!is_map(o)) return std::nullopt;
  if (o->via.map.size == 0) return Value(Map{});
  Result<Value> value = message.to_value(*o);
  if (!value.ok() || !value->is_map()) return std::nullopt;  // e.g. a payload map
  return std::move(value).value();
}

std::optional<std::vector<StartStop>> read_startstops(const object* o) {
  if (!is_array(o)) return std::nullopt;
  std::vector<StartStop> out;
  out.reserve(o->via.array.size);
  for (std::uint32_t i = 0; i < o->via.array.size; ++i) {
    const object& item = o->via.array.ptr[i];
    auto action = v::str(v::find(item, "action"));
    auto start = v::number(v::find(item, "start"));
    auto stop = v::number(v::find(item, "stop"));
    const object* source = v::find(item, "source");
    if (!action || !start || !stop) return std::nullopt;
    StartStop ss{std::string(*action), *start, *stop, std::nullopt};
    if (source != nullptr) {
      auto s = v::str(source);
      if (!s) return std::nullopt;
      ss.source = std::string(*s);
    }
    out.push_back(std::move(ss));
  }
  return out;
}

void write_str_field(MsgpackWriter& w, std::string_view name, std::string_view value) {
  w.str(name);
  w.str(value);
}

void write_int(MsgpackWriter& w, std::int64_t i) { w.integer(Integer{i, false}); }

}  // namespace

std::optional<TaskFinished> read_task_finished(const object& m,
                                               const ParsedMessage& message) {
  TaskFinished op;
  auto key = read_key(v::find(m, "key"));
  auto run_id = v::int64(v::find(m, "run_id"));
  auto nbytes = v::int64(v::find(m, "nbytes"));
  const object* type = v::find(m, "type");
  auto type_name = v::str(v::find(m, "typename"));
  auto metadata = read_map_value(v::find(m, "metadata"), message);
  const object* thread = v::find(m, "thread");
  auto startstops = read_startstops(v::find(m, "startstops"));
  auto stimulus_id = v::str(v::find(m, "stimulus_id"));
  if (!key || !run_id || !nbytes || type == nullptr || !type_name || !metadata ||
      thread == nullptr || !startstops || !stimulus_id) {
    return std::nullopt;
  }
  if (type->type == msgpack::type::BIN) {
    op.type = message.bin_slice(*type);
  } else if (!v::is_nil(*type)) {
    return std::nullopt;
  }
  if (!v::is_nil(*thread)) {
    auto t = v::int64(thread);
    if (!t) return std::nullopt;
    op.thread = *t;
  }
  op.key = std::move(*key);
  op.run_id = *run_id;
  op.nbytes = *nbytes;
  op.typename_ = std::string(*type_name);
  op.metadata = std::move(*metadata);
  op.startstops = std::move(*startstops);
  op.stimulus_id = std::string(*stimulus_id);
  return op;
}

std::optional<ComputeTask> read_compute_task(const object& m,
                                             const ParsedMessage& message) {
  ComputeTask op;
  auto key = read_key(v::find(m, "key"));
  auto run_id = v::int64(v::find(m, "run_id"));
  const object* priority = v::find(m, "priority");
  auto stimulus_id = v::str(v::find(m, "stimulus_id"));
  const object* who_has = v::find(m, "who_has");
  const object* nbytes = v::find(m, "nbytes");
  const object* run_spec = v::find(m, "run_spec");
  const object* resources = v::find(m, "resource_restrictions");
  const object* actor = v::find(m, "actor");
  auto annotations = read_map_value(v::find(m, "annotations"), message);
  const object* span_id = v::find(m, "span_id");
  if (!key || !run_id || !is_array(priority) || !stimulus_id || !is_map(who_has) ||
      !is_map(nbytes) || run_spec == nullptr || resources == nullptr ||
      actor == nullptr || actor->type != msgpack::type::BOOLEAN || !annotations ||
      span_id == nullptr) {
    return std::nullopt;
  }
  op.key = std::move(*key);
  op.run_id = *run_id;
  op.priority.reserve(priority->via.array.size);
  for (std::uint32_t i = 0; i < priority->via.array.size; ++i) {
    const object& p = priority->via.array.ptr[i];
    if (auto n = v::int64(&p)) {
      op.priority.emplace_back(*n);
    } else if (p.type == msgpack::type::FLOAT64) {
      op.priority.emplace_back(p.via.f64);
    } else {
      return std::nullopt;  // float32, big unsigned: the generic path keeps them exact
    }
  }
  op.stimulus_id = std::string(*stimulus_id);
  op.who_has.reserve(who_has->via.map.size);
  for (std::uint32_t i = 0; i < who_has->via.map.size; ++i) {
    const msgpack::object_kv& kv = who_has->via.map.ptr[i];
    auto dep = read_key(&kv.key);
    if (!dep || !is_array(&kv.val)) return std::nullopt;
    AddressList addresses;
    addresses.reserve(kv.val.via.array.size);
    for (std::uint32_t j = 0; j < kv.val.via.array.size; ++j) {
      auto a = v::str(&kv.val.via.array.ptr[j]);
      if (!a) return std::nullopt;
      addresses.emplace_back(*a);
    }
    op.who_has.emplace_back(std::move(*dep), std::move(addresses));
  }
  op.nbytes.reserve(nbytes->via.map.size);
  for (std::uint32_t i = 0; i < nbytes->via.map.size; ++i) {
    const msgpack::object_kv& kv = nbytes->via.map.ptr[i];
    auto dep = read_key(&kv.key);
    auto n = v::int64(&kv.val);
    if (!dep || !n) return std::nullopt;
    op.nbytes.emplace_back(std::move(*dep), *n);
  }
  if (!v::is_nil(*run_spec)) {
    Result<Value> spec = message.to_value(*run_spec);
    if (!spec.ok() || !spec->is_payload()) return std::nullopt;
    op.run_spec = std::move(spec).value();
  }
  if (!v::is_nil(*resources)) {
    auto r = read_map_value(resources, message);
    if (!r) return std::nullopt;
    op.resource_restrictions = std::move(*r);
  }
  op.actor = actor->via.boolean;
  op.annotations = std::move(*annotations);
  if (!v::is_nil(*span_id)) {
    auto s = v::str(span_id);
    if (!s) return std::nullopt;
    op.span_id = std::string(*s);
  }
  return op;
}

std::optional<FreeKeys> read_free_keys(const object& m) {
  const object* keys = v::find(m, "keys");
  auto stimulus_id = v::str(v::find(m, "stimulus_id"));
  if (!is_array(keys) || !stimulus_id) return std::nullopt;
  FreeKeys op;
  op.keys.reserve(keys->via.array.size);
  for (std::uint32_t i = 0; i < keys->via.array.size; ++i) {
    auto key = read_key(&keys->via.array.ptr[i]);
    if (!key) return std::nullopt;
    op.keys.push_back(std::move(*key));
  }
  op.stimulus_id = std::string(*stimulus_id);
  return op;
}

void write_task_finished(MsgpackWriter& w, const TaskFinished& op) {
  w.map_header(11);
  w.str("key");
  w.raw(op.key.canonical());
  w.str("run_id");
  write_int(w, op.run_id);
  w.str("nbytes");
  write_int(w, op.nbytes);
  w.str("type");
  if (op.type) {
    w.bin(op.type->span());
  } else {
    w.nil();
  }
  write_str_field(w, "typename", op.typename_);
  w.str("metadata");
  (void)write_value(w, op.metadata, WriteOptions{});
  w.str("thread");
  if (op.thread) {
    write_int(w, *op.thread);
  } else {
    w.nil();
  }
  w.str("startstops");
  w.array_header(op.startstops.size());
  for (const StartStop& ss : op.startstops) {
    w.map_header(ss.source ? 4 : 3);
    write_str_field(w, "action", ss.action);
    w.str("start");
    w.float64(ss.start);
    w.str("stop");
    w.float64(ss.stop);
    if (ss.source) write_str_field(w, "source", *ss.source);
  }
  write_str_field(w, "op", TaskFinished::kOp);
  write_str_field(w, "stimulus_id", op.stimulus_id);
  write_str_field(w, "status", "OK");
}

Value generation_value(double g) {
  double ip;
  if (std::modf(g, &ip) == 0.0 && std::fabs(g) < 9e15) {
    return Value(static_cast<std::int64_t>(g));
  }
  return Value(g);
}

void write_compute_task(MsgpackWriter& w, Frames& payload_frames,
                        const ComputeTaskView& op) {
  w.map_header(12);
  write_str_field(w, "op", ComputeTask::kOp);
  w.str("key");
  w.raw(op.key);
  w.str("run_id");
  write_int(w, op.run_id);
  w.str("priority");
  w.array_header(3);
  write_int(w, op.neg_user_priority);
  (void)write_value(w, generation_value(op.generation), WriteOptions{});
  write_int(w, op.order);
  write_str_field(w, "stimulus_id", op.stimulus_id);
  w.str("who_has");
  w.map_header(op.dependencies.size());
  for (const ComputeTaskDepView& d : op.dependencies) {
    w.raw(d.key);
    w.array_header(d.who_has.size());
    for (const std::string& a : d.who_has) w.str(a);
  }
  w.str("nbytes");
  w.map_header(op.dependencies.size());
  for (const ComputeTaskDepView& d : op.dependencies) {
    w.raw(d.key);
    write_int(w, d.nbytes);
  }
  w.str("run_spec");
  if (op.run_spec != nullptr) {
    write_payload(w, payload_frames, *op.run_spec);
  } else {
    w.nil();
  }
  w.str("resource_restrictions");
  if (op.resource_restrictions.empty()) {
    w.nil();
  } else {
    w.map_header(op.resource_restrictions.size());
    for (const auto& [name, amount] : op.resource_restrictions) {
      w.str(name);
      w.float64(amount);
    }
  }
  w.str("actor");
  w.boolean(op.actor);
  w.str("annotations");
  if (op.annotations != nullptr) {
    (void)write_value(w, *op.annotations, WriteOptions{&payload_frames, false});
  } else {
    w.map_header(0);
  }
  w.str("span_id");
  w.nil();
}

void write_key_in_memory(MsgpackWriter& w, std::string_view key, const Bytes& type,
                         bool has_type) {
  w.map_header(has_type ? 3 : 2);
  write_str_field(w, "op", KeyInMemory::kOp);
  w.str("key");
  w.raw(key);
  if (has_type) {
    w.str("type");
    if (type.empty()) {
      w.nil();
    } else {
      w.bin(type.span());
    }
  }
}

}  // namespace daskcpp::protocol
