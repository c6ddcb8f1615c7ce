/**
 * The upload protocol end to end through the real app (injection, no port): create, put segments in
 * any order, resume from the status, complete, read back, and open with the institution's key.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { openRecording } from '../../../src/crypto/index.js';
import { bearer, octets, startTestServer } from '../support/test-server.js';

describe('upload protocol', () => {
  it('uploads out of order, resumes from the status, completes, and reads back what opens', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const att = await s.attempt(inst);
    const sealer = await s.sealer(att, 'cam-1', { maxSegment: 1000 });
    const chunks = [randomBytes(1000), randomBytes(999), randomBytes(10), randomBytes(0)];
    const sealed: Uint8Array[] = [];
    for (const [i, c] of chunks.entries()) sealed.push(await sealer.sealNext(c, i === chunks.length - 1));

    const created = await s.app.inject({ method: 'POST', url: '/v1/recordings', headers: octets(att.token), payload: Buffer.from(sealer.header.bytes) });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal(created.json().nextMissing, 0);
    const again = await s.app.inject({ method: 'POST', url: '/v1/recordings', headers: octets(att.token), payload: Buffer.from(sealer.header.bytes) });
    assert.equal(again.statusCode, 200);

    for (const i of [2, 0]) {
      const r = await s.app.inject({ method: 'PUT', url: `/v1/recordings/cam-1/segments/${i}`, headers: octets(att.token), payload: Buffer.from(sealed[i] as Uint8Array) });
      assert.equal(r.statusCode, 201, r.body);
      assert.equal(r.json().created, true);
    }
    const status = (await s.app.inject({ method: 'GET', url: '/v1/recordings/cam-1', headers: bearer(att.token) })).json();
    assert.deepEqual(status.stored, [[0, 0], [2, 2]]);
    assert.equal(status.nextMissing, 1);
    assert.equal(status.complete, false);

    const early = await s.app.inject({ method: 'POST', url: '/v1/recordings/cam-1/complete', headers: bearer(att.token), payload: { segmentCount: 4 } });
    assert.equal(early.statusCode, 409);
    assert.equal(early.json().error.code, 'EV_ERR_UPLOAD_INCOMPLETE');

    for (const i of [1, 3]) {
      const r = await s.app.inject({ method: 'PUT', url: `/v1/recordings/cam-1/segments/${i}`, headers: octets(att.token), payload: Buffer.from(sealed[i] as Uint8Array) });
      assert.equal(r.statusCode, 201, r.body);
    }
    const retry = await s.app.inject({ method: 'PUT', url: '/v1/recordings/cam-1/segments/1', headers: octets(att.token), payload: Buffer.from(sealed[1] as Uint8Array) });
    assert.equal(retry.statusCode, 200);
    assert.equal(retry.json().created, false);
    const conflict = await s.app.inject({ method: 'PUT', url: '/v1/recordings/cam-1/segments/1', headers: octets(att.token), payload: Buffer.from(sealed[2] as Uint8Array) });
    assert.equal(conflict.statusCode, 409);
    assert.equal(conflict.json().error.code, 'EV_ERR_UPLOAD_SEGMENT_CONFLICT');

    const done = await s.app.inject({ method: 'POST', url: '/v1/recordings/cam-1/complete', headers: bearer(att.token), payload: { segmentCount: 4 } });
    assert.equal(done.statusCode, 200, done.body);
    assert.equal(done.json().complete, true);
    const beyond = await s.app.inject({ method: 'PUT', url: '/v1/recordings/cam-1/segments/4', headers: octets(att.token), payload: Buffer.from(sealed[1] as Uint8Array) });
    assert.equal(beyond.json().error.code, 'EV_ERR_UPLOAD_RECORDING_COMPLETE');

    const header = await s.app.inject({ method: 'GET', url: '/v1/recordings/cam-1/header', headers: bearer(att.token) });
    assert.deepEqual(new Uint8Array(header.rawPayload), sealer.header.bytes);
    const opener = await openRecording(new Uint8Array(header.rawPayload), inst.keys.privateKey);
    for (const [i, c] of chunks.entries()) {
      const r = await s.app.inject({ method: 'GET', url: `/v1/recordings/cam-1/segments/${i}`, headers: bearer(att.token) });
      assert.equal(r.statusCode, 200);
      const { plaintext, last } = await opener.openSegment(i, new Uint8Array(r.rawPayload));
      assert.deepEqual(Buffer.from(plaintext), c);
      assert.equal(last, i === 3);
    }
  });

  it('serves its OpenAPI document, describing every route it registers', async (t) => {
    const s = await startTestServer(t);
    const doc = (await s.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
    const described = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths as Record<string, object>)) {
      for (const method of Object.keys(ops)) described.add(`${method.toUpperCase()} ${path}`);
    }
    const registered = new Set<string>();
    await s.app.ready();
    for (const r of s.app.routeTable) if (r.url.startsWith('/v1/')) registered.add(`${r.method} ${r.url.replace(/:([a-z]+)/g, '{$1}')}`);
    assert.ok(registered.size >= 7);
    assert.deepEqual([...registered].sort(), [...described].sort());
  });
});
