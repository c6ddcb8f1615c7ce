/**
 * Segment bodies read into reused buffers (src/server/recordings/body-pool.ts): the parser answers
 * what Fastify's own would, a buffer goes back to the pool once its response is sent, and a reused
 * buffer never lets an earlier body's bytes into a later one.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { BodyPool, pooledBodyParser } from '../../../src/server/recordings/body-pool.js';

const LIMIT = 512 * 1024;

async function echoServer(pool: BodyPool): Promise<{ app: FastifyInstance; given: () => number }> {
  const app = Fastify();
  const pooled = new WeakMap<FastifyRequest, Buffer>();
  let given = 0;
  app.removeContentTypeParser('application/octet-stream');
  app.addContentTypeParser('application/octet-stream', pooledBodyParser(pool, (request, buffer) => pooled.set(request, buffer)));
  app.addHook('onResponse', async (request) => {
    const buffer = pooled.get(request);
    if (buffer) {
      given++;
      pool.give(buffer);
    }
  });
  app.put('/echo', { bodyLimit: LIMIT }, async (request) => {
    const body = request.body as Buffer;
    return { length: body.length, sha256: createHash('sha256').update(body).digest('hex') };
  });
  await app.ready();
  return { app, given: () => given };
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('BodyPool', () => {
  it('hands out power-of-two buffers from 16 KiB to 4 MiB, reuses what comes back, and keeps no more than its cap', () => {
    const pool = new BodyPool(600 * 1024);
    const small = pool.take(2000);
    assert.equal(small.pooled, false);
    assert.equal(small.buffer.length, 2000);
    const huge = pool.take(5 * 1024 * 1024);
    assert.equal(huge.pooled, false);
    const a = pool.take(125_016);
    assert.equal(a.pooled, true);
    assert.equal(a.buffer.length, 128 * 1024);
    pool.give(a.buffer);
    assert.equal(pool.idle, 128 * 1024);
    assert.equal(pool.take(100_000).buffer, a.buffer, 'the same class reuses the buffer given back');
    assert.equal(pool.idle, 0);
    const many = [pool.take(250_016), pool.take(250_016), pool.take(250_016)];
    for (const t of many) pool.give(t.buffer);
    assert.equal(pool.idle, 512 * 1024, 'the third 256 KiB buffer is past the 600 KiB cap and dropped');
    pool.give(small.buffer);
    pool.give(huge.buffer);
    assert.equal(pool.idle, 512 * 1024, 'buffers that are not of a pooled class are not kept');
  });
});

describe('pooledBodyParser', () => {
  it('gives each body exactly its bytes, through reused buffers, and every buffer back after its response', async () => {
    const pool = new BodyPool(8 * 1024 * 1024);
    const { app, given } = await echoServer(pool);
    try {
      // Larger bodies first, then smaller ones into the same buffers: no byte of an earlier body may show.
      const sizes = [250_016, 200_000, 131_072, 125_016, 70_000, 65_537, 40_000, 17_000, 25_016, 16_385];
      for (let round = 0; round < 3; round++) {
        for (const size of sizes) {
          const body = randomBytes(size);
          const res = await app.inject({ method: 'PUT', url: '/echo', headers: { 'content-type': 'application/octet-stream' }, payload: body });
          assert.equal(res.statusCode, 200, res.body);
          assert.deepEqual(res.json(), { length: size, sha256: sha(body) });
        }
      }
      assert.equal(given(), 30, 'every pooled body went back');
      assert.ok(pool.idle > 0 && pool.idle <= (256 + 256 + 128 + 128 + 128 + 128 + 64 + 32 + 32 + 32) * 1024, `${pool.idle} bytes idle`);
      // Concurrent bodies never share a buffer.
      const bodies = Array.from({ length: 24 }, (_, i) => randomBytes(20_000 + i * 9_000));
      const answers = await Promise.all(bodies.map((b) => app.inject({ method: 'PUT', url: '/echo', headers: { 'content-type': 'application/octet-stream' }, payload: b })));
      answers.forEach((res, i) => assert.deepEqual(res.json(), { length: bodies[i]?.length, sha256: sha(bodies[i] as Buffer) }));
    } finally {
      await app.close();
    }
  });

  it('answers as Fastify does: 413 past the limit, declared or received; 400 when the body ends short of its Content-Length; a body without a length is read whole', async () => {
    const pool = new BodyPool(8 * 1024 * 1024);
    const { app } = await echoServer(pool);
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
