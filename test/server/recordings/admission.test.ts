/**
 * Admission control of segment uploads (src/server/recordings/admission.ts): while the bodies being
 * received fill the limit, another PUT is answered at once with 503, EV_ERR_UPLOAD_BUSY and
 * Retry-After, without its body being read; once the bodies in flight are done, uploads go through
 * again. Over a real socket, since only a body still arriving holds its bytes.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { buildApp } from '../../../src/server/app.js';
import { recordingRoutes } from '../../../src/server/recordings/recording.routes.js';
import { octets, startTestServer } from '../support/test-server.js';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

describe('admission control of segment uploads', () => {
  it('answers 503 with Retry-After while the bodies in flight fill the limit, and takes uploads again after', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const a = await s.attempt(inst);
    const sealer = await s.sealer(a, 'rec-1', { maxSegment: 4096 });
    const created = await s.app.inject({ method: 'POST', url: '/v1/recordings', headers: octets(a.token), payload: Buffer.from(sealer.header.bytes) });
    assert.equal(created.statusCode, 201, created.body);
    const segments = [await sealer.sealNext(new Uint8Array(4000), false), await sealer.sealNext(new Uint8Array(4000), true)];

    // Room for one segment's body at a time.
    const app = buildApp(s.config, { routes: async (v1) => void (await v1.register(recordingRoutes, { cells: s.services.cells, maxSegmentBytesInFlight: 5000 })) });
    t.after(() => app.close());
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;

    const put = (n: number, body: Uint8Array, partial = false) => {
      const req = request({ host: '127.0.0.1', port, method: 'PUT', path: `/v1/recordings/rec-1/segments/${n}`, headers: { ...octets(a.token), 'content-length': body.length } });
      const answer = new Promise<Answer>((resolve, reject) => {
        req.on('response', (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        });
        req.on('error', reject);
      });
      if (partial) req.write(body.subarray(0, 100));
      else req.end(body);
      return { req, answer };
    };

    // The first body is still arriving: its 4,000-odd bytes are held.
    const first = put(0, segments[0] as Uint8Array, true);
    await new Promise((r) => setTimeout(r, 200));
    const refused = await put(1, segments[1] as Uint8Array).answer;
    assert.equal(refused.status, 503, refused.body);
    assert.equal(JSON.parse(refused.body).error.code, 'EV_ERR_UPLOAD_BUSY');
    assert.equal(refused.headers['retry-after'], '1');

    first.req.end((segments[0] as Uint8Array).subarray(100));
    assert.equal((await first.answer).status, 201);
    const again = await put(1, segments[1] as Uint8Array).answer;
    assert.equal(again.status, 201, again.body);
  });
});
