/**
 * The store path alone, without HTTP: what a cell does for each uploaded segment once its body is in
 * memory (name it, seal at rest, append to the log, fdatasync, commit the rows), `concurrency` at a time,
 * and the process's CPU per segment (user + system, every thread). For comparing changes to the store
 * path on a machine too busy for the full benchmark: CPU time per segment moves much less with other
 * load than throughput does.
 *
 *   node --import tsx bench/ingest/store-path.ts [segments] [concurrency] [separate]
 *
 * `separate`: the segment row in a commit of its own after the object's, as before RowsBlobStore.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openCell } from '../../src/server/regions/cells.js';
import { fsCellBlobs } from '../../src/server/regions/cell-storage.fs.js';
import { segmentBlobKey } from '../../src/server/recordings/recording.service.js';
import { takesRows } from '../../src/server/storage/blob-store.js';

const total = Number(process.argv[2] ?? 3000);
const concurrency = Number(process.argv[3] ?? 64);
const separate = process.argv[4] === 'separate';
const sizes = [250_016, 125_016, 25_016];
const bodies = sizes.map((n) => randomBytes(n));

const dir = await mkdtemp(join(tmpdir(), 'ev-store-path-'));
const cell = await openCell(dir, 'eu', fsCellBlobs);
// As in the benchmark's max-throughput run, each uploader sends three recordings' segments in turn, so
// the rows of a commit land at as many places in the index as there are recordings being written.
const tracks = ['camera', 'screen', 'microphone'];
const recordingOf = (uploader: number, track: number) => `rec-${uploader}-${tracks[track]}`;
await cell.db.insertInto('institutions').values({ id: 'inst', name: 'Bench', region: 'eu', current_epoch: 1, created_at: 0 }).execute();
for (let u = 0; u < concurrency; u++) {
  for (let t = 0; t < 3; t++) {
    const recording = { institution_id: 'inst', recording_id: recordingOf(u, t), exam_id: 'exam', attempt_id: `att-${u}`, track: tracks[t] as string, epoch: 1 };
    await cell.db.insertInto('recordings').values({ ...recording, max_segment: 300_000, header_sha256: '0'.repeat(64), header_size: 100, segment_count: null, created_at: 0, completed_at: null }).execute();
  }
}

let next = 0;
let bytes = 0;
/** The `n`th segment an uploader sends: track n mod 3, index n div 3 of that track's recording. */
async function one(uploader: number, n: number): Promise<void> {
  const body = bodies[n % 3] as Buffer;
  const recording = recordingOf(uploader, n % 3);
  const idx = Math.floor(n / 3);
  const name = randomBytes(16).toString('hex');
  const key = segmentBlobKey('inst', recording, idx, name);
  const row = { institution_id: 'inst', recording_id: recording, idx, size: body.length, name, created_at: Date.now() };
  const blobs = cell.blobs;
  // As the upload path writes a segment sent for the first time (recording.service.ts putSegment).
  if (!separate && takesRows(blobs)) {
    const outcome = await cell.segmentIndex.insertFirst(row, (q) => blobs.putNewWith(key, body, q));
    if (outcome !== 'inserted') throw new Error(`segment ${idx} of ${recording}: ${outcome}`);
  } else {
    await blobs.put(key, body);
    await cell.segmentIndex.insert(row);
  }
  bytes += body.length;
}
const uploader = async (u: number) => {
  for (let n = 0; next++ < total; n++) await one(u, n);
};
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await Promise.all(Array.from({ length: concurrency }, (_, u) => uploader(u)));
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
console.log(
  `${separate ? 'separate commits' : 'rows alongside '}: ${total} segments, ${(bytes / 1e6 / seconds).toFixed(0)} MB/s, ` +
    `${((cpuSeconds / total) * 1000).toFixed(3)} ms CPU per segment (user ${((cpu.user / 1e6 / total) * 1000).toFixed(3)}, system ${((cpu.system / 1e6 / total) * 1000).toFixed(3)}), ${(bytes / 1e6 / cpuSeconds).toFixed(0)} MB/CPU-s`,
);
const gc = (cell.segmentIndex as unknown as { commits: { stats: { writes: number; commits: number } } }).commits.stats;
const logStats = (cell.blobs as unknown as { objects: { stats: { puts: number; syncs: number } } }).objects.stats;
console.log(`  ${gc.commits} commits of ${gc.writes} writes; ${logStats.puts} log puts in ${logStats.syncs} fdatasyncs`);
await cell.close();
await rm(dir, { recursive: true, force: true });
