#pragma once
// The ops that travel once per task, read straight from a parsed message and
// written straight into a batch, with no Value tree in between (issue 11):
// task-finished (worker -> scheduler), compute-task and free-keys (scheduler ->
// worker), key-in-memory (scheduler -> client).
//
// Each reader returns the same op struct the generic decoder (Op::decode) would
// for a well-formed op, and nullopt for anything else — a missing field, a wrong
// type, a payload where none is expected — so the caller falls back to the
// generic path, which reports the error in its usual words. Each writer appends
// the same bytes encode_message(op.encode()) would, field for field in the
// order of the op's kFields. hot_ops_test checks both against the generic codec.
//
// Thread safety: stateless.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/codec/msgpack_reader.hpp"
#include "protocol/codec/msgpack_writer.hpp"
#include "protocol/messages/client_ops.hpp"
#include "protocol/messages/worker_ops.hpp"

namespace daskcpp::protocol {

std::optional<TaskFinished> read_task_finished(const msgpack::object& op,
                                               const ParsedMessage& message);
std::optional<ComputeTask> read_compute_task(const msgpack::object& op,
                                             const ParsedMessage& message);
std::optional<FreeKeys> read_free_keys(const msgpack::object& op);

void write_task_finished(MsgpackWriter& w, const TaskFinished& op);

// A compute-task as the scheduler holds it: canonical key bytes and stored values,
// nothing to build per message.
struct ComputeTaskDepView {
  std::string_view key;  // canonical bytes
  std::span<const std::string> who_has;
  std::int64_t nbytes = 0;
};
struct ComputeTaskView {
  std::string_view key;  // canonical bytes
  std::int64_t run_id = 0;
  std::int64_t neg_user_priority = 0;
  double generation = 0;  // written as an int when it is integral
  std::int64_t order = 0;
  std::string_view stimulus_id;
  std::span<const ComputeTaskDepView> dependencies;
  const Payload* run_spec = nullptr;                                      // nullptr: nil
  std::span<const std::pair<std::string, double>> resource_restrictions;  // empty: nil
  bool actor = false;
  const Value* annotations = nullptr;  // a map; nullptr: {}
};
// Appends the op-map; payloads (the run_spec) go to `payload_frames`.
void write_compute_task(MsgpackWriter& w, Frames& payload_frames,
                        const ComputeTaskView& op);

// key-in-memory with a type (bin, or nil when empty and `has_type`).
void write_key_in_memory(MsgpackWriter& w, std::string_view key, const Bytes& type,
                         bool has_type);

// The priority's generation as stock sends it: an int unless a sub-graph made it
// fractional.
Value generation_value(double generation);

}  // namespace daskcpp::protocol
