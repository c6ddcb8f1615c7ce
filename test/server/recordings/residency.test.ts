/**
 * Residency: an institution pinned to `eu` leaves bytes only in the `eu` cell. The other cells hold
 * nothing of it, and the global directory holds only its id and region.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { octets, startTestServer } from '../support/test-server.js';
import { filesContaining, readAllFiles } from '../support/data-files.js';

describe('region residency', () => {
  it('keeps every byte of an eu institution inside the eu cell', async (t) => {
    const s = await startTestServer(t);
    const eu = await s.institution('eu');
    const us = await s.institution('us');
    const uploaded: Uint8Array[] = [];
    const ids: string[] = [];
    for (const inst of [eu, us]) {
      const att = await s.attempt(inst, `exam-${inst.region}-chemistry`);
      if (inst === eu) ids.push(att.exam, att.attempt);
      for (const track of ['camera', 'screen'] as const) {
        const recording = `${inst.region}-${track}-recording`;
        if (inst === eu) ids.push(recording);
        const sealer = await s.sealer(att, recording, { track, maxSegment: 4096 });
        const r = await s.app.inject({ method: 'POST', url: '/v1/recordings', headers: octets(att.token), payload: Buffer.from(sealer.header.bytes) });
        assert.equal(r.statusCode, 201, r.body);
        if (inst === eu) uploaded.push(sealer.header.bytes);
        for (let i = 0; i < 3; i++) {
          const seg = await sealer.sealNext(randomBytes(4096), i === 2);
          if (inst === eu) uploaded.push(seg);
          const p = await s.app.inject({ method: 'PUT', url: `/v1/recordings/${recording}/segments/${i}`, headers: octets(att.token), payload: Buffer.from(seg) });
          assert.equal(p.statusCode, 201, p.body);
        }
      }
    }

    const files = await readAllFiles(s.dataDir);
    const outsideEu = files.filter((f) => !f.path.startsWith('cells/eu/'));
    const otherCells = outsideEu.filter((f) => f.path.startsWith('cells/'));
    const logBytes = (fs: typeof files, region: string) => fs.filter((f) => f.path.startsWith(`cells/${region}/blobs/objects/`)).reduce((n, f) => n + f.bytes.length, 0);
    assert.ok(logBytes(otherCells, 'us') > 2 * 3 * 4096, 'the us institution stored objects in its own cell');

    // The eu cell holds the eu recordings (ids in its database, objects in its blob store).
    const euFiles = files.filter((f) => f.path.startsWith('cells/eu/'));
    for (const id of [eu.id, ...ids]) assert.ok(filesContaining(euFiles, id).length > 0, `${id} is in the eu cell`);
    const uploadedBytes = uploaded.reduce((n, b) => n + b.length, 0);
    assert.ok(logBytes(euFiles, 'eu') > uploadedBytes, `the eu object log holds the ${uploaded.length} objects (${uploadedBytes} bytes)`);

    // No other cell holds any of its identifiers.
    for (const id of [eu.id, ...ids]) assert.deepEqual(filesContaining(otherCells, id), [], `${id} outside the eu cell`);
    // Nothing outside the eu cell holds its exam, attempt or recording ids, or its name.
    for (const id of [...ids, 'Test University eu']) assert.deepEqual(filesContaining(outsideEu, id), [], `${id} outside the eu cell`);
    // The institution id appears outside its cell only in the global directory.
    assert.deepEqual(filesContaining(outsideEu, eu.id).filter((p) => !p.startsWith('directory.db')), []);
    // No sealed byte string the eu test taker sent appears outside the eu cell (nor, raw, inside it:
    // everything is encrypted again at rest).
    for (const bytes of uploaded) {
      assert.deepEqual(filesContaining(outsideEu, bytes.subarray(0, 64)), []);
      assert.deepEqual(filesContaining(euFiles, bytes.subarray(bytes.length - 64)), []);
    }
    // The other cells' blob stores list nothing of the eu institution.
    for (const [region, cell] of s.services.cells) {
      if (region === 'eu') continue;
      const keys: string[] = [];
      for await (const k of cell.blobs.list(`institutions/${eu.id}`)) keys.push(k);
      assert.deepEqual(keys, [], `cell ${region} lists eu objects`);
    }
  });
});
