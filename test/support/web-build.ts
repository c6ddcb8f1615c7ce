/**
 * The browser apps, built by the tests themselves (scripts/build-web.mjs) into a temporary directory
 * once per test process, so `npm test` on a clean clone needs no prior `npm run build` and never
 * serves a stale dist/web.
 */
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWebApps } from '../../scripts/build-web.mjs';

let built: Promise<string> | null = null;

export function builtWebApps(): Promise<string> {
  built ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'examvault-web-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    return buildWebApps(join(dir, 'web'), { quiet: true });
  })();
  return built;
}
