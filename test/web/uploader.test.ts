/**
 * The recorder's uploader (src/web/recorder/uploader.ts) against the real server, its requests
 * carried by `fetch` into the app without a port: segments go several at a time, and one leaves the
 * browser's vault only once the server has acknowledged exactly its bytes. A receipt for other bytes (a lying server or proxy is
 * played by rewriting the real receipt) stops sending and keeps the segment.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { type BatchReceipts, SEGMENTS_HEADER, type SegmentReceipt, segmentsHeader } from '../../src/protocol/upload.js';
import { ReceiptMismatchError, startUploader, type UploadState } from '../../src/web/recorder/uploader.js';
import type { StoredRecording, Vault, WaitingSegment } from '../../src/web/recorder/vault.js';
import { startTestServer, type TestServer } from '../server/support/test-server.js';

/** A vault in memory, with what the uploader uses: each recording with its sealed segments waiting. */
function memoryVault(stored: ReadonlyArray<{ recording: StoredRecording; sealed: readonly Uint8Array[] }>) {
  const recordings = new Map(stored.map(({ recording }) => [recording.id, recording]));
  const segments = new Map(stored.map(({ recording, sealed }) => [recording.id, new Map(sealed.map((bytes, index) => [index, bytes]))]));
  const of = (id: string) => segments.get(id) ?? new Map<number, Uint8Array>();
  const waiting = (id: string): WaitingSegment[] => [...of(id)].sort(([a], [b]) => a - b).map(([index, bytes]) => ({ recording: id, index, size: bytes.length }));
  const vault = {
    recordings: async () => [...recordings.values()],
    updateRecording: async (id: string, change: Partial<StoredRecording>) => void recordings.set(id, { ...(recordings.get(id) as StoredRecording), ...change }),
    segments: async (id: string) => waiting(id),
    pending: async () => [...segments.keys()].flatMap(waiting),
    sealed: async (id: string, index: number) => of(id).get(index),
    deleteSegment: async (id: string, index: number) => void of(id).delete(index),
    deleteRecording: async (id: string) => void recordings.delete(id),
  };
  return { vault: vault as unknown as Vault, segments, recordings };
}

/**
 * `fetch` for same-origin paths, answered by the app; `rewrite` may change a segment's receipt. Each
 * batch of segments sent is listed in `batches` as its EV-Segments header.
 */
function fetchInto(s: TestServer, rewrite: (receipt: SegmentReceipt) => SegmentReceipt = (r) => r, batches: string[] = []): typeof fetch {
  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = String(input);
    const headers = init.headers as Record<string, string>;
    const body = init.body === undefined || init.body === null ? undefined : Buffer.from(init.body as Uint8Array);
    const res = await s.app.inject({ method: (init.method ?? 'GET') as 'GET', url, headers, ...(body ? { payload: body } : {}) });
    let payload: Buffer = res.rawPayload;
    if (url === '/v1/segments') {
      batches.push(String(headers[SEGMENTS_HEADER]));
      if (res.statusCode < 300) payload = Buffer.from(JSON.stringify({ receipts: res.json<BatchReceipts>().receipts.map(rewrite) }));
    }
    return new Response(payload.length > 0 ? new Uint8Array(payload) : null, { status: res.statusCode, headers: { 'content-type': String(res.headers['content-type'] ?? 'application/json') } });
  }) as typeof fetch;
}

/** A server, an attempt, and a vault holding `tracks` finished recordings of two sealed segments each. */
async function scene(t: Parameters<typeof startTestServer>[0], tracks: readonly StoredRecording['track'][] = ['camera']) {
  const s = await startTestServer(t);
  const inst = await s.institution('eu');
  const att = await s.attempt(inst);
  const stored = [];
  for (const track of tracks) {
    const id = `${track}-1`;
    const sealer = await s.sealer(att, id, { maxSegment: 4000 });
    const sealed = [await sealer.sealNext(randomBytes(3000), false), await sealer.sealNext(randomBytes(2000), true)];
    const recording = { id, track, mediaType: 'video/webm', header: sealer.header.bytes, state: 'finished', segmentCount: 2, created: false, startedAt: s.now } as StoredRecording;
    stored.push({ recording, sealed });
  }
  return { s, att, stored, ...memoryVault(stored) };
}

/** Runs the uploader until it is drained or has failed, with `fetch` and the page's events stubbed. */
async function upload(vault: Vault, token: string, fetcher: typeof fetch): Promise<{ outcome: unknown; states: UploadState[] }> {
  const saved = { fetch: globalThis.fetch, add: (globalThis as { addEventListener?: unknown }).addEventListener, remove: (globalThis as { removeEventListener?: unknown }).removeEventListener };
  Object.assign(globalThis, { fetch: fetcher, addEventListener: () => undefined, removeEventListener: () => undefined });
  const states: UploadState[] = [];
  const uploader = startUploader(vault, token, (state) => states.push(state), () => undefined);
  try {
    const outcome = await uploader.drained().then(() => 'drained', (e: unknown) => e);
    return { outcome, states };
  } finally {
    uploader.stop();
    Object.assign(globalThis, { fetch: saved.fetch, addEventListener: saved.add, removeEventListener: saved.remove });
  }
}

describe('the recorder uploader', () => {
  it('empties the vault when every receipt is for the bytes sent, and the server holds them', async (t) => {
    const { s, att, stored, vault, segments, recordings } = await scene(t);
    const { outcome } = await upload(vault, att.token, fetchInto(s));
    assert.equal(outcome, 'drained');
    assert.equal(segments.get('camera-1')?.size, 0);
    assert.equal(recordings.size, 0, 'sent and completed');
    for (const [i, bytes] of (stored[0]?.sealed ?? []).entries()) {
      const back = await s.app.inject({ method: 'GET', url: `/v1/recordings/camera-1/segments/${i}`, headers: { authorization: `Bearer ${att.token}` } });
      assert.deepEqual(new Uint8Array(back.rawPayload), bytes);
    }
  });

  it("sends the oldest waiting segment of each recording together, keeping each recording's order", async (t) => {
    const { s, att, stored, vault, recordings } = await scene(t, ['camera', 'microphone', 'screen']);
    const batches: string[] = [];
    const { outcome } = await upload(vault, att.token, fetchInto(s, undefined, batches));
    assert.equal(outcome, 'drained');
    assert.equal(recordings.size, 0, 'sent and completed');
    const listed = (index: number) => segmentsHeader(stored.map(({ recording, sealed }) => ({ recording: recording.id, index, size: (sealed[index] as Uint8Array).length })));
    assert.deepEqual(batches, [listed(0), listed(1)]);
  });

  for (const [what, change] of [
    ['another tag', (r: SegmentReceipt) => ({ ...r, tag: r.tag.replace(/^./, (c) => (c === '0' ? '1' : '0')) })],
    ['another size', (r: SegmentReceipt) => ({ ...r, size: r.size - 1 })],
    ['another index', (r: SegmentReceipt) => ({ ...r, index: r.index + 1 })],
    ['no tag', (r: SegmentReceipt) => ({ ...r, tag: undefined as unknown as string })],
    ['another recording', (r: SegmentReceipt) => ({ ...r, recording: 'screen-1' })],
  ] as const) {
    it(`stops, keeping the segment, when a receipt has ${what}`, async (t) => {
      const { s, att, vault, segments } = await scene(t);
      const { outcome, states } = await upload(vault, att.token, fetchInto(s, (r) => (r.index === 1 ? change(r) : r)));
      assert.ok(outcome instanceof ReceiptMismatchError, String(outcome));
      assert.equal(outcome.code, 'EV_ERR_RECORDER_RECEIPT_MISMATCH');
      assert.deepEqual([...(segments.get('camera-1')?.keys() ?? [])], [1], 'segment 0 was acknowledged and left; segment 1 stays');
      assert.equal(states.at(-1)?.connection, 'failed');
    });
  }
});
