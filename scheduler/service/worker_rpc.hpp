#pragma once
// The scheduler's requester side toward workers: get_data (the three-message
// exchange of protocol.md §7), update_data (scatter), a generic call, and the
// gather loop over several holders. Mirrors distributed.worker.get_data_from_worker,
// distributed.utils_comm.gather_from_workers / scatter_to_workers.
//
// GatherPlan is the bookkeeping of gather_from_workers as plain data (no Asio, no
// clock, RNG passed in) so it is unit-tested without sockets; gather_from_workers()
// drives it over the ConnectionPool.
//
// Threading: everything runs on the scheduler's loop thread. The coroutines suspend
// on comms and timers and never block the loop. Payloads travel as the workers sent
// them (shared byte slices, never deserialized).

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "protocol/codec/value.hpp"
#include "protocol/comm/asio.hpp"
#include "protocol/comm/connection_pool.hpp"
#include "protocol/messages/field_reader.hpp"
#include "protocol/messages/key.hpp"
#include "protocol/status.hpp"

namespace daskcpp::scheduler {

namespace asio = protocol::asio;

// What one get_data exchange with one holder gave.
struct GetDataResponse {
  enum class Outcome : std::uint8_t {
    kOk,         // `data` holds what the holder had (maybe fewer keys than asked)
    kBusy,       // {"status": "busy"}: retry after kBusyRetryDelay
    kCommError,  // connect/read/write failed: the holder counts as missing (OSError)
    kBadReply,   // an answer we cannot use (uncaught-error, wrong shape)
  };
  Outcome outcome = Outcome::kCommError;
  protocol::KeyValues data;
  Status error;  // for kCommError / kBadReply
};

// Upstream gather_from_workers sleeps 0.15 s when every ready holder is busy.
inline constexpr std::chrono::milliseconds kBusyRetryDelay{150};

// get_data with `who: nil`, the reply, then the bare "OK" ack after an OK reply
// (Appendix C.7). The comm goes back to the pool only after a clean exchange.
asio::awaitable<GetDataResponse> get_data_from_worker(
    protocol::ConnectionPool& pool, const std::string& worker,
    const std::vector<protocol::Key>& keys);

// {"op": "update_data", "data": {...}, "reply": true} → the worker's nbytes per key.
asio::awaitable<Result<protocol::KeyInts>> update_data_on_worker(
    protocol::ConnectionPool& pool, const std::string& worker, protocol::KeyValues data);

// The bookkeeping of upstream gather_from_workers + the retry loop of
// Scheduler.gather, over keys and holder addresses only.
//
// Per round, each pending key goes to a random holder that is neither missing (comm
// error) nor busy; keys are grouped per holder into one get_data. A holder that
// answers OK without a key is not asked for that key again. When a round has nothing
// to send: if some holder was busy, wait kBusyRetryDelay and clear_busy(); otherwise
// refresh() the pending keys' holders from the scheduler state (Scheduler.gather's
// outer loop) and stop once no key gained a holder: what is left failed.
class GatherPlan {
 public:
  using Requests = std::vector<std::pair<std::string, std::vector<protocol::Key>>>;

  explicit GatherPlan(const protocol::WhoHas& who_has);

  Requests next_round(std::mt19937_64& rng);
  bool any_busy() const { return !busy_.empty(); }
  void clear_busy() { busy_.clear(); }

  void on_response(const std::string& worker, const std::vector<protocol::Key>& asked,
                   GetDataResponse response);

  // Replaces the holders of every pending key with `holders(key)` minus the missing
  // workers and the holders that already answered without it. True when some pending
  // key has a holder to ask again.
  bool refresh(
      const std::function<std::vector<std::string>(const protocol::Key&)>& holders);

  bool done() const { return pending_.empty(); }
  // Keys in first-request order.
  const protocol::KeyValues& data() const { return data_; }
  protocol::KeyValues take_data() { return std::move(data_); }
  // Keys no holder delivered (pending ones included), in request order.
  std::vector<protocol::Key> failed_keys() const;
  const std::set<std::string>& missing_workers() const { return missing_; }

 private:
  struct Pending {
    std::set<std::string> holders;
    std::set<std::string> tried;  // answered OK without the key
  };
  std::vector<protocol::Key> order_;  // request order
  std::map<protocol::Key, Pending> pending_;
  std::vector<protocol::Key> failed_;  // bad replies (upstream "failed_keys")
  protocol::KeyValues data_;
  std::set<std::string> missing_;
  std::set<std::string> busy_;
};

struct GatherResult {
  protocol::KeyValues data;
  std::vector<protocol::Key> failed_keys;
  std::set<std::string> missing_workers;
};

// Scheduler.gather's worker side: fetches every key from its holders, retrying on
// busy holders and on other holders after comm errors. `holders` re-reads who_has
// from the scheduler state between rounds.
asio::awaitable<GatherResult> gather_from_workers(
    protocol::ConnectionPool& pool, const protocol::WhoHas& who_has, std::mt19937_64& rng,
    std::function<std::vector<std::string>(const protocol::Key&)> holders);

// Round-robin assignment of scatter (upstream scatter_to_workers): workers sorted,
// starting `counter % n` into the cycle; `counter` advances by the number of keys (a
// process-wide counter upstream). Returns, per worker in first-use order, the indices
// of the keys it gets.
std::vector<std::pair<std::string, std::vector<std::size_t>>> assign_round_robin(
    std::vector<std::string> workers, std::size_t n_keys, std::uint64_t& counter);

}  // namespace daskcpp::scheduler
