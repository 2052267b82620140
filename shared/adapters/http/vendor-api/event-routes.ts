import { z } from 'zod';
import { getVendorEvent, listVendorEvents } from '../../../app/read-vendor-records';
import {
  MAX_REPLAY_PER_CALL,
  replayVendorEvent,
  replayVendorEvents,
} from '../../../app/replay-vendor-events';
import type { ReplayVendorEventsDeps } from '../../../app/replay-vendor-events';
import { HOUR_MS } from '../../../domain/time';
import { readJsonBody } from './request-body';
import { deliveryResource, eventResource } from './resources';
import { jsonResponse } from './responses';
import type { Route, RouteContext } from './route';
import { pathTemplate } from './route-path';
import {
  cursorSchema,
  eventIdSchema,
  instantSchema,
  invalidRequest,
  limitSchema,
  parseInput,
  singleValues,
  withCursor,
} from './validation';

/** Without `from`, the log is read from this long before `to`. */
const DEFAULT_RANGE_MS = 24 * HOUR_MS;

const rangeQuerySchema = z.strictObject({
  from: instantSchema.optional(),
  to: instantSchema.optional(),
  limit: limitSchema,
  cursor: cursorSchema.optional(),
});
const eventPathSchema = z.object({ id: eventIdSchema });
const deliveriesQuerySchema = z.strictObject({
  limit: limitSchema,
  cursor: cursorSchema.optional(),
});
const replayRangeSchema = z
  .strictObject({
    from: instantSchema,
    to: instantSchema,
    cursor: cursorSchema.optional(),
    limit: z
      .number('must be a number')
      .int('must be a whole number')
      .min(1, `must be from 1 to ${MAX_REPLAY_PER_CALL}`)
      .max(MAX_REPLAY_PER_CALL, `must be from 1 to ${MAX_REPLAY_PER_CALL}`)
      .optional(),
  })
  .refine((range) => range.from < range.to, { path: ['to'], message: 'must be after from' });

/** `[from, to)`: `to` is now unless given, `from` a day before `to` unless given. */
const rangeOf = (
  query: { readonly from?: number; readonly to?: number },
  nowEpochMs: number,
): { fromEpochMs: number; toEpochMs: number } => {
  const toEpochMs = query.to ?? nowEpochMs;
  const fromEpochMs = query.from ?? toEpochMs - DEFAULT_RANGE_MS;
  if (fromEpochMs > toEpochMs) {
    throw invalidRequest('the request query is invalid', [
      { path: 'query.from', message: 'must not be after to' },
    ]);
  }
  return { fromEpochMs, toEpochMs };
};

const replayDeps = ({ deps, logger }: RouteContext): ReplayVendorEventsDeps => ({
  store: deps.store,
  clock: deps.clock,
  logger,
  ...(deps.deliverNow ? { deliverNow: deps.deliverNow } : {}),
});

/** GET /v1/events: the event log, oldest first, with how each event's delivery stands. */
const listEvents: Route = {
  method: 'GET',
  path: pathTemplate('/v1/events'),
  scope: 'read',
  takesBody: false,
  handle: async ({ request, deps }) => {
    const query = parseInput(rangeQuerySchema, singleValues(request.query), 'query');
    const range = rangeOf(query, deps.clock.now());
    const page = await withCursor(() =>
      listVendorEvents(deps, range, { limit: query.limit, cursor: query.cursor ?? null }),
    );
    return jsonResponse(200, {
      items: page.items.map(eventResource),
      nextCursor: page.nextCursor,
    });
  },
};

/** GET /v1/events/{id}: one event, with a page of its delivery log. */
const getEvent: Route = {
  method: 'GET',
  path: pathTemplate('/v1/events/{id+}'),
  scope: 'read',
  takesBody: false,
  handle: async ({ request, params, deps }) => {
    const query = parseInput(deliveriesQuerySchema, singleValues(request.query), 'query');
    const { id } = parseInput(eventPathSchema, params, 'path');
    const record = await withCursor(() =>
      getVendorEvent(deps, id, { limit: query.limit, cursor: query.cursor ?? null }),
    );
    return jsonResponse(200, {
      ...eventResource(record.message),
      deliveries: record.deliveries.items.map(deliveryResource),
      deliveriesNextCursor: record.deliveries.nextCursor,
    });
  },
};

/** POST /v1/events/replay: delivers again the events of a time range, a bounded number a call. */
const replayRange: Route = {
  method: 'POST',
  path: pathTemplate('/v1/events/replay'),
  scope: 'admin',
  takesBody: true,
  handle: async (context) => {
    const { request, caller } = context;
    parseInput(z.strictObject({}), singleValues(request.query), 'query');
    const body = parseInput(replayRangeSchema, readJsonBody(request), 'body');
    const result = await withCursor(
      () =>
        replayVendorEvents(
          replayDeps(context),
          {
            fromEpochMs: body.from,
            toEpochMs: body.to,
            cursor: body.cursor ?? null,
            ...(body.limit === undefined ? {} : { limit: body.limit }),
          },
          caller.keyId,
        ),
      'body',
    );
    return jsonResponse(202, result);
  },
};

/** POST /v1/events/{id}/replay: delivers one event again. */
const replayOne: Route = {
  method: 'POST',
  path: pathTemplate('/v1/events/{id+}/replay'),
  scope: 'admin',
  takesBody: false,
  handle: async (context) => {
    const { request, params, caller } = context;
    parseInput(z.strictObject({}), singleValues(request.query), 'query');
    const { id } = parseInput(eventPathSchema, params, 'path');
    const message = await replayVendorEvent(replayDeps(context), { id, actor: caller.keyId });
    return jsonResponse(202, eventResource(message));
  },
};

/** The replay routes first: `/v1/events/{id}` would also take their paths. */
export const EVENT_ROUTES: readonly Route[] = [replayRange, replayOne, listEvents, getEvent];
