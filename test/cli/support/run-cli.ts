/**
 * Running the `examvault` command as a subprocess for golden tests: from the repository root, stdin a
 * pipe (never a terminal), and an environment with no `EXAMVAULT_*` variable of the developer's shell
 * (a passphrase, a data directory, a config file) leaking in; a test passes the ones it means.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../..', import.meta.url));
const main = join(root, 'src/cli/main.ts');

export interface Run {
  readonly status: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('EXAMVAULT_')) delete env[name];
  delete env.NODE_TEST_CONTEXT;
  return { ...env, ...extra };
}

/** Runs the CLI; stdin is a pipe, fed `input` or closed at once. `closeStdout`: stdout's reader goes away before any output. */
export function cli(args: readonly string[], options: { input?: Uint8Array; env?: Record<string, string>; closeStdout?: boolean } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], { cwd: root, env: childEnv(options.env ?? {}) });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    if (options.closeStdout) child.stdout.destroy();
    else child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.end(options.input ?? new Uint8Array(0));
  });
}

/** What a run printed, for a failure message: a status that says nothing else is then diagnosable. */
export function printed(run: Run): string {
  const stdout = run.stdout.toString('utf8');
  return `stdout (${run.stdout.length} bytes): ${stdout.slice(0, 2000)}\nstderr: ${run.stderr.slice(0, 4000)}`;
}

export function assertSuccess(run: Run): void {
  assert.equal(run.status, 0, `expected success, got ${run.status}\n${printed(run)}`);
}

/** Exactly one error line carrying `code`, then one non-empty hint line, and a non-zero status. */
export function assertFailure(run: Run, code: string, status?: number): void {
  assert.notEqual(run.status, 0, `expected a failure\n${printed(run)}`);
  if (status !== undefined) assert.equal(run.status, status, printed(run));
  const lines = run.stderr.trimEnd().split('\n');
  const errors = lines.filter((l) => l.startsWith('error: '));
  const hints = lines.filter((l) => l.startsWith('hint: '));
  assert.equal(errors.length, 1, `one error line expected in:\n${run.stderr}`);
  assert.equal(hints.length, 1, `one hint line expected in:\n${run.stderr}`);
  assert.ok(errors[0]?.endsWith(`(${code})`), `expected ${code} in: ${errors[0]}`);
  assert.ok((hints[0]?.length ?? 0) > 'hint: '.length + 10, 'the hint says something');
  assert.equal(lines.indexOf(hints[0] as string), lines.indexOf(errors[0] as string) + 1, 'the hint follows the error');
}
