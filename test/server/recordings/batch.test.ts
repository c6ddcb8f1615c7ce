/**
 * POST /v1/segments: several segments of an attempt's recordings in one request, as the recorder
 * sends what it sealed together. Each segment is stored as a PUT stores it, the batch is answered
 * once all are durable, and a batch refused for what it says stores nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { openRecording } from '../../../src/crypto/index.js';
import { MAX_BATCH_SEGMENTS, type BatchEntry, SEGMENTS_HEADER, segmentsHeader } from '../../../src/protocol/upload.js';
import { type TestAttempt, type TestServer, bearer, octets, startTestServer } from '../support/test-server.js';

interface Sealed {
  readonly recording: string;
  readonly index: number;
  readonly bytes: Buffer;
}

/** A server with one `eu` attempt and two of its recordings created, each with `count` sealed segments ready. */
async function twoRecordings(t: TestContext, count = 3) {
  const s = await startTestServer(t);
  const inst = await s.institution('eu');
  const att = await s.attempt(inst);
  const plain = new Map<string, Buffer[]>();
  const sealed = new Map<string, Sealed[]>();
  for (const recording of ['cam-1', 'scr-1']) {
    const sealer = await s.sealer(att, recording, { maxSegment: 1000 });
    const created = await s.app.inject({ method: 'POST', url: '/v1/recordings', headers: octets(att.token), payload: Buffer.from(sealer.header.bytes) });
    assert.equal(created.statusCode, 201, created.body);
    const chunks = Array.from({ length: count }, () => randomBytes(1 + Math.floor(Math.random() * 1000)));
    plain.set(recording, chunks);
    const out: Sealed[] = [];
    for (const [index, c] of chunks.entries()) out.push({ recording, index, bytes: Buffer.from(await sealer.sealNext(c, index === count - 1)) });
    sealed.set(recording, out);
  }
  const seg = (recording: string, index: number) => sealed.get(recording)?.[index] as Sealed;
  return { s, inst, att, plain, seg };
}

function batch(s: TestServer, att: TestAttempt, parts: readonly Sealed[], entries?: readonly BatchEntry[]) {
  const listed = entries ?? parts.map((p) => ({ recording: p.recording, index: p.index, size: p.bytes.length }));
  return s.app.inject({
    method: 'POST',
    url: '/v1/segments',
    headers: { ...octets(att.token), [SEGMENTS_HEADER]: segmentsHeader(listed) },
    payload: Buffer.concat(parts.map((p) => p.bytes)),
  });
}

async function storedOf(s: TestServer, att: TestAttempt, recording: string) {
  return (await s.app.inject({ method: 'GET', url: `/v1/recordings/${recording}`, headers: bearer(att.token) })).json().stored;
}

describe('segment batches (POST /v1/segments)', () => {
  it('stores segments of several recordings at once, answers a receipt for each in order, and a repeat as such', async (t) => {
    const { s, inst, att, plain, seg } = await twoRecordings(t);
    const first = [seg('cam-1', 0), seg('scr-1', 0), seg('cam-1', 1)];
    const r = await batch(s, att, first);
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(
      r.json().receipts,
      first.map((p) => ({ recording: p.recording, index: p.index, size: p.bytes.length, tag: p.bytes.subarray(-16).toString('hex'), created: true })),
    );
    assert.deepEqual(await storedOf(s, att, 'cam-1'), [[0, 1]]);
    assert.deepEqual(await storedOf(s, att, 'scr-1'), [[0, 0]]);

    // A lost answer: the same batch again, with one segment more, stores only what is new.
    const again = await batch(s, att, [...first, seg('scr-1', 1)]);
    assert.equal(again.statusCode, 200, again.body);
    assert.deepEqual(again.json().receipts.map((x: { created: boolean }) => x.created), [false, false, false, true]);

    // The rest one at a time and in a batch alike; the recordings then complete and open.
    assert.equal((await batch(s, att, [seg('scr-1', 2)])).statusCode, 200);
    const single = await s.app.inject({ method: 'PUT', url: '/v1/recordings/cam-1/segments/2', headers: octets(att.token), payload: seg('cam-1', 2).bytes });
    assert.equal(single.statusCode, 201, single.body);
    for (const recording of ['cam-1', 'scr-1']) {
      const done = await s.app.inject({ method: 'POST', url: `/v1/recordings/${recording}/complete`, headers: bearer(att.token), payload: { segmentCount: 3 } });
      assert.equal(done.statusCode, 200, done.body);
      const header = await s.app.inject({ method: 'GET', url: `/v1/recordings/${recording}/header`, headers: bearer(att.token) });
      const opener = await openRecording(new Uint8Array(header.rawPayload), inst.keys.privateKey);
      for (const [i, c] of (plain.get(recording) as Buffer[]).entries()) {
        const back = await s.app.inject({ method: 'GET', url: `/v1/recordings/${recording}/segments/${i}`, headers: bearer(att.token) });
        assert.deepEqual(Buffer.from((await opener.openSegment(i, new Uint8Array(back.rawPayload))).plaintext), c);
      }
    }
  });

  it('stores nothing of a batch refused for what it says', async (t) => {
    const { s, att, seg } = await twoRecordings(t);
    const good = seg('cam-1', 0);
    const other = await s.attempt(await s.institution('eu'));
    const otherSealer = await s.sealer(other, 'cam-x', { maxSegment: 1000 });
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/recordings', headers: octets(other.token), payload: Buffer.from(otherSealer.header.bytes) })).statusCode, 201);
    const entry = (p: Sealed) => ({ recording: p.recording, index: p.index, size: p.bytes.length });
    const cases: Array<{ name: string; send: () => ReturnType<typeof batch>; code: string }> = [
      { name: "another attempt's recording", send: () => batch(s, att, [good, { ...good, recording: 'cam-x' }]), code: 'EV_ERR_UPLOAD_RECORDING_NOT_FOUND' },
      { name: 'an unknown recording', send: () => batch(s, att, [good, { ...good, recording: 'nope' }]), code: 'EV_ERR_UPLOAD_RECORDING_NOT_FOUND' },
      { name: 'a segment past the recording’s size', send: () => batch(s, att, [good, { recording: 'scr-1', index: 0, bytes: randomBytes(1017) }]), code: 'EV_ERR_UPLOAD_SEGMENT_SIZE' },
      { name: 'sizes that do not add up to the body', send: () => batch(s, att, [good], [{ ...entry(good), size: good.bytes.length - 1 }]), code: 'EV_ERR_UPLOAD_BATCH_FRAMING' },
      { name: 'a segment listed twice', send: () => batch(s, att, [good, good]), code: 'EV_ERR_UPLOAD_BATCH_FRAMING' },
      { name: 'an index past 2^32-1', send: () => batch(s, att, [good], [{ ...entry(good), index: 2 ** 32 }]), code: 'EV_ERR_UPLOAD_SEGMENT_INDEX' },
    ];
    for (const c of cases) {
      const r = await c.send();
      assert.equal(r.statusCode >= 400 && r.statusCode < 500, true, `${c.name}: ${r.statusCode} ${r.body}`);
      assert.equal(r.json().error.code, c.code, c.name);
    }
    assert.deepEqual(await storedOf(s, att, 'cam-1'), []);
    assert.deepEqual(await storedOf(s, att, 'scr-1'), []);
    assert.deepEqual(await storedOf(s, other, 'cam-x'), []);
  });

  it('answers a conflict in a batch with 409, keeping the segments that were new, which a resent batch then answers as repeats', async (t) => {
    const { s, att, seg } = await twoRecordings(t);
    assert.equal((await batch(s, att, [seg('cam-1', 0)])).statusCode, 200);
    // Segment 1's bytes under index 0, which holds other bytes.
    const clash = { recording: 'cam-1', index: 0, bytes: seg('cam-1', 1).bytes };
    const r = await batch(s, att, [seg('scr-1', 0), clash]);
    assert.equal(r.statusCode, 409, r.body);
    assert.equal(r.json().error.code, 'EV_ERR_UPLOAD_SEGMENT_CONFLICT');
    assert.deepEqual(await storedOf(s, att, 'scr-1'), [[0, 0]]);
    const resent = await batch(s, att, [seg('scr-1', 0), seg('cam-1', 0)]);
    assert.deepEqual(resent.json().receipts.map((x: { created: boolean }) => x.created), [false, false]);
  });

  it(`takes at most ${MAX_BATCH_SEGMENTS} segments, and a header of the wrong shape as framing`, async (t) => {
    const { s, att, seg } = await twoRecordings(t, 1);
    const p = seg('cam-1', 0);
    const many = Array.from({ length: MAX_BATCH_SEGMENTS + 1 }, (_, i) => ({ recording: 'cam-1', index: i, size: i === 0 ? p.bytes.length : 0 }));
    const raw = (value: string | undefined) =>
      s.app.inject({ method: 'POST', url: '/v1/segments', headers: { ...octets(att.token), ...(value === undefined ? {} : { [SEGMENTS_HEADER]: value }) }, payload: p.bytes });
    for (const [name, value] of [
      ['no header', undefined],
      ['an empty header', ''],
      ['an entry without its size', `cam-1 0`],
      ['an entry with a word too many', `cam-1 0 ${p.bytes.length} x`],
      ['a negative size', `cam-1 0 -${p.bytes.length}`],
      [`${MAX_BATCH_SEGMENTS + 1} entries`, segmentsHeader(many)],
    ] as const) {
      const r = await raw(value);
      assert.equal(r.statusCode, 400, `${name}: ${r.body}`);
      assert.equal(r.json().error.code, 'EV_ERR_UPLOAD_BATCH_FRAMING', name);
    }
    assert.deepEqual(await storedOf(s, att, 'cam-1'), []);
  });
  it("frees each upload's body once it is answered, whatever the answer, and what was stored reads back whole", async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const att = await s.attempt(inst);
    const sealer = await s.sealer(att, 'cam-1', { maxSegment: 64_000 });
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/recordings', headers: octets(att.token), payload: Buffer.from(sealer.header.bytes) })).statusCode, 201);
    const plain = [randomBytes(30_000), randomBytes(20_000), randomBytes(10_000)];
    const sealed: Buffer[] = [];
    for (const [i, c] of plain.entries()) sealed.push(Buffer.from(await sealer.sealNext(c, i === plain.length - 1)));
    // Payloads in buffers of their own, as Node's HTTP parser hands a body's chunks over.
    const own = (b: Uint8Array) => Buffer.from(new Uint8Array(b).buffer);
    const put = (index: number, payload: Buffer) => s.app.inject({ method: 'PUT', url: `/v1/recordings/cam-1/segments/${index}`, headers: octets(att.token), payload });
    const sends: Array<[string, number, () => Promise<{ statusCode: number; body: string }>, Buffer]> = [];
    const first = own(sealed[0] as Buffer);
    sends.push(['a new segment', 201, () => put(0, first), first]);
    const pair = own(Buffer.concat([sealed[1] as Buffer, sealed[2] as Buffer]));
    const entries = [1, 2].map((index) => ({ recording: 'cam-1', index, size: (sealed[index] as Buffer).length }));
    sends.push(['a batch', 200, () => s.app.inject({ method: 'POST', url: '/v1/segments', headers: { ...octets(att.token), [SEGMENTS_HEADER]: segmentsHeader(entries) }, payload: pair }), pair]);
    const repeat = own(sealed[0] as Buffer);
    sends.push(['a repeat', 200, () => put(0, repeat), repeat]);
    const clash = own(sealed[1] as Buffer);
    sends.push(['a conflict', 409, () => put(0, clash), clash]);
    for (const [what, status, send, payload] of sends) {
      const r = await send();
      assert.equal(r.statusCode, status, `${what}: ${r.body}`);
      assert.equal(payload.byteLength, 0, `${what}: the body's memory is freed`);
    }
    const done = await s.app.inject({ method: 'POST', url: '/v1/recordings/cam-1/complete', headers: bearer(att.token), payload: { segmentCount: 3 } });
    assert.equal(done.statusCode, 200, done.body);
    const header = await s.app.inject({ method: 'GET', url: '/v1/recordings/cam-1/header', headers: bearer(att.token) });
    const opener = await openRecording(new Uint8Array(header.rawPayload), inst.keys.privateKey);
    for (const [i, c] of plain.entries()) {
      const back = await s.app.inject({ method: 'GET', url: `/v1/recordings/cam-1/segments/${i}`, headers: bearer(att.token) });
      assert.deepEqual(Buffer.from((await opener.openSegment(i, new Uint8Array(back.rawPayload))).plaintext), c);
    }
  });
});
