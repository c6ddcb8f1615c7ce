/**
 * Validation of a launch's id_token (LTI Core 1.3 §5.1.3, the 1EdTech Security Framework §5.1.3),
 * rule by rule, each with its own error code (docs/errors.md), in this order:
 *
 * 1. a compact JWS, signed (not `alg: none`), whose header says RS256 (nothing else: not HS256, whose
 *    "secret" an attacker would pick to be our copy of the platform's public key);
 * 2. its `kid` names a key of the platform's JWKS (refetched once when unknown: platform-jwks.ts),
 *    and the signature verifies under it;
 * 3. `iss` is exactly the registration's issuer; `aud` is or contains our client id, and `azp` is our
 *    client id when there are several audiences (and whenever it is present);
 * 4. `exp` is in the future and `iat` not, each with CLOCK_SKEW_S of slack;
 * 5. `nonce` was never accepted before, and is the one bound to the launch's `state` (it is then spent);
 * 6. `version` 1.3.0, a known `message_type`, a registered `deployment_id`, the `target_link_uri` the
 *    login initiation named, `resource_link.id` for messages about a link, `roles` an array, and the
 *    claims the message itself needs.
 */
import { createHash } from 'node:crypto';
import { type JWK, compactVerify, decodeProtectedHeader, importJWK } from 'jose';
import type { LtiErrorCode } from '../../protocol/lti.js';
import type { LtiLoginTable, LtiPlatformTable } from '../db/schema.js';
import type { Cell } from '../regions/cell.types.js';
import { LTI_VERSION, type MessageType, claim, messageTypes, resourceLinkMessages } from './claims.js';
import { nonceSeen, useNonce } from './lti.repository.js';
import type { PlatformKeySets } from './platform-jwks.js';

/** Seconds of clock difference tolerated between the platform and ExamVault. */
export const CLOCK_SKEW_S = 60;
/** A nonce is remembered this long past the token's expiry, which bounds when it could be replayed. */
const NONCE_MEMORY_MS = 3600 * 1000;

/** A rejected launch: its code is the rule broken; `audited` details go in the audit event. */
export class LaunchRejected extends Error {
  constructor(
    readonly code: LtiErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const reject = (code: LtiErrorCode, message: string): never => {
  throw new LaunchRejected(code, message);
};

export interface ValidatedLaunch {
  readonly claims: Record<string, unknown>;
  readonly messageType: MessageType;
}

export interface ValidationContext {
  readonly cell: Cell;
  readonly platform: LtiPlatformTable;
  readonly login: Pick<LtiLoginTable, 'nonce' | 'target_link_uri'>;
  readonly keySets: PlatformKeySets;
  readonly now: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isCallableUrl(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > 2048) return false;
  try {
    const url = new URL(value);
    const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
    return (url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) && !url.username && !url.password;
  } catch {
    return false;
  }
}

export async function validateIdToken(token: string, ctx: ValidationContext): Promise<ValidatedLaunch> {
  const { platform, login, now } = ctx;
  let header;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return reject('EV_ERR_LTI_TOKEN_MALFORMED', 'the id_token is not a compact JWS');
  }
  if (token.split('.').length !== 3) reject('EV_ERR_LTI_TOKEN_MALFORMED', 'the id_token is not a compact JWS');
  if (typeof header.alg !== 'string' || header.alg.toLowerCase() === 'none') reject('EV_ERR_LTI_TOKEN_UNSIGNED', 'the id_token is not signed (alg none)');
  if (header.alg !== 'RS256') reject('EV_ERR_LTI_TOKEN_ALG', `the id_token must be signed with RS256, not ${JSON.stringify(String(header.alg)).slice(0, 20)}`);
  if (typeof header.kid !== 'string' || header.kid.length === 0) reject('EV_ERR_LTI_TOKEN_KID', 'the id_token header names no kid');
  const jwk: JWK | null = await ctx.keySets.key(platform.jwks_url, header.kid as string);
  if (!jwk || (jwk.kty !== 'RSA') || (jwk.alg !== undefined && jwk.alg !== 'RS256') || (jwk.use !== undefined && jwk.use !== 'sig')) {
    reject('EV_ERR_LTI_TOKEN_KID', 'the id_token\'s kid is not an RS256 signing key of the platform\'s JWKS');
  }
  let payloadBytes: Uint8Array;
  try {
    const key = await importJWK({ kty: 'RSA', n: jwk?.n, e: jwk?.e }, 'RS256');
    payloadBytes = (await compactVerify(token, key, { algorithms: ['RS256'] })).payload;
  } catch {
    return reject('EV_ERR_LTI_TOKEN_SIGNATURE', 'the id_token\'s signature does not verify under the platform\'s key');
  }
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payloadBytes).toString('utf8'));
  } catch {
    return reject('EV_ERR_LTI_TOKEN_MALFORMED', 'the id_token\'s payload is not JSON');
  }
  if (!isObject(claims)) return reject('EV_ERR_LTI_TOKEN_MALFORMED', 'the id_token\'s payload is not a JSON object');

  if (claims.iss !== platform.issuer) reject('EV_ERR_LTI_TOKEN_ISSUER', 'the id_token\'s iss is not the registered issuer');
  const aud = claims.aud;
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  if (!audiences.includes(platform.client_id)) reject('EV_ERR_LTI_TOKEN_AUDIENCE', 'the id_token\'s aud does not contain our client id');
  if ((audiences.length > 1 || claims.azp !== undefined) && claims.azp !== platform.client_id) {
    reject('EV_ERR_LTI_TOKEN_AZP', 'the id_token has several audiences (or an azp) and its azp is not our client id');
  }
  const nowS = Math.floor(now / 1000);
  if (typeof claims.exp !== 'number' || claims.exp + CLOCK_SKEW_S <= nowS) reject('EV_ERR_LTI_TOKEN_EXPIRED', 'the id_token has expired');
  if (typeof claims.iat !== 'number' || claims.iat - CLOCK_SKEW_S > nowS) reject('EV_ERR_LTI_TOKEN_IAT', 'the id_token\'s iat is missing or in the future');

  if (typeof claims.nonce !== 'string' || claims.nonce.length === 0 || claims.nonce.length > 255) reject('EV_ERR_LTI_NONCE_MISMATCH', 'the id_token has no nonce');
  const nonceHash = createHash('sha256').update(claims.nonce as string).digest('hex');
  if (await nonceSeen(ctx.cell.db, platform.id, nonceHash)) reject('EV_ERR_LTI_NONCE_REPLAYED', 'the id_token\'s nonce was used before');
  if (claims.nonce !== login.nonce) reject('EV_ERR_LTI_NONCE_MISMATCH', 'the id_token\'s nonce is not the one this login sent');
  if (!(await useNonce(ctx.cell.db, platform.id, nonceHash, (claims.exp as number) * 1000 + NONCE_MEMORY_MS))) {
    reject('EV_ERR_LTI_NONCE_REPLAYED', 'the id_token\'s nonce was used before');
  }

  if (claims[claim.version] !== LTI_VERSION) reject('EV_ERR_LTI_VERSION', `the LTI version must be ${LTI_VERSION}`);
  const messageType = claims[claim.messageType];
  if (!messageTypes.includes(messageType as MessageType)) reject('EV_ERR_LTI_MESSAGE_TYPE', `the message type must be one of ${messageTypes.join(', ')}`);
  const deployment = claims[claim.deploymentId];
  if (typeof deployment !== 'string' || deployment.length === 0) reject('EV_ERR_LTI_DEPLOYMENT_MISSING', 'the id_token has no deployment_id');
  if (!(JSON.parse(platform.deployment_ids) as string[]).includes(deployment as string)) reject('EV_ERR_LTI_DEPLOYMENT_UNKNOWN', 'the deployment_id is not registered');
  if (claims[claim.targetLinkUri] !== login.target_link_uri) reject('EV_ERR_LTI_TARGET_LINK_URI', 'the target_link_uri is not the one the login initiation named');
  const type = messageType as MessageType;
  if (resourceLinkMessages.includes(type)) {
    const link = claims[claim.resourceLink];
    if (!isObject(link) || typeof link.id !== 'string' || link.id.length === 0 || link.id.length > 255) reject('EV_ERR_LTI_RESOURCE_LINK', 'the launch has no resource_link.id');
  }
  const roles = claims[claim.roles];
  if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) reject('EV_ERR_LTI_ROLES', 'the roles claim must be an array of strings');

  if (typeof claims.sub !== 'string' || claims.sub.length === 0 || claims.sub.length > 255) reject('EV_ERR_LTI_CLAIM_INVALID', 'the launch has no sub');
  if (type === 'LtiDeepLinkingRequest') {
    const settings = claims[claim.deepLinkingSettings];
    if (!isObject(settings) || !isCallableUrl(settings.deep_link_return_url)) reject('EV_ERR_LTI_CLAIM_INVALID', 'deep_linking_settings.deep_link_return_url must be an https URL');
    const accepted = (settings as Record<string, unknown>).accept_types;
    if (Array.isArray(accepted) && !accepted.includes('ltiResourceLink')) reject('EV_ERR_LTI_CLAIM_INVALID', 'the platform does not accept ltiResourceLink items here, which is what ExamVault places');
  }
  if (type === 'LtiStartProctoring' || type === 'LtiEndAssessment') {
    const attempt = claims[claim.attemptNumber];
    if (!Number.isSafeInteger(attempt) || (attempt as number) < 1) reject('EV_ERR_LTI_CLAIM_INVALID', 'attempt_number must be a whole number from 1');
  }
  if (type === 'LtiStartProctoring') {
    if (typeof claims[claim.sessionData] !== 'string' || (claims[claim.sessionData] as string).length > 4096) reject('EV_ERR_LTI_CLAIM_INVALID', 'session_data must be a string');
    if (!isCallableUrl(claims[claim.startAssessmentUrl])) reject('EV_ERR_LTI_CLAIM_INVALID', 'start_assessment_url must be an https URL');
  }
  return { claims, messageType: type };
}
