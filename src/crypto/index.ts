/**
 * The ExamVault crypto core: the sealed recording format v1 (docs/SPEC.md) and key custody
 * (docs/KEY-CUSTODY.md). Isomorphic: WebCrypto and Web Streams only, no I/O, the same code in browsers
 * and Node.
 *
 * @example
 * ```ts
 * const { publicKey, privateKey } = await generateEpochKeyPair();
 * const sealer = await createRecordingSealer({ context, recipient: publicKey, epoch: 1 });
 * const c0 = await sealer.sealNext(chunk, false);
 * const c1 = await sealer.sealNext(new Uint8Array(0), true);
 * const opener = await openRecording(sealer.header.bytes, privateKey);
 * const { plaintext } = await opener.openSegment(0, c0);
 * ```
 */
export * from './errors.js';
export { type RecordingContext, type Track, tracks, contextProblem } from './context.js';
export {
  type Header,
  type KeySlot,
  decodeHeader,
  headerLength,
  withKeySlot,
  MAX_SEGMENT_LIMIT,
  KEY_SLOT_LENGTH,
  HEADER_PREFIX_LENGTH,
} from './header.js';
export * from './epoch-key.js';
export { wrapDataKey, unwrapDataKey } from './key-wrap.js';
export { type OpenedSegment, TAG_LENGTH } from './segment.js';
export * from './recording.js';
export * from './stream.js';
export * from './size.js';
export * from './key-file.js';
export * from './custody/index.js';
export * from './case-bundle.js';
export * from './review.js';
export { concat, toBase64Url, fromBase64Url, toHex, fromHex } from './bytes.js';
