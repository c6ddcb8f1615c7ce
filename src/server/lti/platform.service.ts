/**
 * LTI platform registrations (docs/LTI.md "Registrations"): what an institution's admin (API) or the
 * operator (`examvault lti platforms`) tells ExamVault about an LMS. The registration lives in the
 * institution's cell; the directory keeps only (issuer, client id) → institution, region, so a login
 * initiation, which names nothing else, finds the right cell.
 */
import type { Kysely } from 'kysely';
import { idPattern } from '../../crypto/context.js';
import { ApiError } from '../../protocol/errors.js';
import { type LtiErrorCode, type OptionalPersonClaim, type Platform, ltiErrors, optionalPersonClaims } from '../../protocol/lti.js';
import type { DirectoryDatabase, LtiPlatformTable } from '../db/schema.js';
import { regionOf } from '../directory/directory.repository.js';
import { newId } from '../ids.js';
import { findInstitution } from '../institutions/institution.repository.js';
import type { Cell, Cells } from '../regions/cell.types.js';
import { deletePlatform, findPlatform, indexPlatform, insertPlatform, listPlatforms, unindexPlatform } from './lti.repository.js';

export function ltiError(code: LtiErrorCode, message: string): ApiError {
  return new ApiError(code, message, ltiErrors[code]);
}

const MAX_DEPLOYMENTS = 64;
const MAX_TEXT = 255;
const fields = ['issuer', 'clientId', 'deploymentIds', 'authEndpoint', 'tokenEndpoint', 'jwksUrl', 'frameOrigins', 'keptClaims'];

function invalid(message: string): ApiError {
  return ltiError('EV_ERR_LTI_INVALID_REQUEST', message);
}

function isLoopback(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
}

/**
 * An endpoint ExamVault calls or sends browsers to: https, no credentials, no fragment. Plain http is
 * accepted for loopback hosts only (an LMS on the same machine, for development and tests).
 */
function endpoint(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length > 2048) throw invalid(`${name} must be an https URL`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(`${name} must be an https URL`);
  }
  if (!(url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url))) || url.username || url.password || url.hash) {
    throw invalid(`${name} must be an https URL without credentials or fragment`);
  }
  return value;
}

function originOf(value: unknown, name: string): string {
  const url = new URL(endpoint(value, name));
  if (url.origin !== value) throw invalid(`${name} must be origins only, like https://lms.example.edu`);
  return url.origin;
}

/** Printable ASCII without spaces: issuers, client ids and deployment ids are opaque strings. */
function opaque(value: unknown, name: string): string {
  if (typeof value !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(value)) throw invalid(`${name} must be 1-${MAX_TEXT} printable characters without spaces`);
  return value;
}

export interface PlatformInput {
  readonly issuer: string;
  readonly clientId: string;
  readonly deploymentIds: string[];
  readonly authEndpoint: string;
  readonly tokenEndpoint: string;
  readonly jwksUrl: string;
  readonly frameOrigins: string[];
  readonly keptClaims: OptionalPersonClaim[];
}

/** Validates a CreatePlatformRequest from an untrusted body; the first broken rule is the error. */
export function parsePlatform(body: unknown): PlatformInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('the body must be a JSON object');
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => !fields.includes(k));
  if (unknown.length > 0) throw invalid(`unknown field ${JSON.stringify(unknown[0])}`);
  const list = (value: unknown, name: string, max: number): unknown[] => {
    if (value === undefined) return [];
    if (!Array.isArray(value) || value.length > max) throw invalid(`${name} must be an array of at most ${max}`);
    return value;
  };
  const deploymentIds = list(b.deploymentIds, 'deploymentIds', MAX_DEPLOYMENTS).map((d) => opaque(d, 'deploymentIds[]'));
  if (deploymentIds.length === 0) throw invalid('deploymentIds must name at least one deployment');
  const keptClaims = list(b.keptClaims, 'keptClaims', optionalPersonClaims.length).map((c) => {
    if (!optionalPersonClaims.includes(c as OptionalPersonClaim)) throw invalid(`keptClaims may hold ${optionalPersonClaims.join(', ')}`);
    return c as OptionalPersonClaim;
  });
  return {
    issuer: opaque(b.issuer, 'issuer'),
    clientId: opaque(b.clientId, 'clientId'),
    deploymentIds: [...new Set(deploymentIds)],
    authEndpoint: endpoint(b.authEndpoint, 'authEndpoint'),
    tokenEndpoint: endpoint(b.tokenEndpoint, 'tokenEndpoint'),
    jwksUrl: endpoint(b.jwksUrl, 'jwksUrl'),
    frameOrigins: [...new Set(list(b.frameOrigins, 'frameOrigins', 16).map((o) => originOf(o, 'frameOrigins[]')))],
    keptClaims: [...new Set(keptClaims)],
  };
}

export function toPlatform(row: LtiPlatformTable): Platform {
  return {
    platform: row.id,
    institution: row.institution_id,
    issuer: row.issuer,
    clientId: row.client_id,
    deploymentIds: JSON.parse(row.deployment_ids) as string[],
    authEndpoint: row.auth_endpoint,
    tokenEndpoint: row.token_endpoint,
    jwksUrl: row.jwks_url,
    frameOrigins: JSON.parse(row.frame_origins) as string[],
    keptClaims: JSON.parse(row.kept_claims) as OptionalPersonClaim[],
    createdAt: new Date(Number(row.created_at)).toISOString(),
  };
}

async function institutionCell(cells: Cells, directory: Kysely<DirectoryDatabase>, institution: string): Promise<Cell> {
  const region = idPattern.test(institution) ? await regionOf(directory, institution) : null;
  const cell = region ? cells.get(region) : undefined;
  if (!cell || !(await findInstitution(cell.db, institution))) throw new ApiError('EV_ERR_API_NOT_FOUND', `no institution ${JSON.stringify(institution)} here`);
  return cell;
}

/** Registers a platform for `institution`. The directory claim comes first, so two institutions cannot both register one (issuer, client id). */
export async function registerPlatform(cells: Cells, directory: Kysely<DirectoryDatabase>, institution: string, body: unknown, now: number): Promise<Platform> {
  const input = parsePlatform(body);
  const cell = await institutionCell(cells, directory, institution);
  const id = newId('ltp');
  const claimed = await indexPlatform(directory, { issuer: input.issuer, client_id: input.clientId, platform_id: id, institution_id: institution, region: cell.region, created_at: now });
  if (!claimed) throw ltiError('EV_ERR_LTI_PLATFORM_EXISTS', 'a registration with this issuer and client id exists already');
  const row: LtiPlatformTable = {
    id,
    institution_id: institution,
    issuer: input.issuer,
    client_id: input.clientId,
    deployment_ids: JSON.stringify(input.deploymentIds),
    auth_endpoint: input.authEndpoint,
    token_endpoint: input.tokenEndpoint,
    jwks_url: input.jwksUrl,
    frame_origins: JSON.stringify(input.frameOrigins),
    kept_claims: JSON.stringify(input.keptClaims),
    created_at: now,
  };
  try {
    await insertPlatform(cell.db, row);
  } catch (e) {
    await unindexPlatform(directory, id);
    throw e;
  }
  await cell.audit.append({ institution, type: 'lti.platform.registered', payload: { platform: id } });
  return toPlatform(row);
}

export async function platformsOf(cells: Cells, directory: Kysely<DirectoryDatabase>, institution: string): Promise<{ platforms: Platform[] }> {
  const cell = await institutionCell(cells, directory, institution);
  return { platforms: (await listPlatforms(cell.db, institution)).map(toPlatform) };
}

/** Removes a registration: launches from it are refused from now on. */
export async function removePlatform(cells: Cells, directory: Kysely<DirectoryDatabase>, institution: string, platform: string): Promise<void> {
  const cell = await institutionCell(cells, directory, institution);
  const row = idPattern.test(platform) ? await findPlatform(cell.db, platform) : undefined;
  if (!row || row.institution_id !== institution || !(await deletePlatform(cell.db, institution, platform))) {
    throw ltiError('EV_ERR_LTI_PLATFORM_NOT_FOUND', `no platform ${JSON.stringify(platform)} in this institution`);
  }
  await unindexPlatform(directory, platform);
  await cell.audit.append({ institution, type: 'lti.platform.removed', payload: { platform } });
}
