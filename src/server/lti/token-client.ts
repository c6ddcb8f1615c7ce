/**
 * LTI Advantage service access (1EdTech Security Framework §4.1): an OAuth 2 client_credentials
 * grant at the platform's token endpoint, authenticated by a JWT client assertion (RFC 7523) that
 * the tool signs with its own key; the platform checks it against the tool JWKS.
 */
import { SignJWT } from 'jose';
import type { LtiPlatformTable } from '../db/schema.js';
import { random43 } from './codes.js';
import type { ToolKeys } from './tool-keys.js';

export class PlatformTokenError extends Error {
  readonly code = 'EV_ERR_LTI_PLATFORM_TOKEN';
}

export interface PlatformAccessToken {
  readonly accessToken: string;
  readonly expiresIn: number;
  readonly scope: string;
}

export async function platformAccessToken(platform: Pick<LtiPlatformTable, 'client_id' | 'token_endpoint'>, toolKeys: ToolKeys, scopes: readonly string[], now = Date.now()): Promise<PlatformAccessToken> {
  const signer = await toolKeys.current();
  const nowS = Math.floor(now / 1000);
  const assertion = await new SignJWT({ jti: random43() })
    .setProtectedHeader({ alg: 'RS256', kid: signer.kid, typ: 'JWT' })
    .setIssuer(platform.client_id)
    .setSubject(platform.client_id)
    .setAudience(platform.token_endpoint)
    .setIssuedAt(nowS)
    .setExpirationTime(nowS + 300)
    .sign(signer.key);
  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: assertion,
    scope: scopes.join(' '),
  });
  let answer: { access_token?: unknown; expires_in?: unknown; scope?: unknown; error?: unknown };
  let status: number;
  try {
    const res = await fetch(platform.token_endpoint, { method: 'POST', body, signal: AbortSignal.timeout(5000), redirect: 'error', headers: { accept: 'application/json' } });
    status = res.status;
    answer = (await res.json()) as typeof answer;
  } catch {
    throw new PlatformTokenError('the platform\'s token endpoint did not answer');
  }
  if (status !== 200 || typeof answer.access_token !== 'string') throw new PlatformTokenError(`the platform refused the token request (${status} ${typeof answer.error === 'string' ? answer.error.slice(0, 40) : ''})`);
  return { accessToken: answer.access_token, expiresIn: Number(answer.expires_in ?? 0), scope: typeof answer.scope === 'string' ? answer.scope : '' };
}
