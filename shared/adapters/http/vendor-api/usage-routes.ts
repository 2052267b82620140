import { z } from 'zod';
import { ingestUsage, listUsage, MAX_USAGE_RECORDS_PER_BATCH } from '../../../app/ingest-usage';
import { HOUR_MS } from '../../../domain/time';
import { readJsonBody } from './request-body';
import { usageHourResource } from './resources';
import { jsonResponse } from './responses';
import type { Route } from './route';
import { pathTemplate } from './route-path';
import {
  cursorSchema,
  instantSchema,
  invalidRequest,
  limitSchema,
  parseInput,
  singleValues,
  vendorIdTextSchema,
  withCursor,
} from './validation';

/** Without `from`, hours are read from this long before `to`. */
const DEFAULT_RANGE_MS = 24 * HOUR_MS;

/**
 * The batch itself; each record is parsed on its own by `ingestUsage`, so that one bad record
 * is answered in its result and does not refuse the others.
 */
const ingestBodySchema = z.strictObject({
  records: z
    .array(z.unknown(), 'must be an array of usage records')
    .min(1, 'must hold at least one usage record')
    .max(
      MAX_USAGE_RECORDS_PER_BATCH,
      `must hold at most ${MAX_USAGE_RECORDS_PER_BATCH} usage records`,
    ),
});

const listQuerySchema = z.strictObject({
  entitlementId: vendorIdTextSchema,
  from: instantSchema.optional(),
  to: instantSchema.optional(),
  limit: limitSchema,
  cursor: cursorSchema.optional(),
});

/** POST /v1/usage: a batch of usage records, answered record by record. */
const reportUsage: Route = {
  method: 'POST',
  path: pathTemplate('/v1/usage'),
  scope: 'usage:write',
  takesBody: true,
  handle: async ({ request, deps, logger }) => {
    parseInput(z.strictObject({}), singleValues(request.query), 'query');
    const body = parseInput(ingestBodySchema, readJsonBody(request), 'body');
    const result = await ingestUsage(
      {
        store: deps.store,
        clock: deps.clock,
        windowHours: deps.usage.windowHours,
        knownDimensions: deps.usage.knownDimensions,
        dedupeTtlSeconds: deps.usage.dedupeTtlSeconds,
        clouds: deps.usage.clouds,
      },
      body.records,
    );
    logger.info('usage ingested', {
      records: body.records.length,
      accepted: result.accepted,
      duplicates: result.duplicates,
      rejected: result.rejected,
    });
    return jsonResponse(200, result);
  },
};

/** GET /v1/usage: one purchase's usage hours and what became of them. */
const listUsageHours: Route = {
  method: 'GET',
  path: pathTemplate('/v1/usage'),
  scope: 'read',
  takesBody: false,
  handle: async ({ request, deps }) => {
    const query = parseInput(listQuerySchema, singleValues(request.query), 'query');
    const toEpochMs = query.to ?? deps.clock.now();
    const fromEpochMs = query.from ?? toEpochMs - DEFAULT_RANGE_MS;
    if (fromEpochMs > toEpochMs) {
      throw invalidRequest('the request query is invalid', [
        { path: 'query.from', message: 'must not be after to' },
      ]);
    }
    const page = await withCursor(() =>
      listUsage(
        deps,
        { entitlementId: query.entitlementId, fromEpochMs, toEpochMs },
        { limit: query.limit, cursor: query.cursor ?? null },
      ),
    );
    return jsonResponse(200, {
      items: page.items.map(usageHourResource),
      nextCursor: page.nextCursor,
    });
  },
};

export const USAGE_ROUTES: readonly Route[] = [reportUsage, listUsageHours];
