/**
 * What the LTI flows share: their context (cells, directory, clock, keys), the tool's URLs, which
 * origins may frame the tool for a registration, and how a refusal is recorded. Every refusal is
 * audited in the institution's cell when the registration is known; when it is not (a state of no
 * configured region, a login for an unregistered issuer), in the first configured cell as an event of
 * the whole cell, with the code only.
 */
import type { Kysely } from 'kysely';
import type { ApiError } from '../../protocol/errors.js';
import type { LtiErrorCode } from '../../protocol/lti.js';
import type { DirectoryDatabase, LtiPlatformTable } from '../db/schema.js';
import type { Cell, Cells } from '../regions/cell.types.js';
import type { PlatformKeySets } from './platform-jwks.js';
import type { RefusalAudit } from './refusal-audit.js';
import { ltiError } from './platform.service.js';
import type { ToolKeys } from './tool-keys.js';

/** Deep-linking picks, proctoring steps and pending launches: a few minutes. */
export const STEP_TTL_MS = 10 * 60 * 1000;

export interface LtiContext {
  readonly cells: Cells;
  readonly directory: Kysely<DirectoryDatabase>;
  readonly publicOrigin: string;
  readonly clock: () => number;
  readonly toolKeys: ToolKeys;
  readonly keySets: PlatformKeySets;
  readonly refusals: RefusalAudit;
  readonly attemptTtlSeconds: number;
}

export const launchUrl = (publicOrigin: string): string => `${publicOrigin}/v1/lti/launch`;

function originOrNull(value: string): string | null {
  try {
    const o = new URL(value).origin;
    return o === 'null' ? null : o;
  } catch {
    return null;
  }
}

/** Who may frame the tool's pages for this registration: its issuer's, auth endpoint's and configured origins. */
export function frameOriginsOf(platform: LtiPlatformTable): string[] {
  const configured = JSON.parse(platform.frame_origins) as string[];
  return [...new Set([originOrNull(platform.issuer), originOrNull(platform.auth_endpoint), ...configured].filter((o): o is string => o !== null))];
}

export function firstCell(cells: Cells): Cell {
  const cell = cells.values().next().value as Cell | undefined;
  if (!cell) throw new Error('no region cell is configured');
  return cell;
}

/** Records a refusal (refusal-audit.ts: rate-limited per stream, every one counted), then returns the API error to throw. */
export async function refuse(ctx: Pick<LtiContext, 'refusals'>, cell: Cell, platform: LtiPlatformTable | null, code: LtiErrorCode, message: string): Promise<ApiError> {
  await ctx.refusals.record(cell, platform, code);
  return ltiError(code, message);
}

export const text = (v: unknown, max = 2048): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;
