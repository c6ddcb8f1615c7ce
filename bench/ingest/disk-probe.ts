/**
 * The disk alone, at the ingest benchmark's rate, with no server: every 10 ms one write of
 * `rate` / 100 MB to a file in the directory the benchmark's servers use (the OS temporary
 * directory), then an fdatasync, as the log store's batches go (storage/blob-store.log.ts). Prints the
 * distribution of the write + fdatasync time and every spell over 100 ms.
 *
 * A paced run that stalls with its server idle is waiting on the disk (docs/BENCHMARKS.md, "Stalls");
 * this says whether the disk by itself stalls at that rate on this machine at this time.
 *
 *   node --import tsx bench/ingest/disk-probe.ts [seconds=60] [MB/s=200] [direct|buffered]
 */
import { constants } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { hardwareLine } from '../hardware.js';

const seconds = Number(process.argv[2] ?? 60);
const rate = Number(process.argv[3] ?? 200);
const mode = process.argv[4] ?? 'direct';
if (!(seconds > 0) || !(rate > 0) || !['direct', 'buffered'].includes(mode)) {
  console.error('usage: node --import tsx bench/ingest/disk-probe.ts [seconds=60] [MB/s=200] [direct|buffered]');
  process.exit(2);
}

const PERIOD_MS = 10;
const BLOCK = 4096;
/** Where the file wraps around, so a long probe does not fill the disk. */
const FILE_BYTES = 2 * 1024 ** 3;
const SLOW_MS = 100;

// Direct I/O wants memory aligned to the block, which Node's buffers are not promised to be.
const directIo = createRequire(import.meta.url)('@ronomon/direct-io') as { getAlignedBuffer(size: number, alignment: number): Buffer };
const size = Math.max(BLOCK, Math.round((rate * 1e6 * PERIOD_MS) / 1000 / BLOCK) * BLOCK);
const buffer = directIo.getAlignedBuffer(size, BLOCK).fill(0x5a);

const dir = await mkdtemp(join(tmpdir(), 'examvault-disk-probe-'));
const flags = constants.O_CREAT | constants.O_WRONLY | (mode === 'direct' ? constants.O_DIRECT : 0);
const file = await open(join(dir, 'probe'), flags, 0o600);
const times: number[] = [];
const slow: string[] = [];
try {
  const t0 = performance.now();
  let at = 0;
  let shown = 0;
  while (performance.now() - t0 < seconds * 1000) {
    const start = performance.now();
    await file.write(buffer, 0, size, at);
    const written = performance.now();
    await file.datasync();
    const end = performance.now();
    at = at + size > FILE_BYTES ? 0 : at + size;
    times.push(end - start);
    if (end - start > SLOW_MS) slow.push(`  at ${((start - t0) / 1000).toFixed(1)} s: write ${(written - start).toFixed(0)} ms, fdatasync ${(end - written).toFixed(0)} ms`);
    const done = Math.floor((end - t0) / 1000);
    if (done > shown && done % 10 === 0) {
      shown = done;
      process.stderr.write(`  ${done} s of ${seconds}\n`);
    }
    const wait = PERIOD_MS - (performance.now() - start);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
} finally {
  await file.close();
  await rm(dir, { recursive: true, force: true });
}

const sorted = Float64Array.from(times).sort();
const q = (p: number) => (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number).toFixed(1);
const mbps = (times.length * size) / 1e6 / seconds;
console.log(hardwareLine());
console.log(`disk probe (${mode} I/O): ${times.length} writes of ${(size / 1e6).toFixed(2)} MB, each then fdatasynced, every ${PERIOD_MS} ms: ${mbps.toFixed(0)} MB/s of ${rate} asked`);
console.log(`  write + fdatasync: p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, p99.9 ${q(0.999)} ms, max ${(sorted[sorted.length - 1] as number).toFixed(0)} ms; ${slow.length} over ${SLOW_MS} ms`);
for (const line of slow) console.log(line);
