/**
 * The two peers the ingest benchmark measures ExamVault against, each run as its own child process
 * (so its CPU time and memory can be read from /proc) over HTTPS with ExamVault's own TLS settings
 * (src/server/tls/tls-options.ts) and the same certificate:
 *
 *   discard  a bare node:https server that reads each request body, throws it away and answers 201:
 *            the cost of HTTPS and HTTP/1.1 alone, a ceiling no real ingest server can pass.
 *   tus      @tus/server with @tus/file-store, the off-the-shelf resumable-upload server. Each segment
 *            is one tus upload made with the creation-with-upload extension: one POST carrying
 *            Upload-Length and the whole body, answered 201 with Upload-Offset = length. The file
 *            store writes the data file and a JSON metadata file and does not fsync either, so its
 *            201 means "handed to the page cache", not "durable": a flattering comparison for tus.
 *
 * Usage: node --import tsx bench/ingest/peer-server.ts discard|tus
 * Environment: BENCH_HOST, BENCH_PORT, BENCH_CERT and BENCH_KEY (PEM files), BENCH_DIR (tus only).
 * Prints `listening on https://host:port` once ready; SIGTERM closes it.
 */
import { readFileSync } from 'node:fs';
import { type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { FileStore } from '@tus/file-store';
import { Server as TusServer } from '@tus/server';
import { tlsOptions } from '../../src/server/tls/tls-options.js';

const kind = process.argv[2];
const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

let handler: (req: IncomingMessage, res: ServerResponse) => void;
if (kind === 'discard') {
  handler = (req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      res.writeHead(201, { 'content-length': '0' });
      res.end();
    });
  };
} else if (kind === 'tus') {
  const tus = new TusServer({ path: '/files', datastore: new FileStore({ directory: env('BENCH_DIR') }), relativeLocation: true });
  handler = (req, res) => {
    void tus.handle(req, res);
  };
} else {
  throw new Error('usage: peer-server.ts discard|tus');
}

const server = createServer(tlsOptions({ certPem: readFileSync(env('BENCH_CERT'), 'utf8'), keyPem: readFileSync(env('BENCH_KEY'), 'utf8') }), handler);
// Fastify's defaults, which the ExamVault server runs with: idle keep-alive connections live 72 s.
server.keepAliveTimeout = 72_000;
server.headersTimeout = 73_000;
const host = env('BENCH_HOST');
server.listen(Number(env('BENCH_PORT')), host, () => {
  process.stdout.write(`${kind} listening on https://${host}:${env('BENCH_PORT')}\n`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
