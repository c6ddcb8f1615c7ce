/**
 * HTTP routes of the audit log's read API (audit-read.ts, docs/AUDIT-LOG.md "Reading the log"). A
 * caller is a staff session or an attempt credential; its institution, and so its cell, come from
 * that, never from the request.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { authenticateAttempt } from '../attempts/attempt-auth.js';
import type { Cell, Cells } from '../regions/cell.types.js';
import { authenticateStaff } from '../staff/staff-auth.js';
import type { StaffAuthContext } from '../staff/staff.types.js';
import { type ReadScope, readCheckpoint, readConsistency, readEntries } from './audit-read.js';

export interface AuditRoutesOptions {
  readonly cells: Cells;
  readonly staff: StaffAuthContext;
  readonly clock?: () => number;
}

interface Reader {
  readonly cell: Cell;
  readonly institution: string;
  readonly scope: ReadScope;
}

export const auditRoutes: FastifyPluginAsync<AuditRoutesOptions> = async (app, { cells, staff: context, clock = Date.now }) => {
  /** A recorder (attempt credential) or staff member; admins read everything of their institution. */
  const reader = async (request: FastifyRequest): Promise<Reader> => {
    if (request.headers.authorization !== undefined) {
      const { cell, scope } = await authenticateAttempt(request, cells, clock());
      return { cell, institution: scope.institution, scope: 'custody' };
    }
    const { cell, principal } = await authenticateStaff(request, context);
    return { cell, institution: principal.institution, scope: principal.role === 'admin' ? 'all' : 'custody' };
  };

  app.get('/audit/checkpoint', async (request) => readCheckpoint((await reader(request)).cell));
  app.get<{ Querystring: Record<string, unknown> }>('/audit/entries', async (request) => {
    const { cell, institution, scope } = await reader(request);
    return readEntries(cell, institution, scope, request.query);
  });
  app.get<{ Querystring: Record<string, unknown> }>('/audit/consistency', async (request) => readConsistency((await reader(request)).cell, request.query));
};
