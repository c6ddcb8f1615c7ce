/**
 * HTTP routes of key custody (docs/CUSTODY-SERVER.md). Thin: authenticate (a staff session through
 * requireStaff, whose CSRF and Origin checks cover every state-changing route; the epoch route also
 * takes an attempt credential), call the service, answer. Institution and role come from the session,
 * never from the body.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { authenticateAttempt } from '../attempts/attempt-auth.js';
import type { Cell, Cells } from '../regions/cell.types.js';
import { authenticateStaff, requireStaff, staffCellOf, staffOf } from '../staff/staff-auth.js';
import type { StaffAuthContext } from '../staff/staff.types.js';
import {
  currentEpoch,
  custodyError,
  deleteRecordingAsAdmin,
  listAttempts,
  listRecordings,
  listReviewers,
  myGrants,
  myKeys,
  pendingRewraps,
  readRetention,
  enrolAdmin,
  listAdmins,
  recoveryInfo,
  setUpInstitution,
  readSegmentForReviewer,
  registerKeys,
  revoke,
  rewrapRecording,
  storeGrant,
  unlock,
  updateRetention,
} from './custody.service.js';

export interface CustodyRoutesOptions {
  readonly cells: Cells;
  readonly staff: StaffAuthContext;
  readonly clock?: () => number;
}

const idPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const indexPattern = /^(?:0|[1-9][0-9]{0,9})$/;

interface RecordingParams {
  institution: string;
  recording: string;
}

function recordingParams(params: RecordingParams): RecordingParams {
  if (!idPattern.test(params.institution) || !idPattern.test(params.recording)) throw custodyError('EV_ERR_CUSTODY_RECORDING_NOT_FOUND', 'no such recording');
  return params;
}

export const custodyRoutes: FastifyPluginAsync<CustodyRoutesOptions> = async (app, { cells, staff: context, clock = Date.now }) => {
  const anyStaff = requireStaff(['admin', 'reviewer'], context);
  const admin = requireStaff(['admin'], context);
  const cellOf = (request: FastifyRequest): Cell => staffCellOf(cells, request);

  app.put('/custody/me/keys', { preHandler: anyStaff }, async (request) => registerKeys(cellOf(request), staffOf(request), request.body, clock()));
  app.get('/custody/me/keys', { preHandler: anyStaff }, async (request) => myKeys(cellOf(request), staffOf(request)));
  app.get('/custody/me/grant', { preHandler: anyStaff }, async (request) => myGrants(cellOf(request), staffOf(request)));
  app.get('/custody/reviewers', { preHandler: admin }, async (request) => listReviewers(cellOf(request), staffOf(request)));
  app.get('/custody/admins', { preHandler: admin }, async (request) => listAdmins(cellOf(request), staffOf(request)));
  app.post('/custody/admins', { preHandler: admin }, async (request, reply) => reply.code(201).send(await enrolAdmin(cellOf(request), staffOf(request), request.body, clock(), 'admin')));
  app.post('/custody/grants', { preHandler: admin }, async (request, reply) => reply.code(201).send(await storeGrant(cellOf(request), staffOf(request), request.body, clock())));
  app.post('/custody/revocations', { preHandler: admin }, async (request, reply) => reply.code(201).send(await revoke(cellOf(request), staffOf(request), request.body, clock())));
  app.put('/custody/retention', { preHandler: admin }, async (request) => updateRetention(cellOf(request), staffOf(request), request.body, clock()));
  app.get('/custody/retention', { preHandler: admin }, async (request) => readRetention(cellOf(request), staffOf(request)));

  // Recorders (attempt credential) and staff (session) both need the current epoch key.
  app.get('/custody/epoch', async (request) => {
    if (request.headers.authorization !== undefined) {
      const { cell, scope } = await authenticateAttempt(request, cells, clock());
      return currentEpoch(cell, scope.institution);
    }
    const { cell, principal } = await authenticateStaff(request, context);
    return currentEpoch(cell, principal.institution);
  });

  // Reviewers' lists: an admin, or an approved member, of the session's institution (metadata only).
  app.get<{ Params: { exam: string } }>('/custody/exams/:exam/attempts', { preHandler: anyStaff }, async (request) => {
    if (!idPattern.test(request.params.exam)) throw custodyError('EV_ERR_CUSTODY_INVALID_REQUEST', 'not an exam id');
    return listAttempts(cellOf(request), staffOf(request), request.params.exam);
  });
  app.get<{ Params: { attempt: string } }>('/custody/attempts/:attempt/recordings', { preHandler: anyStaff }, async (request) => {
    if (!idPattern.test(request.params.attempt)) throw custodyError('EV_ERR_CUSTODY_INVALID_REQUEST', 'not an attempt id');
    return listRecordings(cellOf(request), staffOf(request), request.params.attempt);
  });

  app.post<{ Params: RecordingParams }>('/custody/recordings/:institution/:recording/unlock', { preHandler: anyStaff }, async (request) => {
    const p = recordingParams(request.params);
    return unlock(cellOf(request), staffOf(request), p.institution, p.recording);
  });

  app.get<{ Params: RecordingParams & { n: string } }>('/custody/recordings/:institution/:recording/segments/:n', { preHandler: anyStaff }, async (request, reply) => {
    const p = recordingParams(request.params);
    const n = indexPattern.test(request.params.n) ? Number(request.params.n) : NaN;
    if (!(n >= 0 && n <= 0xffffffff)) throw custodyError('EV_ERR_CUSTODY_SEGMENT_NOT_FOUND', 'segment index must be an integer 0..4294967295');
    const bytes = await readSegmentForReviewer(cellOf(request), staffOf(request), p.institution, p.recording, n);
    return reply.type('application/octet-stream').send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });

  // Institution set-up by its first admin (the recovery key, which enrols that admin); later, the
  // recovery key enrols a new admin when every admin is lost.
  app.put('/custody/recovery', { preHandler: admin }, async (request, reply) => reply.code(201).send(await setUpInstitution(cellOf(request), staffOf(request), request.body, clock())));
  app.get('/custody/recovery', { preHandler: admin }, async (request) => recoveryInfo(cellOf(request), staffOf(request)));
  app.post('/custody/recovery/admins', { preHandler: admin }, async (request, reply) => reply.code(201).send(await enrolAdmin(cellOf(request), staffOf(request), request.body, clock(), 'recovery')));

  // Re-wrapping older recordings to the current epoch (admin; the admin's client does the crypto).
  app.get('/custody/rewrap/pending', { preHandler: admin }, async (request) => pendingRewraps(cellOf(request), staffOf(request)));
  app.put<{ Params: RecordingParams }>('/custody/recordings/:institution/:recording/header', { preHandler: admin }, async (request) => {
    const p = recordingParams(request.params);
    return rewrapRecording(cellOf(request), staffOf(request), p.institution, p.recording, request.body);
  });

  app.delete<{ Params: RecordingParams }>('/custody/recordings/:institution/:recording', { preHandler: admin }, async (request) => {
    const p = recordingParams(request.params);
    return deleteRecordingAsAdmin(cellOf(request), staffOf(request), p.institution, p.recording);
  });
};
