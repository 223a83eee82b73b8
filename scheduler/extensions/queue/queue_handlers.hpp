#pragma once
// Queue (upstream distributed/queues.py QueueExtension): queue_create, queue_put,
// queue_get, queue_qsize RPCs and the queue_release, queue-future-release stream ops.
// Each queue is a FIFO of records (a future's key, or msgpack data) with an optional
// maxsize; a put on a full queue and a get on an empty one park until room / an item
// appears or their timeout passes (TimeoutError), as asyncio.Queue under wait_for.
// A future in a queue is kept alive by the pseudo-client "queue-<name>", counted per
// (queue, key) until the client that got it confirms with queue-future-release.
// Thread: the scheduler loop.

namespace daskcpp::scheduler {

struct ExtensionContext;

void register_queue_handlers(ExtensionContext& server);

}  // namespace daskcpp::scheduler
