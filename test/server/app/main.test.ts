/**
 * The server entry point as an operator meets it: scripted runs of src/server/main.ts checking the
 * `error:` / `hint:` lines and exit status of a bad start, and a real start that serves HTTPS with the
 * generated certificate and stops cleanly on SIGTERM.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { get } from 'node:https';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../support/server-process.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const mainTs = join(root, 'src/server/main.ts');
// Resolved here, because the child runs in a temporary directory (to find no examvault.config.json).
const tsxLoader = import.meta.resolve('tsx');

/** The environment without any EXAMVAULT_* the developer may have set. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EXAMVAULT_')));
  return { ...env, EXAMVAULT_LOG_LEVEL: 'warn', ...extra };
}

function startMain(args: readonly string[], env: Record<string, string>, cwd: string): ChildProcess {
  return spawn(process.execPath, ['--import', tsxLoader, mainTs, ...args], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
}

async function runMain(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = startMain(args, env, mkdtempSync(join(tmpdir(), 'ev-main-')));
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}


/**
 * What main prints for people, without the server's JSON log lines (run from source, the apps are
 * not built, and the log says so at start).
 */
function printed(stdout: string): string {
  return stdout.split('\n').filter((line) => !line.startsWith('{"level":')).join('\n');
}

/** One `error:` line naming the code, one `hint:` line, nothing else. */
function assertFailure(run: { code: number | null; stderr: string; stdout: string }, code: string): void {
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, new RegExp(`^error: [^\\n]+ \\(${code}\\)\\nhint: [^\\n]+\\n$`));
  assert.equal(printed(run.stdout), '');
}

describe('server main', () => {
  it('exits 1 with error: and hint: on an invalid setting', async () => {
    const run = await runMain([], { EXAMVAULT_PORT: '99999' });
    assertFailure(run, 'EV_ERR_CONFIG_INVALID');
    assert.match(run.stderr, /EXAMVAULT_PORT/);
  });

  it('exits 1 on an unknown argument', async () => {
    assertFailure(await runMain(['--port', '1']), 'EV_ERR_CONFIG_USAGE');
  });

  it('exits 1 when the configuration file named does not exist', async () => {
    assertFailure(await runMain(['--config', 'nope.json']), 'EV_ERR_CONFIG_FILE_NOT_FOUND');
  });

  it('exits 1 when certificate files cannot be read', async () => {
    assertFailure(await runMain([], { EXAMVAULT_TLS_MODE: 'files', EXAMVAULT_TLS_CERT: '/nonexistent/cert.pem', EXAMVAULT_TLS_KEY: '/nonexistent/key.pem' }), 'EV_ERR_CONFIG_TLS_UNREADABLE');
  });

  it('exits 1 when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      const run = await runMain([], { EXAMVAULT_HOST: '127.0.0.1', EXAMVAULT_PORT: String(port), EXAMVAULT_DATA_DIR: mkdtempSync(join(tmpdir(), 'ev-main-data-')) });
      assertFailure(run, 'EV_ERR_SERVER_LISTEN');
      assert.match(run.stderr, /EXAMVAULT_PORT/);
    } finally {
      blocker.close();
    }
  });

  it('prints its usage with --help', async () => {
    const run = await runMain(['--help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^usage: /);
  });

  it('serves HTTPS with the generated certificate, announces its fingerprint, and stops on SIGTERM', { timeout: 30_000 }, async () => {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'ev-main-data-'));
    const child = startMain([], { EXAMVAULT_HOST: '127.0.0.1', EXAMVAULT_PORT: String(port), EXAMVAULT_DATA_DIR: dataDir, EXAMVAULT_TLS_MOD: 'typo' }, dataDir);
    let stdout = '';
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on('data', (d: Buffer) => {
          stdout += d.toString();
          if (/SHA-256 fingerprint: .+\n/.test(stdout)) resolve();
        });
        child.on('close', () => reject(new Error(`exited early:\n${stdout}\n${stderr}`)));
      });
      assert.match(printed(stdout), new RegExp(`^ExamVault listening on https://127\\.0\\.0\\.1:${port}\\n`));
      assert.match(stdout, /SHA-256 fingerprint: ([0-9A-F]{2}:){31}[0-9A-F]{2}\n/);
      assert.match(stderr, /^warning: EXAMVAULT_TLS_MOD is not an ExamVault server setting/m);

      const ca = readFileSync(join(dataDir, 'tls', 'localhost.crt'));
      const res = await new Promise<{ status?: number; hsts: unknown; body: string }>((resolve, reject) => {
        get({ host: '127.0.0.1', port, path: '/healthz', ca }, (r) => {
          let body = '';
          r.on('data', (d: Buffer) => (body += d.toString()));
          r.on('end', () => resolve({ status: r.statusCode, hsts: r.headers['strict-transport-security'], body }));
        }).on('error', reject);
      });
      assert.deepEqual(res, { status: 200, hsts: 'max-age=31536000; includeSubDomains', body: '{"status":"ok"}' });
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, stderr);
  });
});
