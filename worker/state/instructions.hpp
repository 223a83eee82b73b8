#pragma once
// What the WorkerState asks its owner to do (upstream Instruction subclasses of
// distributed/worker_state_machine.py: Execute, GatherDep, SendMessageToScheduler),
// plus FreeData, because here the data store lives outside the state machine.
//
// Thread safety: plain data.

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "protocol/codec/value.hpp"
#include "protocol/messages/key.hpp"

namespace daskcpp::worker {

using protocol::Key;

struct Execute {
  Key key;
  std::string stimulus_id;
  friend bool operator==(const Execute&, const Execute&) = default;
};

// Fetch `keys` from `worker` with one get_data.
struct GatherDep {
  std::string worker;
  std::vector<Key> keys;
  std::int64_t total_nbytes = 0;
  std::string stimulus_id;
  friend bool operator==(const GatherDep&, const GatherDep&) = default;
};

// One op for the scheduler stream, already encoded (TaskFinished{...}.encode()).
struct SendMsg {
  protocol::Value msg;
  friend bool operator==(const SendMsg&, const SendMsg&) = default;
};

// Drop the key's value from the data store.
struct FreeData {
  Key key;
  friend bool operator==(const FreeData&, const FreeData&) = default;
};

using Instruction = std::variant<Execute, GatherDep, SendMsg, FreeData>;
using Instructions = std::vector<Instruction>;

}  // namespace daskcpp::worker
