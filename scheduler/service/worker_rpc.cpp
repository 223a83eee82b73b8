#include "scheduler/service/worker_rpc.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_map>

#include "protocol/messages/rpc_ops.hpp"
#include "protocol/rpc/error_reply.hpp"
#include "protocol/rpc/fan_out.hpp"
#include "protocol/rpc/when_all.hpp"

namespace daskcpp::scheduler {

using protocol::Key;
using protocol::KeyValues;
using protocol::Value;

asio::awaitable<GetDataResponse> get_data_from_worker(protocol::ConnectionPool& pool,
                                                      const std::string& worker,
                                                      const std::vector<Key>& keys) {
  using Outcome = GetDataResponse::Outcome;
  GetDataResponse out;
  Result<std::shared_ptr<protocol::Comm>> comm = co_await pool.acquire(worker);
  if (!comm.ok()) {
    out.error = comm.status().with_context("get_data from " + worker);
    co_return out;
  }
  protocol::GetData request;
  request.keys = keys;
  request.reply = true;  // who stays nullopt: `who: nil`, as the stock scheduler
  if (Status st = (*comm)->write(request.encode()); !st.ok()) {
    (*comm)->abort();
    out.error = st.with_context("get_data to " + worker);
    co_return out;
  }
  Result<Value> reply = co_await (*comm)->read();
  if (!reply.ok()) {
    (*comm)->abort();
    out.error = reply.status().with_context("get_data reply from " + worker);
    co_return out;
  }
  if (protocol::is_uncaught_error(*reply)) {
    pool.release(worker, *comm);  // a complete reply: the comm is in sync
    out.outcome = Outcome::kBadReply;
    out.error = Status(StatusCode::kUnknown, "get_data on " + worker + " raised " +
                                                 protocol::uncaught_error_text(*reply));
    co_return out;
  }
  Result<protocol::GetDataReply> decoded = protocol::GetDataReply::decode(*reply);
  if (!decoded.ok()) {
    (*comm)->abort();
    out.outcome = Outcome::kBadReply;
    out.error = decoded.status().with_context("get_data reply from " + worker);
    co_return out;
  }
  if (decoded->busy) {
    pool.release(worker, *comm);
    out.outcome = Outcome::kBusy;
    co_return out;
  }
  // The holder counts the transfer as finished only once it reads this ack.
  if (Status st = (*comm)->write(protocol::ok_ack()); !st.ok()) {
    (*comm)->abort();
    out.error = st.with_context("get_data ack to " + worker);
    co_return out;
  }
  pool.release(worker, *comm);
  out.outcome = Outcome::kOk;
  out.data = std::move(decoded->data);
  co_return out;
}

asio::awaitable<Result<protocol::KeyInts>> update_data_on_worker(
    protocol::ConnectionPool& pool, const std::string& worker, KeyValues data) {
  protocol::WorkerUpdateData request;
  request.data = std::move(data);
  request.reply = true;
  Result<Value> reply = co_await protocol::call_peer(pool, worker, request.encode());
  if (!reply.ok()) co_return reply.status();
  if (protocol::is_uncaught_error(*reply)) {
    co_return Status(StatusCode::kUnknown, "update_data on " + worker + " raised " +
                                               protocol::uncaught_error_text(*reply));
  }
  Result<protocol::WorkerUpdateDataReply> decoded =
      protocol::WorkerUpdateDataReply::decode(*reply);
  if (!decoded.ok()) co_return decoded.status().with_context("from " + worker);
  co_return std::move(decoded->nbytes);
}

// ---- GatherPlan ----------------------------------------------------------------

GatherPlan::GatherPlan(const protocol::WhoHas& who_has) {
  for (const auto& [key, addresses] : who_has) {
    auto [it, inserted] = pending_.try_emplace(key);
    if (!inserted) continue;  // a key asked twice is fetched once
    order_.push_back(key);
    it->second.holders.insert(addresses.begin(), addresses.end());
  }
}

GatherPlan::Requests GatherPlan::next_round(std::mt19937_64& rng) {
  Requests out;
  std::map<std::string, std::size_t> index;
  std::vector<const std::string*> ready;
  for (const Key& key : order_) {
    auto it = pending_.find(key);
    if (it == pending_.end()) continue;
    ready.clear();
    for (const std::string& h : it->second.holders) {
      if (!missing_.contains(h) && !busy_.contains(h)) ready.push_back(&h);
    }
    if (ready.empty()) continue;
    std::uniform_int_distribution<std::size_t> pick(0, ready.size() - 1);
    const std::string& holder = *ready[pick(rng)];
    auto [slot, inserted] = index.try_emplace(holder, out.size());
    if (inserted) out.emplace_back(holder, std::vector<Key>{});
    out[slot->second].second.push_back(key);
  }
  return out;
}

void GatherPlan::on_response(const std::string& worker, const std::vector<Key>& asked,
                             GetDataResponse response) {
  using Outcome = GetDataResponse::Outcome;
  switch (response.outcome) {
    case Outcome::kCommError:
      missing_.insert(worker);
      return;
    case Outcome::kBusy:
      busy_.insert(worker);
      return;
    case Outcome::kBadReply:
      // Upstream: "Unexpected error while collecting tasks": those keys fail.
      for (const Key& k : asked) {
        if (pending_.erase(k) > 0) failed_.push_back(k);
      }
      return;
    case Outcome::kOk:
      break;
  }
  // Upstream walks the keys it asked for, in order (so does the reply map it builds).
  std::unordered_map<Key, std::size_t> got;
  for (std::size_t i = 0; i < response.data.size(); ++i) {
    got.try_emplace(response.data[i].first, i);
  }
  for (const Key& k : asked) {
    auto it = pending_.find(k);
    if (it == pending_.end()) continue;  // already delivered or failed
    auto g = got.find(k);
    if (g != got.end()) {
      pending_.erase(it);
      data_.emplace_back(k, std::move(response.data[g->second].second));
      continue;
    }
    it->second.holders.erase(worker);
    it->second.tried.insert(worker);
  }
}

bool GatherPlan::refresh(
    const std::function<std::vector<std::string>(const Key&)>& holders) {
  bool any = false;
  for (auto& [key, p] : pending_) {
    p.holders.clear();
    for (std::string& h : holders(key)) {
      if (missing_.contains(h) || p.tried.contains(h)) continue;
      p.holders.insert(std::move(h));
    }
    any = any || !p.holders.empty();
  }
  return any;
}

std::vector<Key> GatherPlan::failed_keys() const {
  std::vector<Key> out;
  for (const Key& k : order_) {
    if (pending_.contains(k) ||
        std::find(failed_.begin(), failed_.end(), k) != failed_.end()) {
      out.push_back(k);
    }
  }
  return out;
}

asio::awaitable<GatherResult> gather_from_workers(
    protocol::ConnectionPool& pool, const protocol::WhoHas& who_has, std::mt19937_64& rng,
    std::function<std::vector<std::string>(const Key&)> holders) {
  GatherPlan plan(who_has);
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  while (!plan.done()) {
    GatherPlan::Requests round = plan.next_round(rng);
    if (round.empty()) {
      if (plan.any_busy()) {
        asio::steady_timer wait(ex, kBusyRetryDelay);
        protocol::ErrorCode ec;
        co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        plan.clear_busy();
        continue;
      }
      if (!plan.refresh(holders)) break;
      continue;
    }
    std::vector<asio::awaitable<GetDataResponse>> tasks;
    tasks.reserve(round.size());
    for (const auto& [worker, keys] : round) {
      tasks.push_back(get_data_from_worker(pool, worker, keys));
    }
    std::vector<std::optional<GetDataResponse>> responses =
        co_await protocol::when_all(std::move(tasks));
    for (std::size_t i = 0; i < round.size(); ++i) {
      GetDataResponse r;
      if (responses[i]) {
        r = std::move(*responses[i]);
      } else {
        r.outcome = GetDataResponse::Outcome::kBadReply;
      }
      if (r.outcome == GetDataResponse::Outcome::kCommError ||
          r.outcome == GetDataResponse::Outcome::kBadReply) {
        spdlog::warn("gather: {} ({} keys)", r.error.to_string(), round[i].second.size());
      }
      plan.on_response(round[i].first, round[i].second, std::move(r));
    }
  }
  GatherResult out;
  out.failed_keys = plan.failed_keys();
  out.missing_workers = plan.missing_workers();
  out.data = plan.take_data();
  co_return out;
}

std::vector<std::pair<std::string, std::vector<std::size_t>>> assign_round_robin(
    std::vector<std::string> workers, std::size_t n_keys, std::uint64_t& counter) {
  std::vector<std::pair<std::string, std::vector<std::size_t>>> out;
  if (workers.empty()) return out;
  std::sort(workers.begin(), workers.end());
  const std::size_t n = workers.size();
  const std::size_t start = static_cast<std::size_t>(counter % n);
  counter += n_keys;
  std::map<std::size_t, std::size_t> slot;  // worker index -> position in out
  for (std::size_t i = 0; i < n_keys; ++i) {
    const std::size_t w = (start + i) % n;
    auto [it, inserted] = slot.try_emplace(w, out.size());
    if (inserted) out.emplace_back(workers[w], std::vector<std::size_t>{});
    out[it->second].second.push_back(i);
  }
  return out;
}

}  // namespace daskcpp::scheduler
