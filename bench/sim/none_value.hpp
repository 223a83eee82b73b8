#pragma once
// The one result value of every simulated task: the Python object None, in the
// exact bytes a stock worker produces for it (captured from distributed 2026.8:
// Worker._get_task_finished_msg and serialize_and_split for get_data replies).
//
// Pure data, no Python: the pickles are constants (`pickle.dumps(None)` is the
// four bytes 80 <protocol> 4e 2e).
// Thread safety: the returned values are immutable and may be shared.

#include <cstdint>

#include "protocol/bytes.hpp"
#include "protocol/codec/value.hpp"

namespace daskcpp::bench {

// sizeof(None) as dask.sizeof reports it: task-finished.nbytes.
inline constexpr std::int64_t kNoneNbytes = 16;
// dask.utils.typename(type(None)): task-finished.typename.
inline constexpr const char* kNoneTypename = "NoneType";

// distributed.protocol.pickle.dumps(type(None)) (protocol 5): task-finished.type.
Bytes none_type_pickle();

// `{"__Serialized__": k}` value of a get_data reply: header
// {"serializer": "pickle", "writeable": [], "split-num-sub-frames": [1],
//  "split-offsets": [0], "compression": [null], "num-sub-frames": 1} and the pickle
// of None at the connection's negotiated protocol (4 to the scheduler, 5 to clients).
protocol::Value none_payload(std::int64_t pickle_protocol);

}  // namespace daskcpp::bench
