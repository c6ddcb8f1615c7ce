/**
 * Bad input to the upload protocol: every row is a request the server must refuse with a 4xx and
 * the documented code — never a 5xx, never a silent success.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { KEY_SLOT_LENGTH } from '../../../src/crypto/index.js';
import { SEGMENTS_HEADER } from '../../../src/protocol/upload.js';
import { type TestAttempt, type TestServer, bearer, octets, startTestServer } from '../support/test-server.js';

interface Row {
  readonly name: string;
  readonly request: () => { method: 'GET' | 'PUT' | 'POST'; url: string; headers: Record<string, string>; payload?: Buffer | string | object };
  readonly status: number;
  readonly code: string;
}

describe('bad input to the upload protocol', () => {
  let s: TestServer;
  let a: TestAttempt;
  let otherAttempt: TestAttempt;
  let otherExam: TestAttempt;
  let otherInstitution: TestAttempt;
  let expired: TestAttempt;
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const fn of cleanups) await fn();
  });
  let header: Buffer;
  let segment: Buffer;
  const MAX = 1024;

  before(async () => {
    s = await startTestServer({ after: (fn) => void cleanups.push(fn) });
    const inst = await s.institution('eu');
    a = await s.attempt(inst, 'exam-a');
    otherAttempt = await s.attempt(inst, 'exam-a');
    otherExam = await s.attempt(inst, 'exam-b');
    otherInstitution = await s.attempt(await s.institution('eu'), 'exam-a');
    expired = await s.attempt(inst, 'exam-a', 60);
    const sealer = await s.sealer(a, 'rec-1', { maxSegment: MAX });
    header = Buffer.from(sealer.header.bytes);
    segment = Buffer.from(await sealer.sealNext(randomBytes(100), false));
    const created = await s.app.inject({ method: 'POST', url: '/v1/recordings', headers: octets(a.token), payload: header });
    assert.equal(created.statusCode, 201);
    const stored = await s.app.inject({ method: 'PUT', url: '/v1/recordings/rec-1/segments/0', headers: octets(a.token), payload: segment });
    assert.equal(stored.statusCode, 201);
  });

  const headerFor = async (att: TestAttempt, recording: string) => Buffer.from((await s.sealer(att, recording)).header.bytes);
  const put = (n: string, payload: () => Buffer, token = () => a.token) => () => ({ method: 'PUT' as const, url: `/v1/recordings/rec-1/segments/${n}`, headers: octets(token()), payload: payload() });

  /** POST /v1/segments carrying `segment`, with `entries` as its EV-Segments header (none when undefined). */
  const batch = (entries: () => string | undefined, token = () => a.token) => () => {
    const listed = entries();
    return { method: 'POST' as const, url: '/v1/segments', headers: { ...octets(token()), ...(listed === undefined ? {} : { [SEGMENTS_HEADER]: listed }) }, payload: segment };
  };

  const rows: Row[] = [
    { name: 'no credential', request: () => ({ method: 'PUT', url: '/v1/recordings/rec-1/segments/1', headers: { 'content-type': 'application/octet-stream' }, payload: segment }), status: 401, code: 'EV_ERR_AUTH_MISSING_CREDENTIAL' },
    { name: 'a malformed Authorization header', request: () => ({ method: 'GET', url: '/v1/recordings/rec-1', headers: { authorization: `Basic ${a.token}` } }), status: 401, code: 'EV_ERR_AUTH_MISSING_CREDENTIAL' },
    { name: 'an unknown credential', request: () => ({ method: 'GET', url: '/v1/recordings/rec-1', headers: bearer(`ev1.eu.${'A'.repeat(43)}`) }), status: 401, code: 'EV_ERR_AUTH_INVALID_CREDENTIAL' },
    { name: 'a credential for a region not served', request: () => ({ method: 'GET', url: '/v1/recordings/rec-1', headers: bearer(a.token.replace('ev1.eu.', 'ev1.zz.')) }), status: 401, code: 'EV_ERR_AUTH_INVALID_CREDENTIAL' },
    { name: 'an expired credential', request: () => { s.now += 61_000; return { method: 'GET', url: '/v1/recordings/rec-1', headers: bearer(expired.token) }; }, status: 401, code: 'EV_ERR_AUTH_EXPIRED_CREDENTIAL' },
    { name: 'a credential for another attempt reading this recording', request: () => ({ method: 'GET', url: '/v1/recordings/rec-1', headers: bearer(otherAttempt.token) }), status: 404, code: 'EV_ERR_UPLOAD_RECORDING_NOT_FOUND' },
    { name: 'a credential for another attempt writing a segment', request: put('1', () => Buffer.alloc(0), () => otherAttempt.token), status: 404, code: 'EV_ERR_UPLOAD_RECORDING_NOT_FOUND' },
    { name: 'staff of another institution (its credential) reading a segment', request: () => ({ method: 'GET', url: '/v1/recordings/rec-1/segments/0', headers: bearer(otherInstitution.token) }), status: 404, code: 'EV_ERR_UPLOAD_RECORDING_NOT_FOUND' },
    { name: 'a header for another institution', request: () => ({ method: 'POST', url: '/v1/recordings', headers: octets(a.token), payload: headerForSync.otherInstitution }), status: 403, code: 'EV_ERR_UPLOAD_CONTEXT_MISMATCH' },
    { name: 'a header for another exam', request: () => ({ method: 'POST', url: '/v1/recordings', headers: octets(a.token), payload: headerForSync.otherExam }), status: 403, code: 'EV_ERR_UPLOAD_CONTEXT_MISMATCH' },
    { name: 'a header for another attempt', request: () => ({ method: 'POST', url: '/v1/recordings', headers: octets(a.token), payload: headerForSync.otherAttempt }), status: 403, code: 'EV_ERR_UPLOAD_CONTEXT_MISMATCH' },
    { name: 'a header sealed to a future epoch', request: () => ({ method: 'POST', url: '/v1/recordings', headers: octets(a.token), payload: headerForSync.epoch2 }), status: 409, code: 'EV_ERR_UPLOAD_EPOCH_NOT_CURRENT' },
    { name: 'a different header under an existing recording id', request: () => ({ method: 'POST', url: '/v1/recordings', headers: octets(a.token), payload: headerForSync.sameIdOtherHeader }), status: 409, code: 'EV_ERR_UPLOAD_RECORDING_EXISTS' },
    { name: 'a garbage header body', request: () => ({ method: 'POST', url: '/v1/recordings', headers: octets(a.token), payload: randomBytes(300) }), status: 400, code: 'EV_ERR_UPLOAD_BAD_HEADER' },
    { name: 'an empty header body', request: () => ({ method: 'POST', url: '/v1/recordings', headers: octets(a.token), payload: Buffer.alloc(0) }), status: 400, code: 'EV_ERR_UPLOAD_BAD_HEADER' },
    { name: 'a header cut inside its key slot', request: () => ({ method: 'POST', url: '/v1/recordings', headers: octets(a.token), payload: header.subarray(0, header.length - KEY_SLOT_LENGTH / 2) }), status: 400, code: 'EV_ERR_UPLOAD_BAD_HEADER' },
    { name: 'a header with bytes after it', request: () => ({ method: 'POST', url: '/v1/recordings', headers: octets(a.token), payload: Buffer.concat([header, Buffer.from([0])]) }), status: 400, code: 'EV_ERR_UPLOAD_BAD_HEADER' },
    { name: 'a header larger than any header can be', request: () => ({ method: 'POST', url: '/v1/recordings', headers: octets(a.token), payload: randomBytes(4096) }), status: 413, code: 'EV_ERR_API_PAYLOAD_TOO_LARGE' },
    { name: 'a header sent as JSON', request: () => ({ method: 'POST', url: '/v1/recordings', headers: { ...bearer(a.token), 'content-type': 'application/json' }, payload: { header: 'x' } }), status: 415, code: 'EV_ERR_API_UNSUPPORTED_MEDIA_TYPE' },
    { name: 'a segment sent as text/plain', request: () => ({ method: 'PUT', url: '/v1/recordings/rec-1/segments/1', headers: { ...bearer(a.token), 'content-type': 'text/plain' }, payload: 'hello' }), status: 415, code: 'EV_ERR_API_UNSUPPORTED_MEDIA_TYPE' },
    { name: 'a segment sent as a form', request: () => ({ method: 'PUT', url: '/v1/recordings/rec-1/segments/1', headers: { ...bearer(a.token), 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=b' }), status: 415, code: 'EV_ERR_API_UNSUPPORTED_MEDIA_TYPE' },
    { name: 'a segment larger than the recording allows', request: put('1', () => randomBytes(MAX + 17)), status: 400, code: 'EV_ERR_UPLOAD_SEGMENT_SIZE' },
    { name: 'a segment larger than any segment can be', request: put('1', () => Buffer.alloc(17 * 1024 * 1024 + 1)), status: 413, code: 'EV_ERR_API_PAYLOAD_TOO_LARGE' },
    { name: 'a segment shorter than its tag', request: put('1', () => randomBytes(15)), status: 400, code: 'EV_ERR_UPLOAD_SEGMENT_SIZE' },
    { name: 'an empty segment body', request: put('1', () => Buffer.alloc(0)), status: 400, code: 'EV_ERR_UPLOAD_SEGMENT_SIZE' },
    { name: 'an index past 2^32-1', request: put('4294967296', () => segment), status: 400, code: 'EV_ERR_UPLOAD_SEGMENT_INDEX' },
    { name: 'a negative index', request: put('-1', () => segment), status: 400, code: 'EV_ERR_UPLOAD_SEGMENT_INDEX' },
    { name: 'a non-canonical index', request: put('01', () => segment), status: 400, code: 'EV_ERR_UPLOAD_SEGMENT_INDEX' },
    { name: 'a non-numeric index', request: put('one', () => segment), status: 400, code: 'EV_ERR_UPLOAD_SEGMENT_INDEX' },
    { name: 'other bytes for a stored index', request: put('0', () => randomBytes(116)), status: 409, code: 'EV_ERR_UPLOAD_SEGMENT_CONFLICT' },
    { name: 'a segment of an unknown recording', request: () => ({ method: 'PUT', url: '/v1/recordings/nope/segments/0', headers: octets(a.token), payload: segment }), status: 404, code: 'EV_ERR_UPLOAD_RECORDING_NOT_FOUND' },
    { name: 'a recording id breaking the id rule', request: () => ({ method: 'GET', url: '/v1/recordings/a%20b', headers: bearer(a.token) }), status: 404, code: 'EV_ERR_UPLOAD_RECORDING_NOT_FOUND' },
    { name: 'reading a segment not stored', request: () => ({ method: 'GET', url: '/v1/recordings/rec-1/segments/7', headers: bearer(a.token) }), status: 404, code: 'EV_ERR_UPLOAD_SEGMENT_NOT_FOUND' },
    { name: 'complete with missing segments', request: () => ({ method: 'POST', url: '/v1/recordings/rec-1/complete', headers: bearer(a.token), payload: { segmentCount: 3 } }), status: 409, code: 'EV_ERR_UPLOAD_INCOMPLETE' },
    { name: 'complete with a count of zero', request: () => ({ method: 'POST', url: '/v1/recordings/rec-1/complete', headers: bearer(a.token), payload: { segmentCount: 0 } }), status: 400, code: 'EV_ERR_API_BAD_REQUEST' },
    { name: 'complete with a string count', request: () => ({ method: 'POST', url: '/v1/recordings/rec-1/complete', headers: bearer(a.token), payload: { segmentCount: '1' } }), status: 400, code: 'EV_ERR_API_BAD_REQUEST' },
    { name: 'complete with garbage JSON', request: () => ({ method: 'POST', url: '/v1/recordings/rec-1/complete', headers: { ...bearer(a.token), 'content-type': 'application/json' }, payload: '{"segmentCount":' }), status: 400, code: 'EV_ERR_API_BAD_REQUEST' },
    { name: 'a batch without its EV-Segments header', request: batch(() => undefined), status: 400, code: 'EV_ERR_UPLOAD_BATCH_FRAMING' },
    { name: 'a batch whose EV-Segments sizes do not add up to its body', request: batch(() => `rec-1 1 ${segment.length + 1}`), status: 400, code: 'EV_ERR_UPLOAD_BATCH_FRAMING' },
    { name: 'a batch listing one segment twice', request: batch(() => `rec-1 1 ${segment.length}, rec-1 1 0`), status: 400, code: 'EV_ERR_UPLOAD_BATCH_FRAMING' },
    { name: 'a batch with garbage in EV-Segments', request: batch(() => 'rec-1;1;x'), status: 400, code: 'EV_ERR_UPLOAD_BATCH_FRAMING' },
    { name: 'a batch with an index past 2^32-1', request: batch(() => `rec-1 4294967296 ${segment.length}`), status: 400, code: 'EV_ERR_UPLOAD_SEGMENT_INDEX' },
    { name: 'a batch with a recording id breaking the id rule', request: batch(() => `a/b 1 ${segment.length}`), status: 404, code: 'EV_ERR_UPLOAD_RECORDING_NOT_FOUND' },
    { name: 'a batch from a credential for another attempt', request: batch(() => `rec-1 1 ${segment.length}`, () => otherAttempt.token), status: 404, code: 'EV_ERR_UPLOAD_RECORDING_NOT_FOUND' },
    { name: 'a batch with an expired credential', request: batch(() => `rec-1 1 ${segment.length}`, () => expired.token), status: 401, code: 'EV_ERR_AUTH_EXPIRED_CREDENTIAL' },
    { name: 'a batch with other bytes for a stored index', request: () => ({ ...batch(() => `rec-1 0 116`)(), payload: randomBytes(116) }), status: 409, code: 'EV_ERR_UPLOAD_SEGMENT_CONFLICT' },
    { name: 'a batch sent as text/plain', request: () => ({ method: 'POST', url: '/v1/segments', headers: { ...bearer(a.token), 'content-type': 'text/plain', [SEGMENTS_HEADER]: 'rec-1 1 5' }, payload: 'hello' }), status: 415, code: 'EV_ERR_API_UNSUPPORTED_MEDIA_TYPE' },
    { name: 'a batch larger than any segment can be', request: () => ({ ...batch(() => 'rec-1 1 17825793')(), payload: Buffer.alloc(17 * 1024 * 1024 + 1) }), status: 413, code: 'EV_ERR_API_PAYLOAD_TOO_LARGE' },
    { name: 'an unknown route', request: () => ({ method: 'GET', url: '/v1/recordings/rec-1/nothing', headers: bearer(a.token) }), status: 404, code: 'EV_ERR_API_NOT_FOUND' },
  ];

  const headerForSync: Record<string, Buffer> = {};
  before(async () => {
    headerForSync.otherInstitution = await headerFor(otherInstitution, 'rec-x');
    headerForSync.otherExam = await headerFor(otherExam, 'rec-x');
    headerForSync.otherAttempt = await headerFor(otherAttempt, 'rec-x');
    headerForSync.sameIdOtherHeader = await headerFor(a, 'rec-1');
    const e2 = Buffer.from(await headerFor(a, 'rec-e2'));
    e2.writeUInt32BE(2, e2.length - KEY_SLOT_LENGTH);
    headerForSync.epoch2 = e2;
  });

  for (const row of rows) {
    it(`refuses ${row.name}: ${row.status} ${row.code}`, async () => {
      const r = await s.app.inject(row.request());
      assert.equal(r.statusCode, row.status, r.body);
      assert.equal(r.json().error.code, row.code);
      assert.ok(r.headers['strict-transport-security'], 'security headers on errors too');
    });
  }

  it('still serves the honest recording afterwards', async () => {
    const r = await s.app.inject({ method: 'GET', url: '/v1/recordings/rec-1/segments/0', headers: bearer(a.token) });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.rawPayload, segment);
  });
});
