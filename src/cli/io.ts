/**
 * Reading the CLI's inputs and writing to stdout. Every read names the role of the file (key file,
 * input, passphrase file) so an error says which of the user's paths is wrong and how to fix it.
 * `-` means stdin wherever an input path is accepted.
 */
import { open, readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { CliError } from './errors.js';

/** Bytes read per chunk from a file: large enough that syscalls are not the cost of sealing. */
const READ_CHUNK = 1024 * 1024;

/** What a file is for, and the fix to suggest when it cannot be read. */
export interface FileRole {
  /** e.g. "key file", "input". */
  readonly name: string;
  /** The hint when the file does not exist. */
  readonly missingHint: string;
}

function readFailure(path: string, role: FileRole, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new CliError('EV_ERR_CLI_FILE_NOT_FOUND', `cannot read ${role.name} '${path}': no such file`, role.missingHint);
  if (code === 'EISDIR') return new CliError('EV_ERR_CLI_IO', `cannot read ${role.name} '${path}': it is a directory`, 'pass a file, not a directory');
  if (code === 'EACCES' || code === 'EPERM') {
    return new CliError('EV_ERR_CLI_IO', `cannot read ${role.name} '${path}': permission denied`, 'check the file\'s permissions');
  }
  return e;
}

/** Adapts a Node byte stream (an async iterable of Buffers) to a Web ReadableStream for the crypto core. */
function webStream(source: Readable, path: string, role: FileRole): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await iterator.next();
      } catch (e) {
        throw readFailure(path, role, e);
      }
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}

/**
 * Opens an input (a path, or `-` for stdin) as a stream. A file is opened before returning, so a
 * missing file fails here with a clear message rather than mid-pipeline.
 */
export async function openInput(path: string, role: FileRole): Promise<ReadableStream<Uint8Array>> {
  if (path === '-') return webStream(process.stdin, 'stdin', role);
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    throw readFailure(path, role, e);
  }
  return webStream(handle.createReadStream({ highWaterMark: READ_CHUNK }), path, role);
}

/** Reads a whole input (a path, or `-` for stdin) into memory. */
export async function readInput(path: string, role: FileRole): Promise<Uint8Array> {
  if (path === '-') {
    const chunks: Uint8Array[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Uint8Array);
    return Buffer.concat(chunks);
  }
  try {
    return await readFile(path);
  } catch (e) {
    throw readFailure(path, role, e);
  }
}

/** Reads and parses a JSON file (a key file). */
export async function readJsonFile(path: string, role: FileRole): Promise<unknown> {
  const text = new TextDecoder().decode(await readInput(path, role));
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CliError('EV_ERR_CLI_NOT_JSON', `${role.name} '${path}' is not JSON`, role.missingHint);
  }
}

/**
 * Writes chunks to stdout, waiting for each to be accepted so a large output does not pile up in
 * memory, and rejecting on a write error (a closed pipe) instead of crashing the process.
 */
export async function writeStdout(chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void> {
  const out = process.stdout;
  let failure: Error | null = null;
  const onError = (e: Error) => {
    failure = e;
  };
  out.on('error', onError);
  try {
    for await (const chunk of chunks) {
      if (failure) break;
      if (chunk.length === 0) continue;
      await new Promise<void>((resolve, reject) => out.write(chunk, (e) => (e ? reject(e) : resolve())));
    }
  } finally {
    out.off('error', onError);
  }
  if (failure) throw failure;
}

/** A value as the CLI prints JSON (to stdout or into a key file): two-space indent, one final newline. */
export function jsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints a value as JSON on stdout: the output of `inspect` and of the operator commands. */
export function writeJson(value: unknown): Promise<void> {
  return writeStdout([jsonBytes(value)]);
}

/** Iterates a Web ReadableStream (Node 20's types do not make it async-iterable under the DOM lib). */
export async function* chunksOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}
