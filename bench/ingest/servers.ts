/**
 * Starts the three servers under test as child processes, each on the core the load generator does
 * not use, and stops them. ExamVault runs from dist/ (the compiled server `npm start` runs, with no
 * loader in the way); the peers run from bench/ingest/peer-server.ts under tsx, which only
 * transpiles at load time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { ServerKind } from './options.js';

export interface RunningServer {
  readonly kind: ServerKind;
  readonly pid: number;
  readonly port: number;
  /** Everything the child wrote to stderr so far (warnings, a crash). */
  stderr(): string;
  /** SIGTERM, then waits for the exit (SIGKILL after 20 s). Resolves to the exit code. */
  stop(): Promise<number | null>;
}

export interface StartOptions {
  readonly kind: ServerKind;
  readonly root: string;
  readonly host: string;
  /** ExamVault: its data directory. tus: the file store's directory. */
  readonly dataDir: string;
  readonly certPath: string;
  readonly keyPath: string;
  /** CPU to pin the server to, or null. */
  readonly cpu: number | null;
  /** ExamVault only: write a V8 CPU profile here when the server exits. */
  readonly cpuProfDir?: string | null;
}

export async function freePort(host: string): Promise<number> {
  const probe = createServer();
  probe.listen(0, host);
  await once(probe, 'listening');
  const address = probe.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  probe.close();
  await once(probe, 'close');
  return port;
}

function childEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EXAMVAULT_') && !k.startsWith('BENCH_') && k !== 'NODE_OPTIONS') env[k] = v;
  return { ...env, ...extra };
}

export async function startServer(o: StartOptions): Promise<RunningServer> {
  const port = await freePort(o.host);
  let args: string[];
  let env: NodeJS.ProcessEnv;
  if (o.kind === 'examvault') {
    const prof = o.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`] : [];
    args = [...prof, join(o.root, 'dist/server/main.js')];
    env = childEnvironment({ EXAMVAULT_DATA_DIR: o.dataDir, EXAMVAULT_HOST: o.host, EXAMVAULT_PORT: String(port), EXAMVAULT_LOG_LEVEL: 'silent' });
  } else {
    args = ['--import', 'tsx', join(o.root, 'bench/ingest/peer-server.ts'), o.kind];
    env = childEnvironment({ BENCH_HOST: o.host, BENCH_PORT: String(port), BENCH_CERT: o.certPath, BENCH_KEY: o.keyPath, BENCH_DIR: o.dataDir });
  }
  // taskset execs node in place, so the child's pid is the server's.
  const child: ChildProcess = o.cpu === null
    ? spawn(process.execPath, args, { cwd: o.root, env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('taskset', ['-c', String(o.cpu), process.execPath, ...args], { cwd: o.root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;

  const deadline = Date.now() + 60_000;
  while (!/listening on/.test(stdout)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${o.kind} server exited before listening:\n${stdout}${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${o.kind} server did not start within 60 s:\n${stdout}${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    kind: o.kind,
    pid: child.pid as number,
    port,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const [code] = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
