/**
 * Web Streams over the sealed file format (docs/SPEC.md §7).
 *
 * - `createSealStream` cuts any byte stream into full segments and emits the framed file. It holds back
 *   the bytes of one segment until it knows whether more follow, because the final segment must carry
 *   the last flag.
 * - `createSegmentSealStream` seals each input chunk as one segment, as a recorder does with media
 *   chunks, and emits unframed segments for upload.
 * - `createOpenStream` reads a framed file and emits each segment's plaintext only after it has
 *   authenticated; it errors on truncation, trailing bytes or a missing final segment.
 */
import { readU32, u32 } from './bytes.js';
import { ExamVaultCryptoError } from './errors.js';
import { type Header, HEADER_PREFIX_LENGTH, decodeHeader, headerLength } from './header.js';
import type { RecordingOpener, RecordingSealer } from './recording.js';
import { type OpenedSegment, TAG_LENGTH } from './segment.js';

/** Accumulates chunks and hands out exact byte counts, copying only when a count spans chunks. */
class ByteQueue {
  private chunks: Uint8Array[] = [];
  length = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  peek(n: number): Uint8Array {
    return this.read(n, false);
  }

  take(n: number): Uint8Array {
    return this.read(n, true);
  }

  private read(n: number, consume: boolean): Uint8Array {
    if (n > this.length) throw new RangeError('not enough bytes queued');
    const first = this.chunks[0];
    let out: Uint8Array;
    if (first && first.length >= n) {
      out = first.subarray(0, n);
      if (consume) {
        if (first.length === n) this.chunks.shift();
        else this.chunks[0] = first.subarray(n);
      }
    } else {
      out = new Uint8Array(n);
      let filled = 0;
      let i = 0;
      while (filled < n) {
        const c = this.chunks[i] as Uint8Array;
        const part = c.subarray(0, Math.min(c.length, n - filled));
        out.set(part, filled);
        filled += part.length;
        if (consume) {
          if (part.length === c.length) this.chunks.shift();
          else this.chunks[0] = c.subarray(part.length);
        } else {
          i++;
        }
      }
    }
    if (consume) this.length -= n;
    return out;
  }
}

export interface SealStreamOptions {
  /** Plaintext bytes per segment; defaults to the header's maximum. */
  readonly segmentSize?: number;
  /** Segments sealed concurrently; default 2. */
  readonly concurrency?: number;
}

type Settled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

function unwrap<T>(s: Settled<T>): T {
  if (!s.ok) throw s.error;
  return s.value;
}

/**
 * Hands back results in submission order while letting up to `depth` of them run at once. WebCrypto
 * does its work off the calling thread, so the next segment's encryption overlaps the stream's own
 * bookkeeping. Results come back settled, so a caller can judge an earlier result (say, a final
 * segment) before a later failure is rethrown.
 */
class OrderedPipeline<T> {
  private readonly pending: Promise<Settled<T>>[] = [];

  constructor(private readonly depth: number) {
    if (!Number.isInteger(depth) || depth < 1 || depth > 64) {
      throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_ARGUMENT', 'concurrency must be 1..64');
    }
  }

  /** Starts `work`; resolves with the results that had to be awaited to stay within the depth. */
  async push(work: Promise<T>): Promise<Settled<T>[]> {
    this.pending.push(work.then((value) => ({ ok: true, value }), (error: unknown) => ({ ok: false, error })));
    const ready: Settled<T>[] = [];
    while (this.pending.length >= this.depth) ready.push(await (this.pending.shift() as Promise<Settled<T>>));
    return ready;
  }

  async drain(): Promise<Settled<T>[]> {
    const ready: Settled<T>[] = [];
    while (this.pending.length > 0) ready.push(await (this.pending.shift() as Promise<Settled<T>>));
    return ready;
  }
}

function checkedSegmentSize(sealer: RecordingSealer, segmentSize: number): number {
  if (!Number.isInteger(segmentSize) || segmentSize < 1 || segmentSize > sealer.header.maxSegment) {
    throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_ARGUMENT', `segmentSize must be 1..${sealer.header.maxSegment}`);
  }
  return segmentSize;
}

export function createSealStream(sealer: RecordingSealer, options: SealStreamOptions = {}): TransformStream<Uint8Array, Uint8Array> {
  const segmentSize = checkedSegmentSize(sealer, options.segmentSize ?? sealer.header.maxSegment);
  const pipeline = new OrderedPipeline<Uint8Array>(options.concurrency ?? 2);
  const queue = new ByteQueue();
  const emit = (controller: TransformStreamDefaultController<Uint8Array>, sealed: Settled<Uint8Array>[]) => {
    for (const s of sealed) {
      const segment = unwrap(s);
      controller.enqueue(u32(segment.length));
      controller.enqueue(segment);
    }
  };
  return new TransformStream({
    start(controller) {
      controller.enqueue(sealer.header.bytes);
    },
    async transform(chunk, controller) {
      queue.push(chunk);
      // Strictly more than one segment queued: the one sealed now cannot be the final one.
      while (queue.length > segmentSize) emit(controller, await pipeline.push(sealer.sealNext(queue.take(segmentSize), false)));
    },
    async flush(controller) {
      emit(controller, await pipeline.push(sealer.sealNext(queue.take(queue.length), true)));
      emit(controller, await pipeline.drain());
    },
  });
}

export interface SealedSegment {
  readonly index: number;
  readonly last: boolean;
  readonly ciphertext: Uint8Array;
}

export function createSegmentSealStream(sealer: RecordingSealer): TransformStream<Uint8Array, SealedSegment> {
  let held: Uint8Array | null = null;
  const emit = async (plaintext: Uint8Array, last: boolean, controller: TransformStreamDefaultController<SealedSegment>) => {
    const index = sealer.nextIndex;
    controller.enqueue({ index, last, ciphertext: await sealer.sealNext(plaintext, last) });
  };
  return new TransformStream({
    async transform(chunk, controller) {
      if (chunk.length === 0) return;
      if (chunk.length > sealer.header.maxSegment) {
        throw new ExamVaultCryptoError('EV_ERR_FORMAT_SEGMENT_SIZE', `a segment holds at most ${sealer.header.maxSegment} bytes`);
      }
      if (held) await emit(held, false, controller);
      held = chunk;
    },
    async flush(controller) {
      await emit(held ?? new Uint8Array(0), true, controller);
    },
  });
}

/** Where one record sits in a sealed file. */
export interface RecordLocation {
  readonly index: number;
  /** Offset of the ciphertext (after the 4-byte length). */
  readonly offset: number;
  readonly length: number;
}

export function checkRecordLength(length: number, header: Header): void {
  if (length < TAG_LENGTH || length > header.maxSegment + TAG_LENGTH) {
    throw new ExamVaultCryptoError('EV_ERR_FORMAT_SEGMENT_SIZE', `record length ${length} is outside ${TAG_LENGTH}..${header.maxSegment + TAG_LENGTH}`);
  }
}

/**
 * Walks the length prefixes of a whole sealed file without decrypting anything. It checks framing
 * only; which record is final is proven by decryption alone.
 */
export function locateRecords(file: Uint8Array): { header: Header; records: RecordLocation[] } {
  const header = decodeHeader(file);
  const records: RecordLocation[] = [];
  let offset = header.bytes.length;
  while (offset < file.length) {
    if (offset + 4 > file.length) throw new ExamVaultCryptoError('EV_ERR_FORMAT_TRUNCATED', 'input ends inside a record length');
    const length = readU32(file, offset);
    checkRecordLength(length, header);
    if (offset + 4 + length > file.length) throw new ExamVaultCryptoError('EV_ERR_FORMAT_TRUNCATED', 'input ends inside a record');
    records.push({ index: records.length, offset: offset + 4, length });
    offset += 4 + length;
  }
  return { header, records };
}

export interface OpenStreamOptions {
  /** Segments opened concurrently; default 2. */
  readonly concurrency?: number;
}

/** Opens a framed file stream. `open` turns the parsed header into an opener (unwrapping its key). */
export function createOpenStream(
  open: (header: Header) => Promise<RecordingOpener>,
  options: OpenStreamOptions = {},
): TransformStream<Uint8Array, Uint8Array> {
  const queue = new ByteQueue();
  const pipeline = new OrderedPipeline<OpenedSegment>(options.concurrency ?? 2);
  let opener: RecordingOpener | null = null;
  let index = 0;
  // Whether a segment already released carried the last flag. Segments still in flight may too, so
  // the framing of what follows is only judged once they are in (see `release`).
  let ended = false;
  const release = (controller: TransformStreamDefaultController<Uint8Array>, opened: Settled<OpenedSegment>[]) => {
    for (const result of opened) {
      if (ended) throw new ExamVaultCryptoError('EV_ERR_FORMAT_TRAILING_DATA', 'bytes follow the final segment');
      const { plaintext, last } = unwrap(result);
      ended = last;
      if (plaintext.length > 0) controller.enqueue(plaintext);
    }
  };
  return new TransformStream({
    async transform(chunk, controller) {
      queue.push(chunk);
      if (!opener) {
        if (queue.length < HEADER_PREFIX_LENGTH) return;
        const length = headerLength(queue.peek(HEADER_PREFIX_LENGTH));
        if (queue.length < length) return;
        opener = await open(decodeHeader(queue.take(length)));
      }
      while (queue.length >= 4) {
        if (ended) throw new ExamVaultCryptoError('EV_ERR_FORMAT_TRAILING_DATA', 'bytes follow the final segment');
        const length = readU32(queue.peek(4), 0);
        checkRecordLength(length, opener.header);
        if (queue.length < 4 + length) return;
        queue.take(4);
        release(controller, await pipeline.push(opener.openSegment(index++, queue.take(length))));
      }
      if (ended && queue.length > 0) throw new ExamVaultCryptoError('EV_ERR_FORMAT_TRAILING_DATA', 'bytes follow the final segment');
    },
    async flush(controller) {
      if (!opener) {
        if (queue.length === 0) throw new ExamVaultCryptoError('EV_ERR_FORMAT_TRUNCATED', 'input is empty');
        headerLength(queue.peek(Math.min(queue.length, HEADER_PREFIX_LENGTH)));
        throw new ExamVaultCryptoError('EV_ERR_FORMAT_TRUNCATED', 'input ends inside the header');
      }
      release(controller, await pipeline.drain());
      if (queue.length > 0) {
        throw new ExamVaultCryptoError(ended ? 'EV_ERR_FORMAT_TRAILING_DATA' : 'EV_ERR_FORMAT_TRUNCATED',
          ended ? 'bytes follow the final segment' : 'input ends inside a record');
      }
      if (!ended) throw new ExamVaultCryptoError('EV_ERR_FORMAT_NO_FINAL_SEGMENT', 'the recording ends without its final segment');
    },
  });
}
