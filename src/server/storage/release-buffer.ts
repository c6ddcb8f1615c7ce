/**
 * Gives a buffer's memory back at once instead of at V8's next garbage collection.
 *
 * Sealing a segment at rest allocates its ciphertext (Node's cipher offers no output buffer to reuse):
 * hundreds of kilobytes that live only until the log store has copied them into its batch. Until a
 * garbage collection finds them dead, such buffers count as young external memory, and V8 starts a
 * young-generation collection each time 32 MB of it accumulates, whatever the configured heap sizes;
 * under load the ciphertexts were half of that memory, so half of the collections (docs/BENCHMARKS.md).
 *
 * Transferring an ArrayBuffer detaches it: its length becomes 0 and V8 stops counting its bytes.
 * Transferred through a closed port, the message is dropped where it is made, and the memory with it.
 */
import { MessageChannel } from 'node:worker_threads';

/**
 * Smaller buffers are left to the collector: a transfer costs more than they do. A segment's
 * ciphertext comes in parts of up to 16 KiB, one per chunk of its body, and the first and last are
 * mostly smaller; in one transfer with the others each costs well under a microsecond more.
 */
export const MIN_RELEASED_BYTES = 4 * 1024;

const sink = new MessageChannel().port1;
sink.close();

function releasable(view: Uint8Array): boolean {
  const memory = view.buffer;
  return memory instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === memory.byteLength && memory.byteLength >= MIN_RELEASED_BYTES;
}

/**
 * Frees the memory of each of `views` that is all of an ArrayBuffer of at least MIN_RELEASED_BYTES,
 * in one transfer (a sealed segment's ciphertext comes in a part for each chunk of its body, and one
 * transfer of sixteen buffers costs a third of sixteen transfers), and returns how many it freed.
 * Only for buffers nothing else holds: every view of that memory reads as empty after. A view into a
 * larger buffer (Node's shared pool for small buffers, a slice) is left as it is.
 */
export function releaseBuffers(views: readonly Uint8Array[]): number {
  const memory = [...new Set(views.filter(releasable).map((v) => v.buffer as ArrayBuffer))];
  if (memory.length === 0) return 0;
  try {
    sink.postMessage(null, memory);
  } catch {
    return 0;
  }
  return memory.filter((m) => m.byteLength === 0).length;
}
