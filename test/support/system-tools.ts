/**
 * Tests that need a system program (Chromium, sslscan, curl, PostgreSQL, Ceph) find it here. In CI
 * (CI=true) a missing program fails the test; on a developer machine the test is skipped with the
 * exact install command, so a missing tool is never mistaken for a pass.
 */
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';

export interface SystemTool {
  readonly name: string;
  readonly candidates: readonly string[];
  readonly install: string;
}

export const chromiumTool: SystemTool = {
  name: 'Chromium',
  candidates: ['/usr/lib/chromium/chromium', '/usr/bin/chromium'],
  install: 'apt-get install chromium',
};

export const sslscanTool: SystemTool = {
  name: 'sslscan',
  candidates: ['/usr/bin/sslscan'],
  install: 'apt-get install sslscan',
};

export const testsslTool: SystemTool = {
  name: 'testssl.sh',
  candidates: ['/usr/bin/testssl'],
  install: 'apt-get install testssl.sh',
};

export const curlTool: SystemTool = {
  name: 'curl',
  candidates: ['/usr/bin/curl'],
  install: 'apt-get install curl',
};

export function findTool(tool: SystemTool): string | null {
  return tool.candidates.find((p) => existsSync(p)) ?? null;
}

/** Returns the tool's path, or (off CI) skips the test saying what to install; in CI it throws. */
export function requireTool(t: TestContext, tool: SystemTool): string | null {
  const path = findTool(tool);
  if (path) return path;
  const message = `${tool.name} is not installed: run \`${tool.install}\``;
  if (process.env.CI === 'true') throw new Error(`${message} (required in CI)`);
  t.skip(message);
  return null;
}
