#include "protocol/rpc/decode.hpp"

namespace daskcpp::protocol {

asio::awaitable<Value> ready_reply(Value reply) { co_return reply; }

}  // namespace daskcpp::protocol
