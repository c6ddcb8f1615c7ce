/**
 * The real server as a child process (`src/server/main.ts`), for tests that kill and restart it, and an
 * HTTPS client that trusts its self-signed certificate (created beforehand in the data directory).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:https';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ensureLocalCertificate } from '../../../src/server/tls/local-certificate.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

export async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

export interface HttpsResponse {
  readonly status: number;
  readonly body: Buffer;
  json<T = unknown>(): T;
}

export interface ServerProcess {
  readonly port: number;
  readonly child: ChildProcess | null;
  start(): Promise<void>;
  kill(): Promise<void>;
  stop(): Promise<void>;
  request(method: string, path: string, headers?: Record<string, string>, body?: Uint8Array | string): Promise<HttpsResponse>;
}

export async function serverProcess(dataDir: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const port = await freePort();
  const cert = await ensureLocalCertificate(dataDir);
  const agent = new Agent({ keepAlive: true, maxSockets: 64, ca: cert.certPem, servername: 'localhost' });
  let child: ChildProcess | null = null;
  let exited: Promise<unknown> | null = null;

  const send = (method: string, path: string, headers: Record<string, string> = {}, body?: Uint8Array | string) =>
    new Promise<HttpsResponse>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const b = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, body: b, json: <T>() => JSON.parse(b.toString('utf8')) as T });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    });

  const proc: ServerProcess = {
    port,
    get child() {
      return child;
    },
    async start() {
      child = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
        cwd: repoRoot,
        env: { ...process.env, EXAMVAULT_DATA_DIR: dataDir, EXAMVAULT_PORT: String(port), EXAMVAULT_HOST: '127.0.0.1', EXAMVAULT_LOG_LEVEL: 'silent', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdout?.resume();
      exited = once(child, 'exit');
      const deadline = Date.now() + 30_000;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${stderr}`);
        try {
          if ((await send('GET', '/healthz')).status === 200) return;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline) throw new Error(`server did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async kill() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
      agent.destroy();
    },
    async stop() {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      agent.destroy();
    },
    request: send,
  };
  return proc;
}
