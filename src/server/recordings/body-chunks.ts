/**
 * Request bodies kept as the chunks they arrived in. Node's HTTP parser hands each chunk of a body to
 * JavaScript as a buffer of its own, copied out of the socket's read buffer, so keeping those buffers
 * costs nothing more. Joining them costs a copy of every byte: Fastify's own parser concatenates each
 * body into a new buffer, and a pool of reused buffers, which spared the allocation, still paid the
 * copy (4% of the main thread in a profile of 1,000 paced test takers, docs/BENCHMARKS.md). A segment
 * is sealed at rest straight from its chunks (storage/at-rest.ts); a body wanted whole is joined once.
 */
import type { IncomingMessage } from 'node:http';
import { errorCodes, type FastifyRequest } from 'fastify';
import { releaseBuffers } from '../storage/release-buffer.js';

export class BodyChunks {
  private joined: Uint8Array | null = null;
  private released = false;

  /** `chunks`: the body's bytes in order, `length` of them in all; nothing else holds or changes them. */
  constructor(
    readonly chunks: readonly Uint8Array[],
    readonly length: number,
  ) {}

  /** The body in one buffer: its one chunk as it is, or the chunks joined, once. */
  bytes(): Uint8Array {
    this.assertHeld();
    if (this.joined) return this.joined;
    const [only] = this.chunks;
    this.joined = this.chunks.length === 1 && only ? only : Buffer.concat(this.chunks, this.length);
    return this.joined;
  }

  /**
   * The bytes [start, end) as a body of their own, made of views into these chunks: nothing is copied
   * (a POST /v1/segments carries several segments in one body).
   */
  slice(start: number, end: number): BodyChunks {
    this.assertHeld();
    if (!(start >= 0 && start <= end && end <= this.length)) throw new RangeError(`[${start}, ${end}) is not within a body of ${this.length} bytes`);
    const out: Uint8Array[] = [];
    let at = 0;
    for (const chunk of this.chunks) {
      const from = Math.max(start - at, 0);
      const to = Math.min(end - at, chunk.length);
      at += chunk.length;
      if (from < to) out.push(from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to));
      if (at >= end) break;
    }
    return new BodyChunks(out, end - start);
  }

  /**
   * Frees the chunks' memory now instead of at a later garbage collection (storage/release-buffer.ts),
   * once nothing will read this body or a slice of it again: every view of them reads as empty after,
   * and this body refuses to be read. A segment's body, like its ciphertext, would otherwise count as
   * young external memory until a collection, and each 32 MB of it starts one. A chunk that is a view
   * into a larger buffer is left to the collector.
   */
  release(): void {
    this.released = true;
    this.joined = null;
    releaseBuffers(this.chunks);
  }

  private assertHeld(): void {
    if (this.released) throw new Error('the body was released: its memory is gone');
  }

  /** A copy of the body's last `n` bytes (n ≤ length). */
  tail(n: number): Buffer {
    this.assertHeld();
    if (n > this.length) throw new RangeError(`the body has ${this.length} bytes, not ${n}`);
    const out = Buffer.allocUnsafe(n);
    let want = n;
    for (let i = this.chunks.length - 1; want > 0; i--) {
      const chunk = this.chunks[i] as Uint8Array;
      const take = Math.min(want, chunk.length);
      out.set(chunk.subarray(chunk.length - take), want - take);
      want -= take;
    }
    return out;
  }
}

/**
 * Whether a chunk is a buffer of its own. One that is a view into a larger buffer (Node's pool of
 * small buffers, a read buffer its producer may fill again) is copied before it is kept.
 */
function ownsItsMemory(chunk: Uint8Array): boolean {
  return chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
}

type Done = (error: Error | null, body?: BodyChunks) => void;

/**
 * A Fastify content-type parser for application/octet-stream with the checks of Fastify's own
 * (`parseAs: 'buffer'`): a declared or received length past the route's body limit is 413
 * FST_ERR_CTP_BODY_TOO_LARGE, a body that ends short of its Content-Length or runs past it is 400
 * FST_ERR_CTP_INVALID_CONTENT_LENGTH. The body is a BodyChunks.
 */
export function chunkedBodyParser() {
  return (request: FastifyRequest, payload: IncomingMessage, done: Done): void => {
    const limit = request.routeOptions.bodyLimit ?? 0;
    const declared = Number(request.headers['content-length']);
    if (declared > limit) {
      done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      return;
    }
    const known = Number.isSafeInteger(declared) && declared >= 0;
    const chunks: Uint8Array[] = [];
    let received = 0;
    const finish = (error: Error | null, body?: BodyChunks) => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onEnd);
      done(error, body);
    };
    function onData(chunk: Buffer | string): void {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      received += bytes.length;
      if (received > limit) return finish(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      if (known && received > declared) return finish(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      if (bytes.length > 0) chunks.push(ownsItsMemory(bytes) ? bytes : Buffer.from(bytes));
    }
    function onEnd(error?: Error & { statusCode?: number }): void {
      if (error) {
        if (!(typeof error.statusCode === 'number' && error.statusCode >= 400)) error.statusCode = 400;
        return finish(error);
      }
      if (known && received !== declared) return finish(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      finish(null, new BodyChunks(chunks, received));
    }
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onEnd);
    payload.resume();
  };
}
