/**
 * buildApp, driven by injection (no port): the security headers on every kind of response, one error
 * format with a stable code for every failure Fastify can produce, the accepted bodies and their size
 * limits, what the logs may hold, and the proxy-mode refusal of plain HTTP.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { FastifyPluginAsync, InjectOptions } from 'fastify';
import { ApiError, apiErrors } from '../../../src/protocol/errors.js';
import { JSON_BODY_LIMIT, OCTET_STREAM_BODY_LIMIT, buildApp } from '../../../src/server/app.js';
import { loadConfig } from '../../../src/server/config.js';
import { apiContentSecurityPolicy } from '../../../src/server/http/security-headers.js';

const cwd = mkdtempSync(join(tmpdir(), 'ev-app-'));
const config = loadConfig({ env: { EXAMVAULT_HSTS_MAX_AGE: '31536000' }, cwd });
const proxyConfig = loadConfig({ env: { EXAMVAULT_TLS_MODE: 'proxy', EXAMVAULT_HOST: '127.0.0.1', EXAMVAULT_PUBLIC_ORIGIN: 'https://exams.example.edu' }, cwd });

const SECRET = 'Bearer s3cret-token-never-logged';
const COOKIE = 'ev_session=cookie-never-logged';
const INTERNAL_DETAIL = 'database password is hunter2';

const routes: FastifyPluginAsync = async (app) => {
  app.get('/ok', async () => ({ ok: true }));
  app.get('/conflict', async () => {
    throw new ApiError('EV_ERR_API_CONFLICT', 'already sealed');
  });
  app.get('/feature-error', async () => {
    throw new ApiError('EV_ERR_TEST_TEAPOT', 'a feature code with its own status', 418);
  });
  app.get('/boom', async () => {
    throw new Error(INTERNAL_DETAIL);
  });
  app.get('/library-4xx', async () => {
    throw Object.assign(new Error('<script>echoed input</script>'), { statusCode: 429 });
  });
  app.post('/echo', { schema: { body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } }, additionalProperties: false } } }, async (request) => ({
    got: request.body,
  }));
  app.put('/bytes', async (request) => {
    assert.ok(Buffer.isBuffer(request.body));
    return { length: (request.body as Buffer).length };
  });
  app.put('/small-bytes', { bodyLimit: 1024 }, async (request) => ({ length: (request.body as Buffer).length }));
  app.get('/items/:id', async (request) => ({ id: (request.params as { id: string }).id }));
  app.get('/own-headers', async (_request, reply) => {
    void reply.header('content-security-policy', "default-src 'self'").header('cache-control', 'private, max-age=60');
    return { ok: true };
  });
  app.get('/log-headers', async (request) => {
    // A developer logging a headers object by hand, twice over, must still not leak credentials.
    request.log.info({ headers: request.headers }, 'debug headers');
    request.log.info({ req: { headers: request.headers } }, 'debug nested headers');
    return { ok: true };
  });
  app.get('/whoami', async (request) => ({ ip: request.ip, protocol: request.protocol }));
  app.put<{ Querystring: { fail?: string } }>('/quiet', { config: { quietWhenOk: true } }, async (request) => {
    if (request.query.fail) throw new ApiError('EV_ERR_API_BAD_REQUEST', 'asked to fail');
    return { ok: true };
  });
};

function appWithLogs(cfg = config) {
  const lines: string[] = [];
  const app = buildApp(cfg, { routes }, { logStream: { write: (line: string) => void lines.push(line) } });
  return { app, lines, logs: () => lines.join('') };
}

const expectedHeaders = {
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'content-security-policy': apiContentSecurityPolicy,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
} as const;

function assertSecurityHeaders(headers: Record<string, unknown>, what: string): void {
  for (const [name, value] of Object.entries(expectedHeaders)) assert.equal(headers[name], value, `${what}: ${name}`);
  assert.match(String(headers['permissions-policy']), /camera=\(self\)/, `${what}: permissions-policy`);
  assert.match(String(headers['permissions-policy']), /microphone=\(self\)/);
  assert.match(String(headers['permissions-policy']), /display-capture=\(self\)/);
  assert.equal(headers.server, undefined, `${what}: no server banner`);
  assert.equal(headers['x-powered-by'], undefined, `${what}: no x-powered-by`);
}

function assertError(res: { statusCode: number; json: () => unknown; headers: Record<string, unknown> }, status: number, code: string): void {
  assert.equal(res.statusCode, status);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = res.json() as { error: { code: string; message: string } };
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
}

describe('buildApp: security headers', () => {
  const { app } = appWithLogs();

  const cases: [string, InjectOptions, number][] = [
    ['200', { method: 'GET', url: '/healthz' }, 200],
    ['200 under /v1', { method: 'GET', url: '/v1/ok' }, 200],
    ['HEAD', { method: 'HEAD', url: '/healthz' }, 200],
    ['404', { method: 'GET', url: '/nowhere' }, 404],
    ['404 under /v1', { method: 'GET', url: '/v1/nowhere' }, 404],
    ['404 wrong method', { method: 'DELETE', url: '/healthz' }, 404],
    ['409 ApiError', { method: 'GET', url: '/v1/conflict' }, 409],
    ['500', { method: 'GET', url: '/v1/boom' }, 500],
    ['400 validation', { method: 'POST', url: '/v1/echo', payload: { nope: 1 } }, 400],
    ['415', { method: 'POST', url: '/v1/echo', payload: 'a=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415],
    ['413', { method: 'POST', url: '/v1/echo', payload: JSON.stringify({ name: 'x'.repeat(JSON_BODY_LIMIT) }), headers: { 'content-type': 'application/json' } }, 413],
    ['400 bad URL', { method: 'GET', url: '/v1/items/%E0%A4%A' }, 400],
  ];
  for (const [what, request, status] of cases) {
    it(`are on a ${what} response`, async () => {
      const res = await app.inject(request);
      assert.equal(res.statusCode, status);
      assertSecurityHeaders(res.headers, what);
    });
  }

  it('/healthz answers {status: ok}', async () => {
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    assert.deepEqual(res.json(), { status: 'ok' });
  });

  it('lets a route replace the CSP and Cache-Control deliberately', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/own-headers' });
    assert.equal(res.headers['content-security-policy'], "default-src 'self'");
    assert.equal(res.headers['cache-control'], 'private, max-age=60');
    assert.equal(res.headers['x-frame-options'], 'DENY');
  });

  it('sends the configured HSTS max-age', async () => {
    const short = loadConfig({ env: { EXAMVAULT_HSTS_MAX_AGE: '600' }, cwd });
    const res = await buildApp(short, { routes }, { logStream: { write: () => {} } }).inject({ method: 'GET', url: '/healthz' });
    assert.equal(res.headers['strict-transport-security'], 'max-age=600; includeSubDomains');
  });
});

describe('buildApp: errors', () => {
  it('an ApiError keeps its status and code', async () => {
    const { app } = appWithLogs();
    const res = await app.inject({ method: 'GET', url: '/v1/conflict' });
    assertError(res, 409, 'EV_ERR_API_CONFLICT');
    assert.equal(res.json().error.message, 'already sealed');
    assertError(await app.inject({ method: 'GET', url: '/v1/feature-error' }), 418, 'EV_ERR_TEST_TEAPOT');
  });

  it('a 404 is EV_ERR_API_NOT_FOUND', async () => {
    const { app } = appWithLogs();
    assertError(await app.inject({ method: 'GET', url: '/v1/nowhere' }), 404, 'EV_ERR_API_NOT_FOUND');
    assertError(await app.inject({ method: 'POST', url: '/healthz' }), 404, 'EV_ERR_API_NOT_FOUND');
  });

  it('an unexpected error is EV_ERR_API_INTERNAL, logged but never leaked', async () => {
    const { app, logs } = appWithLogs();
    const res = await app.inject({ method: 'GET', url: '/v1/boom' });
    assertError(res, 500, 'EV_ERR_API_INTERNAL');
    assert.equal(res.json().error.message, 'internal error');
    assert.doesNotMatch(res.body, /hunter2|at .*\.ts/);
    assert.match(logs(), /hunter2/, 'the error is in the log');
    assert.match(logs(), /"level":50/, 'at level error');
  });

  it('a library 4xx keeps its meaning but not its wording', async () => {
    const { app } = appWithLogs();
    const res = await app.inject({ method: 'GET', url: '/v1/library-4xx' });
    assertError(res, 400, 'EV_ERR_API_BAD_REQUEST');
    assert.doesNotMatch(res.body, /script/);
  });

  it('schema validation is 400 EV_ERR_API_BAD_REQUEST naming the field', async () => {
    const { app } = appWithLogs();
    const missing = await app.inject({ method: 'POST', url: '/v1/echo', payload: { other: 'x' } });
    assertError(missing, 400, 'EV_ERR_API_BAD_REQUEST');
    assert.match(missing.json().error.message, /name|additional/);
    assertError(await app.inject({ method: 'POST', url: '/v1/echo', payload: { name: { x: 1 } } }), 400, 'EV_ERR_API_BAD_REQUEST');
    // An unexpected property is refused, not silently dropped.
    assertError(await app.inject({ method: 'POST', url: '/v1/echo', payload: { name: 'x', admin: true } }), 400, 'EV_ERR_API_BAD_REQUEST');
    const ok = await app.inject({ method: 'POST', url: '/v1/echo', payload: { name: 'x' } });
    assert.deepEqual(ok.json(), { got: { name: 'x' } });
  });

  it('an empty, malformed or prototype-poisoning JSON body is 400 EV_ERR_API_BAD_REQUEST', async () => {
    const { app } = appWithLogs();
    const json = { 'content-type': 'application/json' };
    for (const payload of ['', '{"name":', '{"name":"x"} trailing', '{"__proto__":{"admin":true},"name":"x"}']) {
      assertError(await app.inject({ method: 'POST', url: '/v1/echo', payload, headers: json }), 400, 'EV_ERR_API_BAD_REQUEST');
    }
  });

  it('a content type other than JSON or bytes is 415 EV_ERR_API_UNSUPPORTED_MEDIA_TYPE', async () => {
    const { app } = appWithLogs();
    // text/plain, urlencoded and multipart are what another site can POST without a CORS preflight.
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'not a media type']) {
      const res = await app.inject({ method: 'POST', url: '/v1/echo', payload: '{"name":"x"}', headers: { 'content-type': type } });
      assertError(res, 415, 'EV_ERR_API_UNSUPPORTED_MEDIA_TYPE');
    }
  });

  it('a body over the limit is 413 EV_ERR_API_PAYLOAD_TOO_LARGE', async () => {
    const { app } = appWithLogs();
    const bigJson = JSON.stringify({ name: 'x'.repeat(JSON_BODY_LIMIT) });
    assertError(await app.inject({ method: 'POST', url: '/v1/echo', payload: bigJson, headers: { 'content-type': 'application/json' } }), 413, 'EV_ERR_API_PAYLOAD_TOO_LARGE');
    const octet = { 'content-type': 'application/octet-stream' };
    assertError(await app.inject({ method: 'PUT', url: '/v1/bytes', payload: Buffer.alloc(OCTET_STREAM_BODY_LIMIT + 1), headers: octet }), 413, 'EV_ERR_API_PAYLOAD_TOO_LARGE');
    assertError(await app.inject({ method: 'PUT', url: '/v1/small-bytes', payload: Buffer.alloc(1025), headers: octet }), 413, 'EV_ERR_API_PAYLOAD_TOO_LARGE');
  });

  it('a malformed URL is 400 EV_ERR_API_BAD_REQUEST', async () => {
    const { app } = appWithLogs();
    assertError(await app.inject({ method: 'GET', url: '/v1/items/%E0%A4%A' }), 400, 'EV_ERR_API_BAD_REQUEST');
  });

  it('uses only codes from the API error table (or a feature code given with its status)', async () => {
    const { app } = appWithLogs();
    for (const url of ['/v1/nowhere', '/v1/boom', '/v1/conflict', '/v1/library-4xx', '/v1/items/%E0%A4%A']) {
      const res = await app.inject({ method: 'GET', url });
      const code = res.json().error.code as keyof typeof apiErrors;
      assert.equal(apiErrors[code], res.statusCode, `${url}: ${code}`);
    }
  });
});

describe('buildApp: bodies', () => {
  it('parses application/octet-stream as a Buffer, up to a 16 MiB segment and its overhead', async () => {
    const { app } = appWithLogs();
    const segment = Buffer.alloc(16 * 1024 * 1024 + 16, 7);
    const res = await app.inject({ method: 'PUT', url: '/v1/bytes', payload: segment, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { length: segment.length });
  });
});

describe('buildApp: logs', () => {
  it('never hold credentials, bodies or query strings', async () => {
    const { app, lines, logs } = appWithLogs();
    const headers = { authorization: SECRET, cookie: COOKIE, 'proxy-authorization': SECRET };
    await app.inject({ method: 'GET', url: '/v1/log-headers?token=query-secret', headers });
    await app.inject({ method: 'POST', url: '/v1/echo?token=query-secret', headers, payload: { name: 'body-secret' } });
    await app.inject({ method: 'POST', url: '/v1/echo', headers, payload: { name: 7, note: 'body-secret' } });
    await app.inject({ method: 'GET', url: '/v1/boom', headers });
    assert.ok(lines.length >= 8, 'requests were logged');
    for (const line of lines) JSON.parse(line);
    const all = logs();
    assert.doesNotMatch(all, /s3cret|cookie-never-logged/, 'no credential');
    assert.doesNotMatch(all, /body-secret/, 'no body');
    assert.doesNotMatch(all, /query-secret/, 'no query string');
    assert.doesNotMatch(all, /remoteAddress|127\.0\.0\.1/, 'no client address');
    assert.match(all, /\[redacted\]/, 'hand-logged headers are redacted');
    assert.match(all, /"url":"\/v1\/log-headers"/, 'the path is logged');
  });

  it('follow the configured level', async () => {
    const quiet = loadConfig({ env: { EXAMVAULT_LOG_LEVEL: 'warn' }, cwd });
    const lines: string[] = [];
    const app = buildApp(quiet, { routes }, { logStream: { write: (l: string) => void lines.push(l) } });
    // Start-up may warn (e.g. web apps not built); what is under test is the requests' logging.
    await app.ready();
    lines.length = 0;
    await app.inject({ method: 'GET', url: '/v1/ok' });
    assert.deepEqual(lines, []);
    await app.inject({ method: 'GET', url: '/v1/boom' });
    assert.equal(lines.length, 1);
  });
});

describe('buildApp: routes quiet when they succeed', () => {
  /** The messages one request logs at `level`. */
  async function messagesFor(level: string, method: 'GET' | 'PUT', url: string): Promise<string[]> {
    const lines: string[] = [];
    const app = buildApp(loadConfig({ env: { EXAMVAULT_LOG_LEVEL: level }, cwd }), { routes }, { logStream: { write: (l: string) => void lines.push(l) } });
    await app.ready();
    lines.length = 0;
    await app.inject({ method, url });
    await app.close();
    return lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
  }

  it('log nothing for a success at info', async () => {
    assert.deepEqual(await messagesFor('info', 'PUT', '/v1/quiet'), []);
  });

  it('log a failure at info, with its completed line', async () => {
    const msgs = await messagesFor('info', 'PUT', '/v1/quiet?fail=1');
    assert.ok(msgs.includes('request completed'), msgs.join(', '));
    assert.ok(!msgs.includes('incoming request'));
  });

  it('log every request at debug, as other routes do', async () => {
    assert.deepEqual(await messagesFor('debug', 'PUT', '/v1/quiet'), ['incoming request', 'request completed']);
  });

  it('leave other routes logged at info', async () => {
    assert.deepEqual(await messagesFor('info', 'GET', '/v1/ok'), ['incoming request', 'request completed']);
  });
});

describe('buildApp: proxy mode', () => {
  const { app } = appWithLogs(proxyConfig);

  it('serves requests the proxy received over HTTPS', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/whoami', headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' } });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { ip: '203.0.113.9', protocol: 'https' });
  });

  for (const [what, headers] of [
    ['no X-Forwarded-Proto', {}],
    ['X-Forwarded-Proto: http', { 'x-forwarded-proto': 'http' }],
    ['http appended last by the nearest proxy', { 'x-forwarded-proto': 'https, http' }],
  ] as const) {
    it(`refuses a request with ${what}: 403 EV_ERR_API_TLS_REQUIRED`, async () => {
      const res = await app.inject({ method: 'GET', url: '/v1/ok', headers });
      assertError(res, 403, 'EV_ERR_API_TLS_REQUIRED');
      assertSecurityHeaders(res.headers, what);
    });
  }

  it('refuses an unknown path over plain HTTP too (no route probing)', async () => {
    assertError(await app.inject({ method: 'GET', url: '/v1/nowhere' }), 403, 'EV_ERR_API_TLS_REQUIRED');
  });

  it('lets a local supervisor probe /healthz directly', async () => {
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(res.statusCode, 200);
  });

  it('is off outside proxy mode: forwarded headers are not believed', async () => {
    const { app: direct } = appWithLogs();
    const res = await direct.inject({ method: 'GET', url: '/v1/whoami', headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' } });
    assert.deepEqual(res.json(), { ip: '127.0.0.1', protocol: 'http' });
  });
});
