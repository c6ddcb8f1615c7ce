/**
 * Opens everything the API needs for a configuration — one cell per configured region, and the
 * global directory — and returns the routes that serve them. main.ts, the operator CLI and tests call
 * this, then hand the routes to buildApp.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { Kysely } from 'kysely';
import { openApiDocument } from '../protocol/openapi.js';
import type { ServerConfig } from './config.types.js';
import { openSqlite } from './db/dialect.sqlite.js';
import { migrateToLatest } from './db/migrate.js';
import type { DirectoryDatabase } from './db/schema.js';
import { recordingRoutes } from './recordings/recording.routes.js';
import type { Cell, Cells } from './regions/cell.types.js';
import { fsCellBlobs } from './regions/cell-storage.fs.js';
import { type CellBlobFactory, openCell } from './regions/cells.js';
import { staffRoutes } from './staff/staff.routes.js';
import { custodyRoutes } from './custody/custody.routes.js';
import { auditRoutes } from './audit/audit.routes.js';
import { startRetentionTimer } from './custody/retention.js';
import { examRoutes } from './exams/exam.routes.js';
import { openPasscodeKeys } from './platforms/passcode-key.js';
import { recordingCompleted } from './platforms/passcode.service.js';
import { platformRoutes } from './platforms/platform.routes.js';
import { WebhookDispatcher, type WebhookOptions } from './platforms/webhook-outbox.js';
import { ltiRoutes } from './lti/lti.routes.js';
import { ToolKeys } from './lti/tool-keys.js';
import { attemptRoutes } from './attempts/attempt.routes.js';

export interface Services {
  /** Registered by buildApp under the API prefix. */
  readonly routes: FastifyPluginAsync;
  readonly cells: Cells;
  readonly directory: Kysely<DirectoryDatabase>;
  /** Delivers the platforms' webhooks from each cell's outbox. */
  readonly webhooks: WebhookDispatcher;
  close(): Promise<void>;
}

export interface ServiceOptions {
  readonly blobs?: CellBlobFactory;
  readonly clock?: () => number;
  readonly webhooks?: WebhookOptions;
}

/** `publicOrigin` is needed to serve the API (staff sign-in binds passkeys to it), not to provision data. */
export async function openServices(config: Pick<ServerConfig, 'dataDir' | 'regions'> & Partial<Pick<ServerConfig, 'publicOrigin' | 'attemptCredentialTtlSeconds'>>, options: ServiceOptions = {}): Promise<Services> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const passcodeKeys = await openPasscodeKeys(config.dataDir, config.regions);
  const directory = openSqlite<DirectoryDatabase>(join(config.dataDir, 'directory.db'));
  await migrateToLatest(directory as never, 'directory');
  const cells = new Map<string, Cell>();
  try {
    for (const region of config.regions) cells.set(region, await openCell(config.dataDir, region, options.blobs ?? fsCellBlobs));
  } catch (e) {
    for (const cell of cells.values()) await cell.close();
    await directory.destroy();
    throw e;
  }
  const clock = options.clock ?? Date.now;
  // Retention: expired recordings are crypto-shredded hourly (custody/retention.ts); the timer never holds the process open.
  const stopRetention = startRetentionTimer(cells, clock);
  const webhooks = new WebhookDispatcher(cells, passcodeKeys, clock, options.webhooks);
  return {
    cells,
    directory,
    webhooks,
    routes: async (app) => {
      app.get('/openapi.json', async () => openApiDocument);
      // Only a serving process delivers webhooks; an operator command that opens the services does not.
      webhooks.start();
      const onEvent = () => webhooks.kick();
      await app.register(recordingRoutes, { cells, clock, onComplete: (cell, scope, status) => recordingCompleted(cell, scope, status, clock(), onEvent) });
      await app.register(attemptRoutes, { cells, clock });
      if (config.publicOrigin === undefined) throw new Error('services opened without publicOrigin cannot serve the API');
      await app.register(staffRoutes, { cells, directory, publicOrigin: config.publicOrigin, clock });
      await app.register(custodyRoutes, { cells, clock, staff: { cells, clock, publicOrigin: config.publicOrigin } });
      await app.register(examRoutes, { staff: { cells, clock, publicOrigin: config.publicOrigin } });
      await app.register(platformRoutes, { staff: { cells, clock, publicOrigin: config.publicOrigin }, directory, keys: passcodeKeys, onEvent, allowLoopbackWebhooks: options.webhooks?.allowLoopback === true });
      const toolKeys = await ToolKeys.open(join(config.dataDir, 'lti'), clock);
      await app.register(ltiRoutes, { cells, directory, publicOrigin: config.publicOrigin, clock, toolKeys, attemptTtlSeconds: config.attemptCredentialTtlSeconds ?? 3600 });
      await app.register(auditRoutes, { cells, clock, staff: { cells, clock, publicOrigin: config.publicOrigin } });
    },
    async close() {
      stopRetention();
      await webhooks.close();
      for (const cell of cells.values()) await cell.close();
      await directory.destroy();
    },
  };
}
