/**
 * Storage sweep: after real media-like uploads, no stored file starts with a media signature or holds
 * any plaintext of the source, no sealed byte string is stored raw (the at-rest layer is always
 * there), and every object opens with its own cell's keyring and with no other.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { cellDir } from '../../../src/server/regions/cells.js';
import { openCellKeyring, openCellObjects } from '../../../src/server/regions/cell-storage.fs.js';
import { EncryptedBlobStore } from '../../../src/server/storage/blob-store.encrypted.js';
import { SqlBlobStore } from '../../../src/server/storage/blob-store.sql.js';
import { filesContaining, readAllFiles } from '../support/data-files.js';
import { octets, startTestServer } from '../support/test-server.js';

/** Signatures a file-type sniffer looks for at the start of a file (MP4 at offset 4). */
const signatures: Array<[string, number, Buffer]> = [
  ['WebM/EBML', 0, Buffer.from([0x1a, 0x45, 0xdf, 0xa3])],
  ['JPEG', 0, Buffer.from([0xff, 0xd8, 0xff])],
  ['PNG', 0, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
  ['MP4', 4, Buffer.from('ftyp', 'latin1')],
];

function mediaLike(kind: number, size: number): Buffer {
  const [, offset, magic] = signatures[kind % signatures.length] as [string, number, Buffer];
  const body = randomBytes(size);
  magic.copy(body, offset);
  Buffer.from('EXAM PLAINTEXT MARKER student answers on screen').copy(body, 64);
  return body;
}

describe('storage sweep', () => {
  it('stores no media signature, no plaintext, no raw sealed bytes, and objects open only with their keyring', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const att = await s.attempt(inst);
    const sources: Buffer[] = [];
    const sealedParts: Uint8Array[] = [];
    for (const [r, track] of (['camera', 'screen', 'snapshot', 'microphone'] as const).entries()) {
      const sealer = await s.sealer(att, `rec-${track}`, { track, maxSegment: 64 * 1024 });
      sealedParts.push(sealer.header.bytes);
      const created = await s.app.inject({ method: 'POST', url: '/v1/recordings', headers: octets(att.token), payload: Buffer.from(sealer.header.bytes) });
      assert.equal(created.statusCode, 201);
      for (let i = 0; i < 4; i++) {
        const source = mediaLike(r + i, 20_000 + i * 1000);
        sources.push(source);
        const seg = await sealer.sealNext(source, i === 3);
        sealedParts.push(seg);
        const put = await s.app.inject({ method: 'PUT', url: `/v1/recordings/rec-${track}/segments/${i}`, headers: octets(att.token), payload: Buffer.from(seg) });
        assert.equal(put.statusCode, 201);
      }
    }
    await s.services.cells.get('eu')?.segmentIndex.idle();

    const files = await readAllFiles(s.dataDir);
    assert.ok(files.length > 16);
    for (const f of files) {
      for (const [name, offset, magic] of signatures) {
        assert.ok(!f.bytes.subarray(offset, offset + magic.length).equals(magic), `${f.path} starts like ${name}`);
      }
    }
    assert.deepEqual(filesContaining(files, 'EXAM PLAINTEXT MARKER'), []);
    for (const source of sources) {
      for (let at = 0; at + 32 <= source.length; at += 4096) assert.deepEqual(filesContaining(files, source.subarray(at, at + 32)), []);
    }
    for (const sealed of sealedParts) {
      for (let at = 0; at + 32 <= sealed.length; at += 4096) assert.deepEqual(filesContaining(files, sealed.subarray(at, at + 32)), [], 'a sealed byte string is stored raw');
    }

    // Every object opens with the eu cell's keyring, and with another cell's keyring none does.
    const euDir = cellDir(s.dataDir, 'eu');
    const euCell = s.services.cells.get('eu');
    assert.ok(euCell);
    const withKeyring = async (region: string) =>
      new EncryptedBlobStore({
        objects: await openCellObjects(euDir, euCell.db, { reclaimDelayMs: null }),
        keyRecords: new SqlBlobStore(euCell.db),
        keyring: await openCellKeyring(cellDir(s.dataDir, region), region),
      });
    const own = await withKeyring('eu');
    const foreign = await withKeyring('us');
    const keys: string[] = [];
    for await (const k of own.list('institutions/')) keys.push(k);
    assert.equal(keys.length, sealedParts.length);
    const stored = new Set<string>();
    for (const k of keys) {
      const bytes = await own.get(k);
      assert.ok(bytes);
      stored.add(Buffer.from(bytes).toString('hex'));
      await assert.rejects(foreign.get(k), (e: { code?: string }) => typeof e.code === 'string' && e.code.startsWith('EV_ERR_'));
    }
    assert.deepEqual([...stored].sort(), sealedParts.map((p) => Buffer.from(p).toString('hex')).sort());
    await own.close();
    await foreign.close();
  });
});
