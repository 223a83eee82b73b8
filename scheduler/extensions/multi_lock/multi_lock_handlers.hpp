#pragma once
// MultiLock (upstream distributed/multi_lock.py MultiLockExtension):
// multi_lock_acquire parks, without blocking the loop, until its id holds num_locks
// of the named locks or its timeout passes (then it withdraws and answers False);
// multi_lock_release frees them and wakes the users that now hold all they need.
// The bookkeeping is MultiLockTable. Thread: the scheduler loop.

namespace daskcpp::scheduler {

struct ExtensionContext;

void register_multi_lock_handlers(ExtensionContext& server);

}  // namespace daskcpp::scheduler
