/**
 * Who a staff request is from. A staff member (institution admin or reviewer) is an opaque id in one
 * institution's cell: no name, no email. Feature routes get a StaffPrincipal from `requireStaff`
 * (staff-auth.ts) as `request.staff`, and authorize by `role` and `institution` from it, never from
 * anything the client sends.
 */
import type { Cell, Cells } from '../regions/cell.types.js';

export type StaffRole = 'admin' | 'reviewer';

export const staffRoles: readonly StaffRole[] = ['admin', 'reviewer'];

export interface StaffPrincipal {
  readonly staffId: string;
  readonly institution: string;
  /** The region of the institution's cell, where every staff row lives. */
  readonly region: string;
  readonly role: StaffRole;
}

/** What session checks need: set once from config and services, passed to `requireStaff`. */
export interface StaffAuthContext {
  readonly cells: Cells;
  /** config.publicOrigin: the only Origin a state-changing staff request may come from. */
  readonly publicOrigin: string;
  readonly clock: () => number;
}

/** A session as created by sign-in (or by tests through `createStaffSession`). */
export interface StaffSession {
  /** The session token (the cookie's value). Shown once; only its hash is kept. */
  readonly token: string;
  /** A ready `Cookie` request header value: `__Host-ev_session=<token>`. */
  readonly cookie: string;
  /** The value state-changing requests must send in `x-ev-csrf`. */
  readonly csrfToken: string;
  readonly expiresAt: number;
}

export interface AuthenticatedStaff {
  readonly principal: StaffPrincipal;
  readonly cell: Cell;
  /** Hash of the session token: what sign-out deletes. */
  readonly sessionHash: string;
  readonly csrfToken: string;
  readonly expiresAt: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `requireStaff` before the handler runs; absent on routes without it. */
    staff?: StaffPrincipal;
  }
}
