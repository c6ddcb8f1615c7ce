/**
 * HTTP routes of exams (docs/EXAMS.md). Admins create; admins and approved reviewers read (the same
 * rule as the attempt and recording lists). The institution comes from the session.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { mayList } from '../custody/custody.service.js';
import type { Cell } from '../regions/cell.types.js';
import { requireStaff, staffCellOf, staffOf } from '../staff/staff-auth.js';
import type { StaffAuthContext } from '../staff/staff.types.js';
import { createExam, examOf, examsOf } from './exam.service.js';

export interface ExamRoutesOptions {
  readonly staff: StaffAuthContext;
}

export const examRoutes: FastifyPluginAsync<ExamRoutesOptions> = async (app, { staff: context }) => {
  const anyStaff = requireStaff(['admin', 'reviewer'], context);
  const admin = requireStaff(['admin'], context);
  const cellOf = (request: FastifyRequest): Cell => staffCellOf(context.cells, request);

  app.post('/exams', { preHandler: admin }, async (request, reply) => {
    const exam = await createExam(cellOf(request), staffOf(request).institution, request.body, context.clock());
    return reply.code(201).send(exam);
  });
  app.get('/exams', { preHandler: anyStaff }, async (request) => {
    await mayList(cellOf(request), staffOf(request));
    return examsOf(cellOf(request), staffOf(request).institution);
  });
  app.get<{ Params: { exam: string } }>('/exams/:exam', { preHandler: anyStaff }, async (request) => {
    await mayList(cellOf(request), staffOf(request));
    return examOf(cellOf(request), staffOf(request).institution, request.params.exam);
  });
};
