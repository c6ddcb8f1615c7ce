/**
 * The upload protocol end to end through the real app (injection, no port): create, put segments in
 * any order, resume from the status, complete, read back, and open with the institution's key.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { openRecording } from '../../../src/crypto/index.js';
import { headerBlobKey } from '../../../src/server/recordings/recording.service.js';
import type { Cell } from '../../../src/server/regions/cell.types.js';
import { bearer, octets, startTestServer, storedSegmentKeys } from '../support/test-server.js';

/** The SQL of each write given to the cell's group commit from now on, one list per write. */
function writesCommittedThrough(cell: Cell): string[][] {
  const writes: string[][] = [];
  const run = cell.commits.run.bind(cell.commits);
  cell.commits.run = (queries) => {
    writes.push(queries.map((q) => q.sql));
    return run(queries);
  };
  return writes;
}

/** A test server with one institution in `eu`, one attempt of it, and the `eu` cell. */
async function euAttempt(t: TestContext) {
  const s = await startTestServer(t);
  const att = await s.attempt(await s.institution('eu'));
  const cell = s.services.cells.get('eu');
  assert.ok(cell);
  return { s, att, cell };
}

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

  it("creates recordings that arrive together through the cell's group commit, each exactly once, a racing twin answered as a repeat", async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const cell = s.services.cells.get('eu');
    assert.ok(cell);
    const attempts = await Promise.all(Array.from({ length: 8 }, () => s.attempt(inst)));
    const starts = await Promise.all(
      attempts.flatMap((att, i) => ['cam', 'screen', 'mic'].map(async (name) => ({ att, id: `${name}-${i}`, sealer: await s.sealer(att, `${name}-${i}`) }))),
    );
    const writes = writesCommittedThrough(cell);
    const create = (att: (typeof starts)[number]['att'], header: Uint8Array) =>
      s.app.inject({ method: 'POST', url: '/v1/recordings', headers: octets(att.token), payload: Buffer.from(header) });
    const [twin, ...answers] = await Promise.all([create(starts[0]!.att, starts[0]!.sealer.header.bytes), ...starts.map((r) => create(r.att, r.sealer.header.bytes))]);

    answers.forEach((res, i) => assert.ok(res.statusCode === 201 || (i === 0 && res.statusCode === 200), `${starts[i]?.id}: ${res.statusCode} ${res.body}`));
    assert.deepEqual([twin?.statusCode, answers[0]?.statusCode].sort(), [200, 201], 'one of the two creations of the same recording inserted it');
    // The twin inserts too unless the other's row was committed before it looked.
    const inserting = writes.filter((w) => w.some((sql) => /^insert into "recordings"/.test(sql)));
    assert.ok(inserting.length === starts.length || inserting.length === starts.length + 1, `${inserting.length} recording inserts went through the group commit`);
    // One commit creates a recording: its row goes in the same write as its header's location.
    for (const w of inserting) assert.ok(w.some((sql) => /^insert into "log_objects"/.test(sql)), `a recording insert without its header's location: ${w.join('; ')}`);
    const rows = await cell.db.selectFrom('recordings').select(['recording_id', 'attempt_id']).execute();
    assert.deepEqual(rows.map((r) => `${r.recording_id} ${r.attempt_id}`).sort(), starts.map((r) => `${r.id} ${r.att.attempt}`).sort());
  });

  it('of two creations racing with different headers under one id, keeps one recording and only its header', async (t) => {
    const { s, att, cell } = await euAttempt(t);
    const headers = [(await s.sealer(att, 'cam-1')).header.bytes, (await s.sealer(att, 'cam-1')).header.bytes];
    const writes = writesCommittedThrough(cell);
    const answers = await Promise.all(headers.map((h) => s.app.inject({ method: 'POST', url: '/v1/recordings', headers: octets(att.token), payload: Buffer.from(h) })));

    assert.deepEqual(answers.map((a) => a.statusCode).sort(), [201, 409], answers.map((a) => a.body).join('\n'));
    assert.equal(answers.find((a) => a.statusCode === 409)?.json().error.code, 'EV_ERR_UPLOAD_RECORDING_EXISTS');
    const row = await cell.db.selectFrom('recordings').selectAll().where('recording_id', '=', 'cam-1').executeTakeFirstOrThrow();
    const kept = headerBlobKey(row);
    const stored: string[] = [];
    for await (const key of cell.blobs.list(kept.slice(0, kept.lastIndexOf('/') + 1))) stored.push(key);
    assert.deepEqual(stored, [kept], "only the winner's header is stored");
    assert.deepEqual(await cell.blobs.get(kept), headers[answers.findIndex((a) => a.statusCode === 201)]);
    // Both raced past the check for an existing row unless one committed before the other looked.
    const inserts = writes.filter((w) => w.some((sql) => /^insert into "recordings"/.test(sql))).length;
    assert.ok(inserts === 1 || inserts === 2, `${inserts} recording inserts`);
  });

  it("completes a recording only when exactly segments 0..n-1 are stored, in one statement through the cell's group commit", async (t) => {
    const { s, att, cell } = await euAttempt(t);
    const sealer = await s.sealer(att, 'cam-1', { maxSegment: 100 });
    const sealed: Uint8Array[] = [];
    for (let i = 0; i < 4; i++) sealed.push(await sealer.sealNext(randomBytes(100), i === 3));
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/recordings', headers: octets(att.token), payload: Buffer.from(sealer.header.bytes) })).statusCode, 201);
    const put = (i: number) => s.app.inject({ method: 'PUT', url: `/v1/recordings/cam-1/segments/${i}`, headers: octets(att.token), payload: Buffer.from(sealed[i] as Uint8Array) });
    const complete = (n: number) => s.app.inject({ method: 'POST', url: '/v1/recordings/cam-1/complete', headers: bearer(att.token), payload: { segmentCount: n } });
    for (const i of [0, 1, 3]) assert.equal((await put(i)).statusCode, 201);

    const writes = writesCommittedThrough(cell);
    // 0, 1 and 3 stored: a gap for 4, too many for 2, and for 3 the right number but not 0..2.
    for (const n of [4, 2, 3]) {
      const early = await complete(n);
      assert.equal(early.statusCode, 409, `${n}: ${early.body}`);
      assert.equal(early.json().error.code, 'EV_ERR_UPLOAD_INCOMPLETE');
    }
    assert.equal((await put(2)).statusCode, 201);
    const done = await complete(4);
    assert.equal(done.statusCode, 200, done.body);
    assert.equal(done.json().complete, true);
    assert.equal((await complete(4)).statusCode, 200, 'completing again with the same count is a repeat');
    const other = await complete(5);
    assert.equal(other.statusCode, 409);
    assert.equal(other.json().error.code, 'EV_ERR_UPLOAD_RECORDING_COMPLETE');
    assert.equal(writes.flat().filter((sql) => /^update "recordings"/.test(sql)).length, 4, 'each completion that checked the segments ran through the group commit');
    const row = await cell.db.selectFrom('recordings').select(['segment_count', 'completed_at']).where('recording_id', '=', 'cam-1').executeTakeFirstOrThrow();
    assert.deepEqual([Number(row.segment_count), Number(row.completed_at)], [4, s.now]);
  });

  it('refuses, and leaves nothing stored, a segment for a recording completed or deleted since its row was kept', async (t) => {
    const { s, att, cell } = await euAttempt(t);
    const put = async (recording: string, i: number, body: Uint8Array) =>
      s.app.inject({ method: 'PUT', url: `/v1/recordings/${recording}/segments/${i}`, headers: octets(att.token), payload: Buffer.from(body) });
    const storedKeys = (recording: string) => storedSegmentKeys(cell.blobs, att.institution.id, recording);
    const start = async (recording: string) => {
      const sealer = await s.sealer(att, recording, { maxSegment: 1000 });
      const created = await s.app.inject({ method: 'POST', url: '/v1/recordings', headers: octets(att.token), payload: Buffer.from(sealer.header.bytes) });
      assert.equal(created.statusCode, 201, created.body);
      const first = await sealer.sealNext(randomBytes(500), false);
      // The upload path now keeps the recording's row.
      assert.equal((await put(recording, 0, first)).statusCode, 201);
      return { sealer, first, keys: await storedKeys(recording) };
    };

    // Completed by another process, as far as this one's kept row knows.
    const cam = await start('cam-1');
    await cell.db.updateTable('recordings').set({ segment_count: 1, completed_at: s.now }).where('recording_id', '=', 'cam-1').execute();
    const late = await put('cam-1', 1, await cam.sealer.sealNext(randomBytes(500), true));
    assert.equal(late.statusCode, 409, late.body);
    assert.equal(late.json().error.code, 'EV_ERR_UPLOAD_RECORDING_COMPLETE');
    const repeat = await put('cam-1', 0, cam.first);
    assert.equal(repeat.statusCode, 200, repeat.body);
    assert.equal(repeat.json().created, false);
    assert.deepEqual(await storedKeys('cam-1'), cam.keys);
    assert.deepEqual((await cell.db.selectFrom('segments').select('idx').where('recording_id', '=', 'cam-1').execute()).map((r) => Number(r.idx)), [0]);

    // Deleted the same way: the segment is refused as for a recording that never was, and its object is gone.
    const screen = await start('screen-1');
    await cell.db.deleteFrom('segments').where('recording_id', '=', 'screen-1').execute();
    await cell.db.deleteFrom('recordings').where('recording_id', '=', 'screen-1').execute();
    const orphan = await put('screen-1', 1, await screen.sealer.sealNext(randomBytes(500), true));
    assert.equal(orphan.statusCode, 404, orphan.body);
    assert.equal(orphan.json().error.code, 'EV_ERR_UPLOAD_RECORDING_NOT_FOUND');
    assert.deepEqual(await storedKeys('screen-1'), screen.keys);
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
