/**
 * The two halves of the storage crash tests: running fixtures/crash-writer.ts until a random SIGKILL
 * (collecting what it acknowledged), and telling a whole object of the writer from a partial one.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { BlobStore } from '../../../src/server/storage/blob-store.js';
import { sha256 } from './blob-store.contract.js';

const writer = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));

export interface Ack {
  readonly hash: string;
  readonly seq: number;
}

/** Runs the writer until `ready`, lets it write for a random while, kills it; returns its acks. */
export async function runAndKill(root: string, run: number, kind: string): Promise<Array<[string, Ack]>> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', writer, root, String(run), kind], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      output += chunk;
      if (output.startsWith('ready\n')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`writer exited early (${code}) before writing`)));
  });
  await new Promise((resolve) => setTimeout(resolve, randomInt(150, 700)));
  child.kill('SIGKILL');
  await exited;
  // The last line may have been cut by the kill: only complete lines count.
  const lines = output.split('\n').slice(1, -1);
  return lines.map((line) => {
    const [key, hash, seq] = line.split(' ');
    assert.ok(key && hash && seq, `malformed line ${JSON.stringify(line)}`);
    return [key, { hash, seq: Number(seq) }];
  });
}

/** The object format of the writer: seq (8 bytes) || body || sha256(seq || body). */
export function wholeObject(bytes: Uint8Array): { seq: number } | null {
  if (bytes.length < 40) return null;
  const content = bytes.subarray(0, bytes.length - 32);
  const digest = createHash('sha256').update(content).digest();
  if (!digest.equals(bytes.subarray(bytes.length - 32))) return null;
  return { seq: Number(Buffer.from(content.buffer, content.byteOffset, 8).readBigUInt64BE(0)) };
}

/** Every acknowledged object reads back with its hash; every hot key holds a whole object no older than its last acknowledgement. */
export async function assertAcknowledged(store: BlobStore, once: ReadonlyMap<string, Ack>, hot: ReadonlyMap<string, number>): Promise<void> {
  for (const [key, ack] of once) {
    const bytes = await store.get(key);
    assert.ok(bytes, `acknowledged object ${key} is missing`);
    assert.equal(sha256(bytes), ack.hash, `acknowledged object ${key} changed`);
  }
  for (const [key, seq] of hot) {
    const bytes = await store.get(key);
    assert.ok(bytes, `hot key ${key} is missing`);
    const whole = wholeObject(bytes);
    assert.ok(whole, `hot key ${key} holds a partial object`);
    assert.ok(whole.seq >= seq, `hot key ${key} went back to seq ${whole.seq} after ${seq} was acknowledged`);
  }
}
