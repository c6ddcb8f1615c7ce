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
import { bearer, octets, startTestServer, storedSegmentKeys, type TestServer } from '../support/test-server.js';
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
  const storedKeys = () => storedSegmentKeys(cell.blobs, inst.id, id);
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
    assert.deepEqual(keys, names.map((n) => segmentBlobKey(r.inst.id, 'cam-1', Number(n.idx), n.name)).sort());
    for (const n of names) assert.match(n.name, new RegExp(`^o${s.now.toString(16).padStart(12, '0')}[0-9a-f]{20}$`), 'o, the upload time, 80 random bits');
    assert.equal(new Set(names.map((n) => n.name)).size, 3);
  });

  it('keys segments in the order they were uploaded, whatever their recording, and still binds each to its recording and index', async (t) => {
    const s = await startTestServer(t);
    const a = await recording(s, 'cam-1', 3);
    const sealer = await s.sealer(a.att, 'screen-1', { maxSegment: 4000 });
    const created = await s.app.inject({ method: 'POST', url: '/v1/recordings', headers: octets(a.att.token), payload: Buffer.from(sealer.header.bytes) });
    assert.equal(created.statusCode, 201, created.body);
    const screen: Uint8Array[] = [];
    for (let i = 0; i < 3; i++) screen.push(await sealer.sealNext(randomBytes(2000 + i), i === 2));
    const putScreen = (i: number) => s.app.inject({ method: 'PUT', url: `/v1/recordings/screen-1/segments/${i}`, headers: octets(a.att.token), payload: Buffer.from(screen[i] as Uint8Array) });

    const uploaded: string[] = [];
    for (const i of [0, 1, 2]) {
      for (const [recording, put] of [['cam-1', () => a.put(i, a.sealed[i] as Uint8Array)], ['screen-1', () => putScreen(i)]] as const) {
        s.now += 1;
        assert.equal((await put()).statusCode, 201);
        const row = await a.cell.db.selectFrom('segments').select('name').where('recording_id', '=', recording).where('idx', '=', i).executeTakeFirstOrThrow();
        uploaded.push(segmentBlobKey(a.inst.id, recording, i, row.name));
      }
    }
    const keys: string[] = [];
    for await (const key of a.cell.blobs.list(`institutions/${a.inst.id}/segments/`)) keys.push(key);
    assert.deepEqual(keys, uploaded, 'listed in key order, which is upload order');
    const ends = [0, 1, 2].flatMap((i) => ['cam-1', 'screen-1'].map((id) => `${hex(Buffer.from(id))}/${String(i).padStart(10, '0')}`));
    assert.deepEqual(keys.map((k) => k.split('/').slice(4).join('/')), ends, 'each key ends in its recording and index, which the at-rest seal binds');
    for (const i of [0, 1, 2]) assert.deepEqual(await a.get(i), a.sealed[i]);
  });
});

describe('segments named before upload order', () => {
  it('still read, repeat and conflict under the keys led by their recording', async (t) => {
    const s = await startTestServer(t);
    const r = await recording(s, 'cam-1', 2);
    const a0 = r.sealed[0] as Uint8Array;
    assert.equal((await r.put(0, a0)).statusCode, 201);
    // Store it as the server did before: the object under a name of 32 random hex digits, in a key
    // led by its recording.
    const row = await r.cell.db.selectFrom('segments').select('name').where('idx', '=', 0).executeTakeFirstOrThrow();
    const before = randomBytes(16).toString('hex');
    const key = segmentBlobKey(r.inst.id, 'cam-1', 0, before);
    assert.match(key, new RegExp(`^institutions/${r.inst.id}/recordings/${hex(Buffer.from('cam-1'))}/segments/0000000000-${before}$`));
    await r.cell.blobs.put(key, a0);
    await r.cell.blobs.delete(segmentBlobKey(r.inst.id, 'cam-1', 0, row.name));
    await r.cell.db.updateTable('segments').set({ name: before }).where('idx', '=', 0).execute();
    assert.deepEqual(await r.storedKeys(), [key]);

    assert.deepEqual(await r.get(0), a0);
    assert.equal((await r.put(0, a0)).statusCode, 200, 'the same bytes again: a repeat');
    const forged = await r.put(0, sameTag(a0));
    assert.equal(forged.statusCode, 409, forged.body);
    assert.equal((await r.put(1, r.sealed[1] as Uint8Array)).statusCode, 201);
    assert.deepEqual(await r.get(1), r.sealed[1]);
    assert.equal((await r.storedKeys()).length, 2);
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
