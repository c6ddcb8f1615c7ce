/**
 * Admission control of segment uploads (src/server/recordings/admission.ts): while the bodies being
 * received fill the limit, another PUT waits its turn, first come first served, with its body left
 * unread in the client; one that waits past the deadline, or finds the queue full, is answered 503
 * with EV_ERR_UPLOAD_BUSY and Retry-After. Over a real socket, since only a body still arriving holds
 * its bytes, and only a real socket shows a body not being read.
 */
import assert from 'node:assert/strict';
import { type ClientRequest, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { buildApp } from '../../../src/server/app.js';
import { type RecordingRoutesOptions, recordingRoutes } from '../../../src/server/recordings/recording.routes.js';
import { octets, startTestServer } from '../support/test-server.js';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  /** performance.now() when the response ended. */
  readonly at: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A server whose segment PUTs pass admission with `limits`, and one recording of 4,000-byte segments. */
async function setUp(t: Parameters<typeof startTestServer>[0], limits: Omit<RecordingRoutesOptions, 'cells'>) {
  const s = await startTestServer(t);
  const inst = await s.institution('eu');
  const a = await s.attempt(inst);
  const sealer = await s.sealer(a, 'rec-1', { maxSegment: 4096 });
  const created = await s.app.inject({ method: 'POST', url: '/v1/recordings', headers: octets(a.token), payload: Buffer.from(sealer.header.bytes) });
  assert.equal(created.statusCode, 201, created.body);
  const segments: Uint8Array[] = [];
  for (let i = 0; i < 4; i++) segments.push(await sealer.sealNext(new Uint8Array(4000).fill(i), i === 3));

  const app = buildApp(s.config, { routes: async (v1) => void (await v1.register(recordingRoutes, { cells: s.services.cells, ...limits })) });
  const requests: ClientRequest[] = [];
  // A failed assertion leaves requests half sent: end them, or closing the server waits for them.
  t.after(async () => {
    for (const r of requests) r.destroy();
    await app.close();
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;

  /** PUT of segment `n`; `partial`: only its first 100 bytes for now. */
  const put = (n: number, body: Uint8Array, partial = false): { req: ClientRequest; answer: Promise<Answer> } => {
    const req = request({ host: '127.0.0.1', port, method: 'PUT', path: `/v1/recordings/rec-1/segments/${n}`, headers: { ...octets(a.token), 'content-length': body.length } });
    requests.push(req);
    const answer = new Promise<Answer>((resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, at: performance.now() }));
      });
      req.on('error', reject);
    });
    if (partial) req.write(body.subarray(0, 100));
    else req.end(body);
    return { req, answer };
  };
  return { segments, put };
}

describe('admission control of segment uploads', () => {
  it('lets a PUT past the limit wait its turn with its body unread, then takes the waiting ones in the order they came', async (t) => {
    // Room for one segment's body at a time.
    const { segments, put } = await setUp(t, { maxSegmentBytesInFlight: 5000, segmentAdmissionWaitMs: 30_000 });

    // The first body is still arriving: its 4,000-odd bytes are held.
    const first = put(0, segments[0] as Uint8Array, true);
    await sleep(200);
    const second = put(1, segments[1] as Uint8Array);
    // 12 MB declared and sent: more than the loopback's socket buffers hold, so if the server read
    // it while it waits, the client would have handed all of it to the kernel by now.
    const big = Buffer.alloc(12_000_000);
    const third = put(2, big);
    await sleep(500);
    assert.ok(third.req.socket && third.req.socket.writableLength > 1_000_000, `the waiting body was read: ${third.req.socket?.writableLength ?? 0} bytes left in the client`);
    const settled = await Promise.race([second.answer.then(() => 'answered'), sleep(100).then(() => 'waiting')]);
    assert.equal(settled, 'waiting', 'a PUT past the limit waits instead of being refused');

    first.req.end((segments[0] as Uint8Array).subarray(100));
    const [a0, a1, a2] = await Promise.all([first.answer, second.answer, third.answer]);
    assert.equal(a0.status, 201, a0.body);
    assert.equal(a1.status, 201, a1.body);
    // Its turn came after the second's, and its body was then read and checked like any other.
    assert.equal(a2.status, 400, a2.body);
    assert.equal(JSON.parse(a2.body).error.code, 'EV_ERR_UPLOAD_SEGMENT_SIZE');
    assert.ok(a0.at <= a1.at && a1.at <= a2.at, 'answered in the order they came');
  });

  it('answers 503 with Retry-After to a PUT that waits past the deadline or finds the queue full; nothing is stored and the segment goes through later', async (t) => {
    const { segments, put } = await setUp(t, { maxSegmentBytesInFlight: 5000, segmentAdmissionWaitMs: 1500, maxSegmentsWaiting: 1 });

    const first = put(0, segments[0] as Uint8Array, true);
    await sleep(200);
    const startedAt = performance.now();
    const waiting = put(1, segments[1] as Uint8Array);
    await sleep(50);
    // The one place in the queue is taken: refused at once.
    const full = await put(2, segments[2] as Uint8Array).answer;
    assert.equal(full.status, 503, full.body);
    assert.ok(full.at - startedAt < 1000, `refused at once, not after the deadline (${Math.round(full.at - startedAt)} ms)`);
    assert.equal(JSON.parse(full.body).error.code, 'EV_ERR_UPLOAD_BUSY');
    assert.equal(full.headers['retry-after'], '1');

    const late = await waiting.answer;
    assert.equal(late.status, 503, late.body);
    assert.equal(JSON.parse(late.body).error.code, 'EV_ERR_UPLOAD_BUSY');
    assert.equal(late.headers['retry-after'], '1');
    assert.ok(late.at - startedAt >= 1450, `refused at the deadline (${Math.round(late.at - startedAt)} ms)`);

    first.req.end((segments[0] as Uint8Array).subarray(100));
    assert.equal((await first.answer).status, 201);
    for (const n of [1, 2]) {
      const again = await put(n, segments[n] as Uint8Array).answer;
      assert.equal(again.status, 201, again.body);
    }
  });
});
