#pragma once
// The address other machines can reach us at when we listen on all interfaces
// (upstream distributed/utils.py get_ip: the local end of a UDP "connection"
// to a public address; no packet is sent). Falls back to 127.0.0.1.

#include <string>

namespace daskcpp::scheduler {

std::string reachable_host_ip();

}  // namespace daskcpp::scheduler
