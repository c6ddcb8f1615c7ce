/**
 * Assessment platforms (docs/INTEGRATION.md, Part 2): registered and revoked by an institution's
 * admins (or the operator CLI), authenticated by an API key.
 *
 * An API key is `evp1.<region>.<43 chars base64url of 32 random bytes>`: like the attempt credential,
 * the region names the cell that holds its row, so a request is checked in one cell. Only SHA-256 of
 * the key is stored (256 random bits need no keyed hash). The webhook secret is derived from the
 * cell's passcode key (passcode-key.ts): shown with the API key at registration, stored nowhere.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../../protocol/errors.js';
import { PLATFORM_NAME_MAX_LENGTH, type Platform, type PlatformErrorCode, type RegisteredPlatform, WEBHOOK_URL_MAX_LENGTH, platformErrors } from '../../protocol/passcodes.js';
import { bearerToken } from '../attempts/attempt-auth.js';
import type { PlatformTable } from '../db/schema.js';
import { newId } from '../ids.js';
import type { Cell, Cells } from '../regions/cell.types.js';
import type { PasscodeKeys } from './passcode-key.js';
import { findPlatform, findPlatformByKey, insertPlatform, listPlatforms, revokePlatform } from './platform.repository.js';
import { webhookUrlProblem } from './webhook-outbox.js';

const keyPattern = /^evp1\.([a-z][a-z0-9-]{1,15})\.([A-Za-z0-9_-]{43})$/;

export function platformError(code: PlatformErrorCode, message: string): ApiError {
  return new ApiError(code, message, platformErrors[code]);
}

function keyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function toPlatform(row: PlatformTable): Platform {
  return {
    platform: row.id,
    institution: row.institution_id,
    name: row.name,
    webhookUrl: row.webhook_url,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    revokedAt: row.revoked_at === null ? null : new Date(Number(row.revoked_at)).toISOString(),
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Records a security event before the action; if the log cannot take it, the action does not happen. */
export async function auditOrRefuse(cell: Cell, institution: string, type: string, payload: Record<string, string | number>): Promise<void> {
  try {
    await cell.audit.append({ institution, type, payload });
  } catch (e) {
    throw platformError('EV_ERR_PLATFORM_AUDIT_UNAVAILABLE', `the audit log could not record ${type}, so it was not carried out (${e instanceof Error ? e.message : String(e)})`);
  }
}

export interface RegisterInput {
  readonly institution: string;
  /** The registering admin, or null for the operator. */
  readonly createdBy: string | null;
  readonly body: unknown;
  readonly allowLoopbackWebhooks: boolean;
}

/** Registers a platform of `institution` in its cell; the answer is the only time its key and secret exist in the clear. */
export async function registerPlatform(cell: Cell, keys: PasscodeKeys, input: RegisterInput, now: number): Promise<RegisteredPlatform> {
  const body = input.body;
  if (!isPlainObject(body)) throw platformError('EV_ERR_PLATFORM_INVALID_REQUEST', 'the body must be a JSON object { "name", "webhookUrl" }');
  const unknown = Object.keys(body).filter((k) => k !== 'name' && k !== 'webhookUrl');
  if (unknown.length > 0) throw platformError('EV_ERR_PLATFORM_INVALID_REQUEST', `unknown field ${JSON.stringify(unknown[0])}`);
  const { name, webhookUrl } = body;
  if (typeof name !== 'string' || name.trim().length === 0 || name.length > PLATFORM_NAME_MAX_LENGTH || /\p{Cc}/u.test(name)) {
    throw platformError('EV_ERR_PLATFORM_INVALID_REQUEST', `name must be 1-${PLATFORM_NAME_MAX_LENGTH} printable characters`);
  }
  if (typeof webhookUrl !== 'string' || webhookUrl.length > WEBHOOK_URL_MAX_LENGTH) throw platformError('EV_ERR_PLATFORM_INVALID_REQUEST', `webhookUrl must be a URL of at most ${WEBHOOK_URL_MAX_LENGTH} characters`);
  const problem = webhookUrlProblem(webhookUrl, input.allowLoopbackWebhooks);
  if (problem) throw platformError('EV_ERR_PLATFORM_INVALID_REQUEST', problem);
  const key = keys.get(cell.region);
  if (!key) throw new Error(`no passcode key for region ${cell.region}`);

  const apiKey = `evp1.${cell.region}.${randomBytes(32).toString('base64url')}`;
  const row: PlatformTable = {
    id: newId('plat'),
    institution_id: input.institution,
    name: name.trim(),
    key_hash: keyHash(apiKey),
    webhook_url: webhookUrl,
    created_by: input.createdBy,
    created_at: now,
    revoked_at: null,
  };
  await auditOrRefuse(cell, input.institution, 'platform.registered', { platform: row.id });
  await insertPlatform(cell.db, row);
  return { ...toPlatform(row), apiKey, webhookSecret: key.webhookSecret(row.id) };
}

export async function platformsOf(cell: Cell, institution: string): Promise<{ platforms: Platform[] }> {
  return { platforms: (await listPlatforms(cell.db, institution)).map(toPlatform) };
}

/** Revokes a platform of `institution`: its key stops working, its unredeemed passcodes too, and no more webhooks go out. */
export async function revokePlatformOf(cell: Cell, institution: string, platformId: string, now: number): Promise<void> {
  const row = /^[A-Za-z0-9._:-]{1,64}$/.test(platformId) ? await findPlatform(cell.db, institution, platformId) : undefined;
  if (!row) throw platformError('EV_ERR_PLATFORM_NOT_FOUND', `no platform ${JSON.stringify(platformId)} in your institution`);
  if (row.revoked_at !== null) return;
  await auditOrRefuse(cell, institution, 'platform.revoked', { platform: row.id });
  await revokePlatform(cell.db, institution, row.id, now);
}

export interface AuthenticatedPlatform {
  readonly platform: string;
  readonly institution: string;
  readonly cell: Cell;
}

/** Authenticates `Authorization: Bearer evp1.…`. Unknown, malformed and revoked keys are one answer. */
export async function authenticatePlatform(request: FastifyRequest, cells: Cells): Promise<AuthenticatedPlatform> {
  const token = bearerToken(request);
  if (!token) throw platformError('EV_ERR_PLATFORM_MISSING_KEY', 'send the platform API key as Authorization: Bearer <key>');
  const region = keyPattern.exec(token)?.[1];
  const cell = region ? cells.get(region) : undefined;
  const hash = keyHash(token);
  const row = cell ? await findPlatformByKey(cell.db, hash) : undefined;
  if (!cell || !row || row.revoked_at !== null || !timingSafeEqual(Buffer.from(row.key_hash, 'hex'), Buffer.from(hash, 'hex'))) {
    throw platformError('EV_ERR_PLATFORM_INVALID_KEY', 'the platform API key is not valid (unknown or revoked)');
  }
  return { platform: row.id, institution: row.institution_id, cell };
}
