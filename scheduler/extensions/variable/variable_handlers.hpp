#pragma once
// Variable (upstream distributed/variable.py VariableExtension): variable_set and
// variable_get RPCs, the variable_delete and variable-future-received-confirm stream
// ops. A future in a variable is kept alive by the pseudo-client "variable-<name>";
// when the variable is overwritten or deleted, that pseudo-client lets go of the key
// only after every client that got the future confirmed it holds it (its token).
// variable_get waits, without blocking the loop, until the variable exists or its
// timeout passes (TimeoutError). Thread: the scheduler loop.

namespace daskcpp::scheduler {

struct ExtensionContext;

void register_variable_handlers(ExtensionContext& server);

}  // namespace daskcpp::scheduler
