/**
 * HTTP routes of assessment platforms and passcodes (docs/INTEGRATION.md, Part 2):
 * - admins register, list and revoke their institution's platforms (staff session);
 * - a platform, with its API key, creates exams and per-attempt passcodes of its institution;
 * - an admin issues a batch of passcodes for an exam of their institution, lists the exam's passcodes
 *   and withdraws unused ones (staff session);
 * - a test taker redeems a passcode, with no other credential, for the attempt credential.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { DirectoryDatabase } from '../db/schema.js';
import { createExam } from '../exams/exam.service.js';
import type { Cell } from '../regions/cell.types.js';
import { requireStaff, staffCellOf, staffOf } from '../staff/staff-auth.js';
import type { StaffAuthContext } from '../staff/staff.types.js';
import type { PasscodeKeys } from './passcode-key.js';
import { PasscodeRedeemer, type StaffScope, ThrottledError, issuePasscode, issuePasscodesByStaff, passcodesOfExam, withdrawPasscodeByStaff } from './passcode.service.js';
import { authenticatePlatform, platformsOf, registerPlatform, revokePlatformOf } from './platform.service.js';

export interface PlatformRoutesOptions {
  readonly staff: StaffAuthContext;
  readonly directory: Kysely<DirectoryDatabase>;
  readonly keys: PasscodeKeys;
  /** Wakes webhook delivery after an event is written. */
  readonly onEvent: () => void;
  readonly allowLoopbackWebhooks: boolean;
}

export const platformRoutes: FastifyPluginAsync<PlatformRoutesOptions> = async (app, options) => {
  const { staff: context, directory, keys, onEvent } = options;
  const { cells, clock } = context;
  const admin = requireStaff(['admin'], context);
  const cellOf = (request: FastifyRequest): Cell => staffCellOf(cells, request);
  const staffScope = (request: FastifyRequest): StaffScope => ({ cell: cellOf(request), institution: staffOf(request).institution, staffId: staffOf(request).staffId });
  const passcodes = { cells, directory, keys, clock, onEvent, warn: (message: string) => app.log.warn(message) };
  const redeemer = new PasscodeRedeemer(passcodes);

  app.post('/platforms', { preHandler: admin }, async (request, reply) => {
    const staff = staffOf(request);
    const registered = await registerPlatform(cellOf(request), keys, { institution: staff.institution, createdBy: staff.staffId, body: request.body, allowLoopbackWebhooks: options.allowLoopbackWebhooks }, clock());
    return reply.code(201).header('cache-control', 'no-store').send(registered);
  });
  app.get('/platforms', { preHandler: admin }, async (request) => platformsOf(cellOf(request), staffOf(request).institution));
  app.delete<{ Params: { id: string } }>('/platforms/:id', { preHandler: admin }, async (request, reply) => {
    await revokePlatformOf(cellOf(request), staffOf(request).institution, request.params.id, clock());
    return reply.code(204).send();
  });

  app.post('/platform/exams', async (request, reply) => {
    const platform = await authenticatePlatform(request, cells);
    return reply.code(201).send(await createExam(platform.cell, platform.institution, request.body, clock()));
  });
  app.post<{ Params: { exam: string } }>('/platform/exams/:exam/passcodes', async (request, reply) => {
    const platform = await authenticatePlatform(request, cells);
    const issued = await issuePasscode(passcodes, platform, request.params.exam, request.body);
    return reply.code(201).header('cache-control', 'no-store').send(issued);
  });
  app.post<{ Params: { exam: string } }>('/exams/:exam/passcodes', { preHandler: admin }, async (request, reply) => {
    const issued = await issuePasscodesByStaff(passcodes, staffScope(request), request.params.exam, request.body);
    return reply.code(201).header('cache-control', 'no-store').send(issued);
  });
  app.get<{ Params: { exam: string }; Querystring: { limit?: unknown; before?: unknown; attempt?: unknown } }>('/exams/:exam/passcodes', { preHandler: admin }, async (request, reply) => {
    return reply.header('cache-control', 'no-store').send(await passcodesOfExam(passcodes, staffScope(request), request.params.exam, request.query));
  });
  app.delete<{ Params: { exam: string; id: string } }>('/exams/:exam/passcodes/:id', { preHandler: admin }, async (request, reply) => {
    await withdrawPasscodeByStaff(staffScope(request), request.params.exam, request.params.id);
    return reply.code(204).send();
  });

  app.post('/passcodes/redeem', async (request, reply) => {
    try {
      const redeemed = await redeemer.redeem(request.body, request.ip);
      return reply.header('cache-control', 'no-store').send(redeemed);
    } catch (e) {
      if (e instanceof ThrottledError) void reply.header('retry-after', String(e.retryAfterSeconds));
      throw e;
    }
  });
};
