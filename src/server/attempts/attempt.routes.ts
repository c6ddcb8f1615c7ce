/**
 * GET /v1/attempts/me: the recorder learns, from its credential alone, the context it must seal
 * into each recording's header (the upload route refuses any other). The credential is the only
 * input, so an attempt learns nothing about any other.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { AttemptInfo } from '../../protocol/attempt.js';
import type { Cells } from '../regions/cell.types.js';
import { snapshotIntervalOf } from '../exams/exam.service.js';
import { authenticateAttempt } from './attempt-auth.js';

export interface AttemptRoutesOptions {
  readonly cells: Cells;
  readonly clock?: () => number;
}

export const attemptRoutes: FastifyPluginAsync<AttemptRoutesOptions> = async (app, { cells, clock = Date.now }) => {
  app.get('/attempts/me', async (request): Promise<AttemptInfo> => {
    const { scope, cell } = await authenticateAttempt(request, cells, clock());
    const snapshotIntervalSeconds = await snapshotIntervalOf(cell, scope.institution, scope.exam);
    return { institution: scope.institution, region: scope.region, exam: scope.exam, attempt: scope.attempt, expiresAt: scope.expiresAt, snapshotIntervalSeconds };
  });
};
