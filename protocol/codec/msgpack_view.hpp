#pragma once
// Reading fields straight from a msgpack-c object tree (a ParsedMessage), for the
// few ops that arrive once per task — task-finished at the scheduler, compute-task
// and free-keys at a worker — so that they skip the Value tree (issue 11).
//
// Every accessor answers "absent or not of this type" with nullopt/false instead of
// an error: a fast-path decoder that meets anything unexpected gives up, and the
// op goes down the generic Value path, which reports the error in the usual words.
// So these never need to reproduce an error message.
//
// Thread safety: stateless functions over objects the caller keeps alive.

#include <cstdint>
#include <msgpack.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace daskcpp::protocol::view {

using Object = msgpack::object;

// The value of the str key `name` in map `o`; nullptr if `o` is not a map or has
// no such key. Linear: op maps have about ten entries.
const Object* find(const Object& o, std::string_view name);

inline bool is_nil(const Object& o) { return o.type == msgpack::type::NIL; }

// A str that is valid UTF-8 (what the Value path would accept).
std::optional<std::string_view> str(const Object* o);
// An int that fits int64 (as FieldReader::int64 accepts).
std::optional<std::int64_t> int64(const Object* o);
// An int or a float, as a double.
std::optional<double> number(const Object* o);

// The canonical bytes of a task key (Key::from_value's encoding: shortest forms,
// floats as float64), appended to `out`; false if `o` is not a valid key (str,
// int, float or a tuple of those, nested at most 64 deep).
bool append_key_bytes(const Object& o, std::string& out);

}  // namespace daskcpp::protocol::view
