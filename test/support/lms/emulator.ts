/**
 * An LMS platform emulator speaking LTI 1.3 over real HTTP on loopback, for ExamVault's tool tests
 * (no installable one exists). It has its own RSA keys and JWKS, starts launches with a third-party
 * login initiation, signs id_tokens at its authorization endpoint (OIDC form_post), runs a token
 * endpoint (client_credentials with a JWT client assertion checked against the tool's JWKS), and
 * receives deep-linking responses and LtiStartAssessment messages, which it verifies the same way.
 *
 * `misbehave` makes the next id_token wrong in one way, as a broken or hostile platform would.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import { type Agent, request as httpsRequest } from 'node:https';
import { type JWK, type KeyObject, SignJWT, exportJWK, exportSPKI, generateKeyPair, jwtVerify, createLocalJWKSet, type JWTPayload } from 'jose';

export const misbehaviours = [
  'wrong-audience',
  'extra-audience-no-azp',
  'expired',
  'replayed-nonce',
  'alg-none',
  'hs256-public-key',
  'unknown-kid',
  'missing-deployment',
  'unregistered-deployment',
  'wrong-iss',
  'wrong-message-type',
  'wrong-version',
  'mismatched-target-link-uri',
  // Beyond the list, one per remaining id_token rule, so that each rule has a test that fails without it.
  'not-a-jws',
  'bad-signature',
  'iat-in-future',
  'nonce-mismatch',
  'missing-resource-link',
  'roles-not-array',
] as const;
export type Misbehaviour = (typeof misbehaviours)[number];

const LTI = 'https://purl.imsglobal.org/spec/lti/claim/';
const DL = 'https://purl.imsglobal.org/spec/lti-dl/claim/';
const AP = 'https://purl.imsglobal.org/spec/lti-ap/claim/';

export const roles = {
  learner: 'http://purl.imsglobal.org/vocab/lis/v2/membership#Learner',
  instructor: 'http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor',
  administrator: 'http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator',
} as const;

export interface LaunchSpec {
  readonly messageType: 'LtiResourceLinkRequest' | 'LtiDeepLinkingRequest' | 'LtiStartProctoring' | 'LtiEndAssessment';
  readonly sub: string;
  readonly roles: readonly string[];
  readonly resourceLinkId?: string;
  /** The custom parameters of the link (deep linking put examvault_exam there). */
  readonly custom?: Record<string, string>;
  /** Person claims the platform sends (names, email, picture…). */
  readonly person?: Record<string, unknown>;
  readonly attemptNumber?: number;
  readonly sessionData?: string;
  readonly deepLinkingData?: string;
  /** Default: the tool's launch URL. */
  readonly targetLinkUri?: string;
}

interface Key {
  readonly kid: string;
  readonly privateKey: KeyObject | CryptoKey;
  readonly publicJwk: JWK;
  readonly spki: string;
}

async function newKey(): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `lms-${randomBytes(6).toString('hex')}`;
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }, spki: await exportSPKI(publicKey) };
}

const b64url = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

function autoPost(action: string, fields: Record<string, string>): string {
  const inputs = Object.entries(fields).map(([k, v]) => `<input type="hidden" name="${escape(k)}" value="${escape(v)}">`).join('');
  return `<!DOCTYPE html><html><body><form method="post" action="${escape(action)}" data-autopost>${inputs}</form><script>document.forms[0].submit()</script></body></html>`;
}

export interface LmsOptions {
  readonly clientId: string;
  readonly deploymentId: string;
  readonly toolOrigin: string;
  /** HTTPS agent trusting the tool's certificate, to fetch the tool JWKS. */
  readonly toolAgent: Agent;
}

export class LmsEmulator {
  origin = '';
  keys: Key[] = [];
  /** What the next id_token does wrong; cleared after use. */
  misbehave: Misbehaviour | null = null;
  jwksFetches = 0;
  /** Verified messages the tool sent back. */
  readonly deepLinkResponses: JWTPayload[] = [];
  readonly startAssessments: JWTPayload[] = [];
  readonly tokenRequests: { scope: string }[] = [];
  /** id_tokens the auth endpoint issued, for tests that look inside. */
  readonly issued: string[] = [];
  private readonly launches = new Map<string, LaunchSpec>();
  private lastNonce: string | null = null;
  private readonly server = createServer((req, res) => {
    this.handle(req, res).catch((e: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(e));
    });
  });

  constructor(readonly options: LmsOptions) {}

  get issuer(): string {
    return this.origin;
  }

  static async start(options: LmsOptions): Promise<LmsEmulator> {
    const lms = new LmsEmulator(options);
    lms.keys = [await newKey()];
    lms.server.listen(0, '127.0.0.1');
    await once(lms.server, 'listening');
    lms.origin = `http://127.0.0.1:${(lms.server.address() as { port: number }).port}`;
    return lms;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** A new signing key; the old one leaves the JWKS (a platform that rotated). */
  async rotateKey(): Promise<void> {
    this.keys = [await newKey()];
  }

  /** The registration an LMS admin gives ExamVault (POST /v1/lti/platforms). */
  registration(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      issuer: this.issuer,
      clientId: this.options.clientId,
      deploymentIds: [this.options.deploymentId, 'deployment-2'],
      authEndpoint: `${this.origin}/auth`,
      tokenEndpoint: `${this.origin}/token`,
      jwksUrl: `${this.origin}/jwks`,
      ...extra,
    };
  }

  /** The login initiation URL (GET) for a launch, as the LMS puts in the iframe's src. */
  loginUrl(spec: LaunchSpec, extra: Record<string, string> = {}): string {
    const hint = randomBytes(8).toString('hex');
    this.launches.set(hint, spec);
    const url = new URL(`${this.options.toolOrigin}/v1/lti/login`);
    const params: Record<string, string> = {
      iss: this.issuer,
      login_hint: spec.sub,
      target_link_uri: `${this.options.toolOrigin}/v1/lti/launch`,
      lti_message_hint: hint,
      client_id: this.options.clientId,
      lti_deployment_id: this.options.deploymentId,
      ...extra,
    };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url.toString();
  }

  /**
   * A course page framing the tool at `launch` (a login initiation URL), with the platform storage of
   * LTI Client Side postMessages: it answers lti.capabilities, lti.put_data and lti.get_data from
   * the tool's origin, keeping values per origin and key.
   */
  private coursePage(launch: string): string {
    const tool = JSON.stringify(this.options.toolOrigin);
    return `<!DOCTYPE html><html><head><title>Course</title></head><body><h1>Chemistry 101</h1>
<iframe name="tool" src="${escape(launch)}" width="800" height="600"></iframe>
<script>
const store = new Map();
window.addEventListener('message', (event) => {
  const d = event.data;
  if (event.origin !== ${tool} || !d || typeof d.subject !== 'string') return;
  const reply = (extra) => event.source.postMessage({ subject: d.subject + '.response', message_id: d.message_id, ...extra }, event.origin);
  if (d.subject === 'lti.capabilities') reply({ supported_messages: [{ subject: 'lti.put_data' }, { subject: 'lti.get_data' }] });
  else if (d.subject === 'lti.put_data') { store.set(event.origin + ' ' + d.key, d.value); reply({ key: d.key, value: d.value }); }
  else if (d.subject === 'lti.get_data') reply({ key: d.key, value: store.get(event.origin + ' ' + d.key) });
});
</script></body></html>`;
  }

  private send(res: ServerResponse, status: number, type: string, body: string): void {
    res.writeHead(status, { 'content-type': type }).end(body);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    if (req.method === 'GET' && url.pathname === '/jwks') {
      this.jwksFetches++;
      return this.send(res, 200, 'application/json', JSON.stringify({ keys: this.keys.map((k) => k.publicJwk) }));
    }
    if (req.method === 'GET' && url.pathname === '/auth') return this.authorize(url.searchParams, res);
    if (req.method === 'GET' && url.pathname === '/course') return this.send(res, 200, 'text/html', this.coursePage(url.searchParams.get('launch') ?? ''));
    const form = Object.fromEntries(new URLSearchParams(req.method === 'POST' ? await readBody(req) : ''));
    if (req.method === 'POST' && url.pathname === '/token') return this.token(form, res);
    if (req.method === 'POST' && (url.pathname === '/deep-link-return' || url.pathname === '/start-assessment')) {
      const expected = url.pathname === '/deep-link-return' ? 'LtiDeepLinkingResponse' : 'LtiStartAssessment';
      const payload = await this.verifyToolJwt(form.JWT ?? '', this.issuer);
      if (payload[`${LTI}message_type`] !== expected || payload[`${LTI}deployment_id`] !== this.options.deploymentId || typeof payload.nonce !== 'string') {
        return this.send(res, 400, 'text/plain', 'bad message');
      }
      (expected === 'LtiDeepLinkingResponse' ? this.deepLinkResponses : this.startAssessments).push(payload);
      return this.send(res, 200, 'text/html', '<!DOCTYPE html><p>received</p>');
    }
    this.send(res, 404, 'text/plain', 'not found');
  }

  private async toolJwks(): Promise<{ keys: JWK[] }> {
    const u = new URL(`${this.options.toolOrigin}/v1/lti/jwks`);
    return new Promise((resolve, reject) => {
      httpsRequest({ host: '127.0.0.1', port: u.port, path: u.pathname, servername: u.hostname, agent: this.options.toolAgent, headers: { host: u.host } }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { keys: JWK[] }));
      }).on('error', reject).end();
    });
  }

  /** Verifies a JWT the tool signed, against the tool's published JWKS. */
  async verifyToolJwt(jwt: string, audience: string): Promise<JWTPayload> {
    const { payload } = await jwtVerify(jwt, createLocalJWKSet(await this.toolJwks()), { issuer: this.options.clientId, audience, algorithms: ['RS256'] });
    return payload;
  }

  private async token(form: Record<string, string>, res: ServerResponse): Promise<void> {
    if (form.grant_type !== 'client_credentials' || form.client_assertion_type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
      return this.send(res, 400, 'application/json', JSON.stringify({ error: 'unsupported_grant_type' }));
    }
    try {
      const payload = await this.verifyToolJwt(form.client_assertion ?? '', `${this.origin}/token`);
      if (payload.sub !== this.options.clientId || typeof payload.jti !== 'string') throw new Error('bad assertion');
    } catch {
      return this.send(res, 401, 'application/json', JSON.stringify({ error: 'invalid_client' }));
    }
    this.tokenRequests.push({ scope: form.scope ?? '' });
    this.send(res, 200, 'application/json', JSON.stringify({ access_token: randomBytes(16).toString('hex'), token_type: 'Bearer', expires_in: 3600, scope: form.scope ?? '' }));
  }

  /** The OIDC authorization endpoint: checks the request, signs the id_token, form-posts it back. */
  private async authorize(q: URLSearchParams, res: ServerResponse): Promise<void> {
    const spec = this.launches.get(q.get('lti_message_hint') ?? '');
    const ok = q.get('scope') === 'openid' && q.get('response_type') === 'id_token' && q.get('response_mode') === 'form_post' && q.get('prompt') === 'none'
      && q.get('client_id') === this.options.clientId && q.get('redirect_uri') === `${this.options.toolOrigin}/v1/lti/launch` && spec !== undefined
      && q.get('login_hint') === spec.sub && q.get('state') && q.get('nonce');
    if (!ok) return this.send(res, 400, 'text/plain', 'invalid_request');
    const token = await this.idToken(spec as LaunchSpec, q.get('nonce') as string);
    this.issued.push(token);
    this.send(res, 200, 'text/html', autoPost(q.get('redirect_uri') as string, { id_token: token, state: q.get('state') as string }));
  }

  private async idToken(spec: LaunchSpec, nonce: string): Promise<string> {
    const mode = this.misbehave;
    this.misbehave = null;
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: this.issuer,
      aud: this.options.clientId,
      sub: spec.sub,
      iat: now,
      exp: now + 300,
      nonce,
      ...(spec.person ?? {}),
      [`${LTI}version`]: '1.3.0',
      [`${LTI}message_type`]: spec.messageType,
      [`${LTI}deployment_id`]: this.options.deploymentId,
      [`${LTI}target_link_uri`]: spec.targetLinkUri ?? `${this.options.toolOrigin}/v1/lti/launch`,
      [`${LTI}roles`]: spec.roles,
      [`${LTI}context`]: { id: 'course-42', label: 'CHEM101', title: 'Chemistry 101' },
      [`${LTI}tool_platform`]: { guid: 'lms-emulator', product_family_code: 'emulator' },
    };
    if (spec.resourceLinkId) claims[`${LTI}resource_link`] = { id: spec.resourceLinkId, title: 'Midterm' };
    if (spec.custom) claims[`${LTI}custom`] = spec.custom;
    if (spec.messageType === 'LtiDeepLinkingRequest') {
      claims[`${DL}deep_linking_settings`] = {
        deep_link_return_url: `${this.origin}/deep-link-return`,
        accept_types: ['ltiResourceLink'],
        accept_presentation_document_targets: ['iframe', 'window'],
        ...(spec.deepLinkingData ? { data: spec.deepLinkingData } : {}),
      };
    }
    if (spec.messageType === 'LtiStartProctoring' || spec.messageType === 'LtiEndAssessment') {
      claims[`${AP}attempt_number`] = spec.attemptNumber ?? 1;
      claims[`${AP}session_data`] = spec.sessionData ?? 'lms-session-1';
      claims[`${AP}start_assessment_url`] = `${this.origin}/start-assessment`;
    }
    switch (mode) {
      case 'wrong-audience': claims.aud = 'another-tool'; break;
      case 'extra-audience-no-azp': claims.aud = [this.options.clientId, 'another-tool']; break;
      case 'expired': claims.iat = now - 900; claims.exp = now - 600; break;
      case 'replayed-nonce': claims.nonce = this.lastNonce; break;
      case 'missing-deployment': delete claims[`${LTI}deployment_id`]; break;
      case 'unregistered-deployment': claims[`${LTI}deployment_id`] = 'not-registered'; break;
      case 'wrong-iss': claims.iss = 'https://lms.attacker.example'; break;
      case 'wrong-message-type': claims[`${LTI}message_type`] = 'LtiSubmissionReviewRequest'; break;
      case 'wrong-version': claims[`${LTI}version`] = '1.1'; break;
      case 'mismatched-target-link-uri': claims[`${LTI}target_link_uri`] = `${this.options.toolOrigin}/v1/lti/somewhere-else`; break;
      case 'iat-in-future': claims.iat = now + 600; claims.exp = now + 900; break;
      // A nonce never used, but not the one the tool sent with this login's state.
      case 'nonce-mismatch': claims.nonce = randomBytes(16).toString('base64url'); break;
      case 'missing-resource-link': delete claims[`${LTI}resource_link`]; break;
      case 'roles-not-array': claims[`${LTI}roles`] = spec.roles.join(' '); break;
      default: break;
    }
    // What a replay reuses: the nonce of the last well-formed token (one the tool accepted).
    if (mode === null) this.lastNonce = nonce;
    const key = this.keys[0] as Key;
    if (mode === 'not-a-jws') return `${b64url({ alg: 'RS256', kid: key.kid })}.${b64url(claims)}`;
    if (mode === 'alg-none') return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;
    if (mode === 'hs256-public-key') {
      // The classic key-confusion forgery: HMAC keyed with the platform's public key, which anyone has.
      const input = `${b64url({ alg: 'HS256', typ: 'JWT', kid: key.kid })}.${b64url(claims)}`;
      return `${input}.${createHmac('sha256', key.spki).update(input).digest('base64url')}`;
    }
    const signing = mode === 'unknown-kid' ? await newKey() : key;
    // bad-signature: the registered kid in the header, but another key's signature.
    const signer = mode === 'bad-signature' ? (await newKey()).privateKey : signing.privateKey;
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: signing.kid, typ: 'JWT' }).sign(signer);
  }
}
