/**
 * npm run bench:crypto — seals and opens 256 MiB in 1 MiB segments and compares with raw WebCrypto
 * AES-256-GCM over the same bytes and segment size, measured in the same run, in Node and then in
 * headless Chromium (the same measurement code, bundled). Prints MB/s and the ratios.
 *
 * Target: seal and open each ≥ 0.90 of raw in Node; the Chromium figures are measured and printed.
 * Options: --mib N (total size, default 256), --rounds N (default 7), --node-only.
 */
import { bundleForBrowser } from '../test/browser/bundle.js';
import { startBrowserPage } from '../test/support/browser.js';
import { chromiumTool, findTool } from '../test/support/system-tools.js';
import { type CryptoBenchResult, runCryptoBench } from './crypto/measure.js';
import { hardwareLine } from './hardware.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const totalMiB = option('mib', 256);
const rounds = option('rounds', 7);
const SEGMENT = 1024 * 1024;
const TARGET = 0.9;

function report(where: string, r: CryptoBenchResult, target: number | null): boolean {
  const verdict = (ratio: number) => (target === null ? '' : ratio >= target ? `  (target ≥ ${target}: met)` : `  (target ≥ ${target}: NOT met)`);
  console.log(`\n${where}: ${r.totalBytes / 2 ** 20} MiB in ${r.segmentBytes / 2 ** 20} MiB segments, median of ${r.rounds} interleaved rounds`);
  console.log(`  raw AES-256-GCM encrypt  ${r.rawEncryptMBps.toFixed(0).padStart(6)} MB/s`);
  console.log(`  seal (sealing stream)    ${r.sealMBps.toFixed(0).padStart(6)} MB/s   ratio ${r.sealRatio.toFixed(3)}${verdict(r.sealRatio)}`);
  console.log(`  raw AES-256-GCM decrypt  ${r.rawDecryptMBps.toFixed(0).padStart(6)} MB/s`);
  console.log(`  open (opening stream)    ${r.openMBps.toFixed(0).padStart(6)} MB/s   ratio ${r.openRatio.toFixed(3)}${verdict(r.openRatio)}`);
  console.log(`  the streams keep 2 segments in flight (their default); the raw baseline encrypts one at a time.`);
  console.log(`  with 1 in flight: seal ratio ${r.sealSerialRatio.toFixed(3)}, open ratio ${r.openSerialRatio.toFixed(3)}`);
  return target === null || (r.sealRatio >= target && r.openRatio >= target);
}

console.log(`ExamVault crypto benchmark — ${hardwareLine()}`);
const node = await runCryptoBench(totalMiB * SEGMENT, SEGMENT, rounds, (s) => console.log(`  [node] ${s}`));
const nodeMet = report('Node', node, TARGET);

if (!args.includes('--node-only')) {
  const chromium = findTool(chromiumTool);
  if (!chromium) {
    console.log(`\nChromium: not measured — ${chromiumTool.name} is not installed (${chromiumTool.install})`);
  } else {
    const bundle = await bundleForBrowser({
      contents: `import { runCryptoBench } from './bench/crypto/measure.ts';
        globalThis.runCryptoBench = runCryptoBench;
        globalThis.chromiumVersion = navigator.userAgent;`,
      resolveDir: process.cwd(),
    }, { name: 'bench.js' });
    const page = await startBrowserPage(chromium, {
      files: {
        '/': `<!doctype html><meta charset="utf-8"><script type="module" src="/bench.js"></script>`,
        '/bench.js': bundle.code,
        '/bench.js.map': bundle.map,
      },
    }, (m) => console.log(`  [chromium] ${m}`));
    try {
      await page.page.waitForFunction(() => 'runCryptoBench' in globalThis);
      await page.page.exposeFunction('benchLog', (s: string) => console.log(`  [chromium] ${s}`));
      const result = await page.page.evaluate(
        ([total, segment, n]) => (globalThis as unknown as { runCryptoBench: typeof runCryptoBench }).runCryptoBench(total as number, segment as number, n as number, (s) => (globalThis as unknown as { benchLog(s: string): void }).benchLog(s)),
        [totalMiB * SEGMENT, SEGMENT, rounds],
      );
      report(`Chromium (${await page.browser.version()}, headless)`, result, null);
    } finally {
      await page.close();
    }
  }
}
process.exitCode = nodeMet ? 0 : 1;
