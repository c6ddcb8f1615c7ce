/**
 * How the server tells a repeated segment from other bytes at the same index. Each upload stores its
 * object under a name of its own, drawn at random, and nothing hashes the segment: a repeat is known
 * by comparing the bytes. So bytes that end in the same sealing tag as the stored segment (anyone
 * holding the recording's key can make those) are still other bytes, and never replace it.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { openRecording } from '../../../src/crypto/index.js';
import { buildApp } from '../../../src/server/app.js';
import { openSqlite } from '../../../src/server/db/dialect.sqlite.js';
import type { CellDatabase } from '../../../src/server/db/schema.js';
import { segmentBlobKey } from '../../../src/server/recordings/recording.service.js';
import { cellDir } from '../../../src/server/regions/cells.js';
import { openServices } from '../../../src/server/services.js';
import { migrateTo } from '../db/support.js';
import { bearer, octets, startTestServer, type TestServer } from '../support/test-server.js';
import { join } from 'node:path';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** The same length and the same last 16 bytes (the sealing tag), other bytes before them. */
function sameTag(sealed: Uint8Array): Uint8Array {
  const forged = Uint8Array.from(sealed);
  forged[0] = (forged[0] as number) ^ 0xff;
  return forged;
}

async function recording(s: TestServer, id: string, segments: number) {
  const inst = await s.institution('eu');
  const att = await s.attempt(inst);
  const sealer = await s.sealer(att, id, { maxSegment: 4000 });
  const sealed: Uint8Array[] = [];
  for (let i = 0; i < segments; i++) sealed.push(await sealer.sealNext(randomBytes(3000 + i), i === segments - 1));
  const created = await s.app.inject({ method: 'POST', url: '/v1/recordings', headers: octets(att.token), payload: Buffer.from(sealer.header.bytes) });
  assert.equal(created.statusCode, 201, created.body);
  const cell = s.services.cells.get('eu');
  assert.ok(cell);
  const put = (i: number, body: Uint8Array) => s.app.inject({ method: 'PUT', url: `/v1/recordings/${id}/segments/${i}`, headers: octets(att.token), payload: Buffer.from(body) });
  const get = async (i: number) => {
    const r = await s.app.inject({ method: 'GET', url: `/v1/recordings/${id}/segments/${i}`, headers: bearer(att.token) });
    assert.equal(r.statusCode, 200, r.body);
    return new Uint8Array(r.rawPayload);
  };
  const storedKeys = async () => {
    const keys: string[] = [];
    for await (const key of cell.blobs.list(`institutions/${inst.id}/recordings/${Buffer.from(id).toString('hex')}/segments/`)) keys.push(key);
    return keys.sort();
  };
  return { inst, att, sealer, sealed, cell, put, get, storedKeys };
}

describe('segment names', () => {
  it('answers bytes with the stored segment\'s tag as other bytes, and keeps what it acknowledged', async (t) => {
    const s = await startTestServer(t);
    const r = await recording(s, 'cam-1', 4);
    const [a0, a1, a2] = r.sealed as [Uint8Array, Uint8Array, Uint8Array];

    const first = await r.put(0, a0);
    assert.equal(first.statusCode, 201, first.body);
    assert.deepEqual(first.json(), { recording: 'cam-1', index: 0, size: a0.length, tag: hex(a0.subarray(-16)), created: true });
    const forged = await r.put(0, sameTag(a0));
    assert.equal(forged.statusCode, 409, forged.body);
    assert.equal(forged.json().error.code, 'EV_ERR_UPLOAD_SEGMENT_CONFLICT');
    const repeat = await r.put(0, a0);
    assert.equal(repeat.statusCode, 200, repeat.body);
    assert.deepEqual(repeat.json(), { recording: 'cam-1', index: 0, size: a0.length, tag: hex(a0.subarray(-16)), created: false });
    assert.deepEqual(await r.get(0), a0);
    assert.equal((await r.storedKeys()).length, 1, 'neither the repeat nor the conflict left an object');

    // Racing: of two uploads of an index with other bytes, the one committed first wins (which one
    // depends on the batches they land in) and the other is a conflict; a repeat is a repeat.
    const twin1 = sameTag(a1);
    const race1 = await Promise.all([r.put(1, a1), r.put(1, twin1)]);
    assert.deepEqual(race1.map((x) => x.statusCode).sort(), [201, 409]);
    const won1 = race1[0]?.statusCode === 201 ? a1 : twin1;
    assert.deepEqual(race1.find((x) => x.statusCode === 201)?.json(), { recording: 'cam-1', index: 1, size: won1.length, tag: hex(won1.subarray(-16)), created: true });
    const race2 = await Promise.all([r.put(2, a2), r.put(2, a2)]);
    assert.deepEqual(race2.map((x) => x.statusCode).sort(), [200, 201]);
    assert.deepEqual(await r.get(1), won1);
    assert.deepEqual(await r.get(2), a2);
    const keys = await r.storedKeys();
    assert.equal(keys.length, 3, keys.join('\n'));
    const names = await r.cell.db.selectFrom('segments').select(['idx', 'name']).orderBy('idx').execute();
    assert.deepEqual(keys, names.map((n) => segmentBlobKey(r.inst.id, 'cam-1', Number(n.idx), n.name)));
    for (const n of names) assert.match(n.name, /^[0-9a-f]{32}$/);
    assert.equal(new Set(names.map((n) => n.name)).size, 3);
  });
});

describe('segments stored before migration 0015', () => {
  it('still read, repeat and conflict as before, under keys named by their SHA-256', async (t) => {
    const s = await startTestServer(t);
    const r = await recording(s, 'cam-1', 3);
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    for (const i of [0, 1]) assert.equal((await r.put(i, r.sealed[i] as Uint8Array)).statusCode, 201);
    // Rewrite them as the server before 0015 stored them: each object under the first 32 hex digits of
    // its SHA-256, the whole hash in the row.
    for (const row of await r.cell.db.selectFrom('segments').selectAll().execute()) {
      const idx = Number(row.idx);
      const bytes = r.sealed[idx] as Uint8Array;
      await r.cell.blobs.put(segmentBlobKey(r.inst.id, 'cam-1', idx, sha(bytes).slice(0, 32)), bytes);
      await r.cell.blobs.delete(segmentBlobKey(r.inst.id, 'cam-1', idx, row.name));
    }
    await s.app.close();
    await s.services.close();
    const db = openSqlite<CellDatabase>(join(cellDir(s.dataDir, 'eu'), 'metadata.db'));
    await migrateTo(db, '0014-log-object-records');
    for (const i of [0, 1]) {
      await db.updateTable('segments').set({ sha256: sha(r.sealed[i] as Uint8Array) } as never).where('idx', '=', i).execute();
    }
    await db.destroy();

    const services = await openServices(s.config, { clock: () => s.now });
    const app = buildApp(s.config, services);
    t.after(async () => {
      await app.close();
      await services.close();
    });
    const headers = octets(r.att.token);
    const put = (i: number, body: Uint8Array) => app.inject({ method: 'PUT', url: `/v1/recordings/cam-1/segments/${i}`, headers, payload: Buffer.from(body) });
    const cell = services.cells.get('eu');
    assert.ok(cell);
    assert.deepEqual(
      (await cell.db.selectFrom('segments').select('name').orderBy('idx').execute()).map((x) => x.name),
      [0, 1].map((i) => sha(r.sealed[i] as Uint8Array).slice(0, 32)),
    );
    assert.equal((await put(0, r.sealed[0] as Uint8Array)).statusCode, 200);
    assert.equal((await put(1, sameTag(r.sealed[1] as Uint8Array))).statusCode, 409);
    assert.equal((await put(2, r.sealed[2] as Uint8Array)).statusCode, 201);
    const done = await app.inject({ method: 'POST', url: '/v1/recordings/cam-1/complete', headers: bearer(r.att.token), payload: { segmentCount: 3 } });
    assert.equal(done.statusCode, 200, done.body);
    const header = await app.inject({ method: 'GET', url: '/v1/recordings/cam-1/header', headers: bearer(r.att.token) });
    const opener = await openRecording(new Uint8Array(header.rawPayload), r.inst.keys.privateKey);
    for (const i of [0, 1, 2]) {
      const got = await app.inject({ method: 'GET', url: `/v1/recordings/cam-1/segments/${i}`, headers: bearer(r.att.token) });
      assert.equal(got.statusCode, 200, got.body);
      assert.deepEqual(new Uint8Array(got.rawPayload), r.sealed[i]);
      assert.equal((await opener.openSegment(i, new Uint8Array(got.rawPayload))).last, i === 2);
    }
  });
});
