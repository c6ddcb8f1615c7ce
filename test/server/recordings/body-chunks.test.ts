/**
 * Request bodies kept as the chunks they arrived in (src/server/recordings/body-chunks.ts): the parser
 * answers what Fastify's own would, a body's bytes are exactly what was sent however it was cut, and
 * a chunk that is a view into a larger buffer is copied before it is kept.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import fc from 'fast-check';
import { BodyChunks, chunkedBodyParser } from '../../../src/server/recordings/body-chunks.js';

const LIMIT = 512 * 1024;

async function echoServer(): Promise<FastifyInstance> {
  const app = Fastify();
  app.removeContentTypeParser('application/octet-stream');
  app.addContentTypeParser('application/octet-stream', chunkedBodyParser());
  app.put('/echo', { bodyLimit: LIMIT }, async (request) => {
    const body = request.body as BodyChunks;
    assert.ok(body instanceof BodyChunks);
    assert.equal(body.chunks.reduce((n, c) => n + c.length, 0), body.length, 'the chunks hold exactly the body');
    return { length: body.length, sha256: sha(body.bytes()), tail: body.length >= 16 ? body.tail(16).toString('hex') : null };
  });
  await app.ready();
  return app;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('BodyChunks', () => {
  it('joins any cut of the bytes into the same body, and its tail is the last bytes whichever chunks hold them', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 12 }), fc.nat(), (bytes, cuts, n) => {
        const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...at].map((from, i) => bytes.subarray(from, [...at, bytes.length][i]));
        const body = new BodyChunks(chunks, bytes.length);
        assert.deepEqual(Buffer.from(body.bytes()), Buffer.from(bytes));
        assert.equal(body.bytes(), body.bytes(), 'joined once');
        const k = n % (bytes.length + 1);
        assert.deepEqual(body.tail(k), Buffer.from(bytes.subarray(bytes.length - k)));
      }),
    );
    const one = randomBytes(100);
    assert.equal(new BodyChunks([one], 100).bytes(), one, 'a body of one chunk is that chunk, not a copy');
    assert.throws(() => new BodyChunks([one], 100).tail(101), RangeError);
  });

  it('slices any range of any cut into a body of exactly those bytes, sharing the memory rather than copying it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 12 }), fc.nat(), fc.nat(), (bytes, cuts, x, y) => {
        const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...at].map((from, i) => bytes.subarray(from, [...at, bytes.length][i]));
        const [start, end] = [x % (bytes.length + 1), y % (bytes.length + 1)].sort((a, b) => a - b) as [number, number];
        const slice = new BodyChunks(chunks, bytes.length).slice(start, end);
        assert.equal(slice.length, end - start);
        assert.deepEqual(Buffer.from(slice.bytes()), Buffer.from(bytes.subarray(start, end)));
        assert.ok(slice.chunks.every((c) => c.length > 0 && c.buffer === bytes.buffer), 'views into the body, no empty ones');
      }),
    );
    const body = new BodyChunks([randomBytes(10)], 10);
    assert.throws(() => body.slice(5, 11), RangeError);
    assert.throws(() => body.slice(6, 5), RangeError);
  });

  it('frees the chunks that are buffers of their own when released, leaves views into larger ones, and is not read again', () => {
    const own = () => Buffer.allocUnsafeSlow(20_000).fill(1);
    const larger = Buffer.allocUnsafeSlow(40_000).fill(2);
    const [a, b, view] = [own(), own(), larger.subarray(0, 20_000)];
    const body = new BodyChunks([a, view, b], 60_000);
    const slice = body.slice(10_000, 50_000);
    assert.equal(body.bytes().length, 60_000);
    body.release();
    assert.deepEqual([a.byteLength, b.byteLength, a.buffer.byteLength], [0, 0, 0], 'the memory of its own chunks is gone');
    assert.equal(view.byteLength, 20_000);
    assert.ok(view.every((x) => x === 2), 'a view into a larger buffer is left as it was');
    for (const read of [() => body.bytes(), () => body.tail(16), () => body.slice(0, 1)]) assert.throws(read, /released/);
    assert.equal(slice.chunks.reduce((n, c) => n + c.length, 0), 20_000, "a slice's views of the freed chunks read as empty");
  });
});

describe('chunkedBodyParser', () => {
  it('gives each body exactly its bytes, and its last 16 bytes', async () => {
    const app = await echoServer();
    try {
      const sizes = [250_016, 200_000, 131_072, 125_016, 70_000, 65_537, 40_000, 17_000, 25_016, 16_385, 16, 1];
      for (const size of sizes) {
        const body = randomBytes(size);
        const res = await app.inject({ method: 'PUT', url: '/echo', headers: { 'content-type': 'application/octet-stream' }, payload: body });
        assert.equal(res.statusCode, 200, res.body);
        assert.deepEqual(res.json(), { length: size, sha256: sha(body), tail: size >= 16 ? body.subarray(size - 16).toString('hex') : null });
      }
    } finally {
      await app.close();
    }
  });

  it('keeps a chunk that is a view into a larger buffer as a copy, and a buffer of its own as it is', async () => {
    const backing = randomBytes(64 * 1024);
    const view = backing.subarray(1000, 41_000);
    const own = randomBytes(30_000);
    const expected = Buffer.concat([view, own]);
    const body = await new Promise<BodyChunks>((resolve, reject) => {
      const request = { routeOptions: { bodyLimit: LIMIT }, headers: { 'content-length': String(expected.length) } } as unknown as FastifyRequest;
      const payload = Readable.from([view, own], { objectMode: false }) as unknown as IncomingMessage;
      chunkedBodyParser()(request, payload, (error, parsed) => (error || !parsed ? reject(error) : resolve(parsed)));
    });
    backing.fill(0);
    assert.deepEqual(Buffer.from(body.bytes()), expected, 'the view was copied: changing its buffer changes nothing kept');
    assert.equal(body.chunks[1], own, 'a buffer of its own is kept, not copied');
    assert.notEqual(body.chunks[0]?.buffer, backing.buffer);
  });

  it('answers as Fastify does: 413 past the limit, declared or received; 400 when the body ends short of its Content-Length; a body without a length is read whole', async () => {
    const app = await echoServer();
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as { port: number }).port;
    /** Sends a raw request and returns the status code; `end` false leaves the body short and half-closes. */
    const raw = (head: string, body: Buffer) =>
      new Promise<number>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        let reply = '';
        socket.on('data', (d) => (reply += d.toString('latin1')));
        socket.on('error', reject);
        socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0)));
        socket.write(head);
        socket.end(body);
      });
    try {
      const tooLong = await app.inject({ method: 'PUT', url: '/echo', headers: { 'content-type': 'application/octet-stream' }, payload: randomBytes(LIMIT + 1) });
      assert.equal(tooLong.statusCode, 413);
      assert.equal(tooLong.json().code, 'FST_ERR_CTP_BODY_TOO_LARGE');
      const declaredTooLong = await raw(`PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${LIMIT + 1}\r\nConnection: close\r\n\r\n`, Buffer.alloc(10));
      assert.equal(declaredTooLong, 413);
      const short = await raw('PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n', randomBytes(60_000));
      assert.ok(short === 400 || short === 0, `a body cut short is refused or the connection dropped, never accepted: ${short}`);
      const body = randomBytes(70_000);
      const chunked = `PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`;
      const framed = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
      assert.equal(await raw(chunked, framed), 200);
      const overChunked = Buffer.concat([Buffer.from(`${(LIMIT + 10).toString(16)}\r\n`), randomBytes(LIMIT + 10), Buffer.from('\r\n0\r\n\r\n')]);
      assert.equal(await raw(chunked, overChunked), 413);
    } finally {
      await app.close();
    }
  });
});
