/**
 * Segment bodies read straight into reused buffers. Fastify's own parser gathers a body's chunks and
 * concatenates them into a new buffer for each request; at 1,500 segments a second those buffers are
 * a large share of the memory the server allocates, and V8 starts a major garbage collection for
 * every few dozen megabytes of buffers allocated, however small the JavaScript heap. Here a body whose
 * length is declared is copied chunk by chunk into a buffer from a small pool, and the buffer goes
 * back to the pool once the response is sent (recording.routes.ts).
 *
 * A pooled buffer still holds an earlier body's bytes past the new one; only the new body's length
 * is ever handed out, and every byte of it is overwritten first.
 */
import type { IncomingMessage } from 'node:http';
import { errorCodes, type FastifyRequest } from 'fastify';

/** Smallest pooled size: smaller bodies (sealed headers, JSON) are allocated as they come. */
const MIN_POOLED = 16 * 1024;
/** Largest pooled size; a larger body gets a buffer of its own. */
const MAX_POOLED = 4 * 1024 * 1024;

function sizeClass(size: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(size, MIN_POOLED)));
}

export class BodyPool {
  private readonly free = new Map<number, Buffer[]>();
  private idleBytes = 0;

  /** @param maxIdleBytes buffers kept for reuse at most, in bytes; past it returned buffers are dropped. */
  constructor(private readonly maxIdleBytes: number) {}

  /** A buffer of at least `size` bytes: pooled (give it back) when `pooled` says so. */
  take(size: number): { buffer: Buffer; pooled: boolean } {
    if (size < MIN_POOLED || size > MAX_POOLED) return { buffer: Buffer.allocUnsafe(size), pooled: false };
    const cls = sizeClass(size);
    const buffer = this.free.get(cls)?.pop();
    if (buffer) {
      this.idleBytes -= cls;
      return { buffer, pooled: true };
    }
    return { buffer: Buffer.allocUnsafeSlow(cls), pooled: true };
  }

  /** Takes back a buffer `take` gave out as pooled, once nothing reads it any more. */
  give(buffer: Buffer): void {
    const cls = buffer.length;
    if (cls !== sizeClass(cls) || cls > MAX_POOLED || this.idleBytes + cls > this.maxIdleBytes) return;
    let list = this.free.get(cls);
    if (!list) this.free.set(cls, (list = []));
    list.push(buffer);
    this.idleBytes += cls;
  }

  /** Bytes held for reuse (for tests). */
  get idle(): number {
    return this.idleBytes;
  }
}

type Done = (error: Error | null, body?: Buffer) => void;

/**
 * A Fastify content-type parser for application/octet-stream with the checks of Fastify's own
 * (`parseAs: 'buffer'`): a declared or received length past the route's body limit is 413
 * FST_ERR_CTP_BODY_TOO_LARGE, a body that ends short of its Content-Length is 400
 * FST_ERR_CTP_INVALID_CONTENT_LENGTH. `onPooled` learns each pooled buffer handed out as a body.
 */
export function pooledBodyParser(pool: BodyPool, onPooled: (request: FastifyRequest, buffer: Buffer) => void) {
  return (request: FastifyRequest, payload: IncomingMessage, done: Done): void => {
    const limit = request.routeOptions.bodyLimit ?? 0;
    const declared = Number(request.headers['content-length']);
    if (declared > limit) {
      done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      return;
    }
    const known = Number.isSafeInteger(declared) && declared >= 0;
    const taken = known ? pool.take(declared) : null;
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (error: Error | null, body?: Buffer) => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onEnd);
      if (taken?.pooled) {
        if (body) onPooled(request, taken.buffer);
        else pool.give(taken.buffer);
      }
      done(error, body);
    };
    function onData(chunk: Buffer | string): void {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      const at = received;
      received += bytes.length;
      if (received > limit) return finish(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      if (taken && received > declared) return finish(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      // Copied either way: a chunk may be a view of a read buffer the socket reuses.
      if (taken) taken.buffer.set(bytes, at);
      else chunks.push(Buffer.from(bytes));
    }
    function onEnd(error?: Error & { statusCode?: number }): void {
      if (error) {
        if (!(typeof error.statusCode === 'number' && error.statusCode >= 400)) error.statusCode = 400;
        return finish(error);
      }
      if (known && received !== declared) return finish(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      finish(null, taken ? taken.buffer.subarray(0, received) : Buffer.concat(chunks, received));
    }
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onEnd);
    payload.resume();
  };
}
