#pragma once
// The one include of Boost.Asio for daskcpp (style.md §3.4: comm/ is the only
// Asio user in protocol/). Boost 1.74's awaitable.hpp uses std::exchange
// without including <utility>, so every Asio user goes through this header.

// clang-format off
#include <utility>  // must precede Asio (see above)
#include <boost/asio.hpp>
// clang-format on

namespace daskcpp::protocol {
namespace asio = boost::asio;
using tcp = boost::asio::ip::tcp;
using ErrorCode = boost::system::error_code;
}  // namespace daskcpp::protocol
