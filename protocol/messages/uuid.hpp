#pragma once
// Random version-4 UUIDs in Python's str(uuid.uuid4()) form, for the server ids
// upstream builds from them ("Scheduler-…", "Worker-…", "Nanny-…").

#include <random>
#include <string>

namespace daskcpp::protocol {

// From `gen`: for a process that makes many ids (the simulated workers).
std::string uuid4(std::mt19937_64& gen);
// From a freshly seeded generator.
std::string uuid4();

}  // namespace daskcpp::protocol
