import { v5 as uuidv5 } from 'uuid';
import { z } from 'zod';
import { billsUsageAt, isUsable } from '../domain/entitlement';
import {
  NotFoundError,
  UsageHourSealedError,
  UsageHourTotalTooLargeError,
  ValidationError,
} from '../domain/errors';
import { MAX_KEY_BYTES, MAX_USAGE_QUANTITY } from '../domain/limits';
import { CLOUDS } from '../domain/model';
import type {
  Cloud,
  Entitlement,
  EntitlementRef,
  UsageHour,
  UsageHourKey,
  UsageTags,
} from '../domain/model';
import { HOUR_MS, hourStartEpochMs, toEpochSeconds, toIsoHour } from '../domain/time';
import { assertTags, canonicalTags, MAX_TAG_SETS_PER_HOUR } from '../domain/usage-allocations';
import { awsSendRefusal } from '../domain/usage-window';
import { refOfVendorId, vendorIdOf } from '../domain/vendor-events';
import type { Clock } from '../ports/clock';
import type { CountedUsage, Page, PageRequest, Store, UsageIngestRecord } from '../ports/store';
import { inParallel } from './in-parallel';
import { allEntitlements } from './all-entitlements';

/** The most records one ingest takes: the vendor API's `POST /v1/usage` limit. */
export const MAX_USAGE_RECORDS_PER_BATCH = 1_000;

/** How far a record's timestamp may run ahead of our clock: the caller's clock may be fast. */
export const USAGE_CLOCK_SKEW_MS = 5 * 60 * 1_000;

/**
 * The end of the window is kept for sending, not for taking usage in: an hour is sent by the
 * hourly run after it closes, so usage that arrives in the window's last hour could not reach
 * the marketplace before the marketplace stops taking it.
 */
const SEND_MARGIN_MS = HOUR_MS;

/** Store adds (and entitlement reads) in flight at once during one ingest. */
const DEFAULT_CONCURRENCY = 8;

/** Why a record was not taken. */
export const UsageRejection = {
  /** The record does not match `usageRecordSchema`; `path` says where. */
  invalidRecord: 'invalid_record',
  /** Its allocations break AWS's rules, or would give the hour more allocations than AWS takes. */
  invalidAllocations: 'invalid_allocations',
  /**
   * Its usage id came earlier in the same batch, or was counted by an earlier batch, with other
   * content (hour, dimension, quantity or entitlement).
   */
  conflictingDuplicate: 'conflicting_duplicate',
  /**
   * Its hour is older than the metering window, or its timestamp is in the future; or, on AWS,
   * its month closed before the hour can be sent (AWS takes a previous month's usage only until
   * 06:00 UTC on the 1st).
   */
  outsideWindow: 'outside_window',
  entitlementNotFound: 'entitlement_not_found',
  /**
   * The entitlement is not in a status in which usage is billed: not yet approved, suspended,
   * or ended before the record's timestamp (or, on AWS, more than the hour of final usage AWS
   * allows before the hour can be sent).
   */
  entitlementNotActive: 'entitlement_not_active',
  /** The tenant has no usable entitlement of a cloud this deployment meters. */
  noActiveEntitlement: 'no_active_entitlement',
  /** The tenant has more than one: the record must name the entitlement. */
  ambiguousTenant: 'ambiguous_tenant',
  /** The entitlement bills no such dimension. */
  unknownDimension: 'unknown_dimension',
  /** The hour was already sealed for sending: it can no longer be billed. */
  hourClosed: 'hour_closed',
  /**
   * It would take its hour's total (for its entitlement and dimension) past 2,147,483,647, the
   * most AWS takes for one record; the same limit holds on both clouds.
   */
  hourTotalTooLarge: 'hour_total_too_large',
} as const;
export type UsageRejection = (typeof UsageRejection)[keyof typeof UsageRejection];

export type UsageRecordStatus = 'accepted' | 'duplicate' | 'rejected';

/** The answer for one record of a batch. */
export interface UsageRecordResult {
  /** `null` when the record carried no usable usage id. */
  readonly usageId: string | null;
  /**
   * `accepted`: counted now; `duplicate`: counted before with the same content (a retry), not
   * counted again, whatever changed since; `rejected`: not counted, see `code`.
   */
  readonly status: UsageRecordStatus;
  readonly code?: UsageRejection;
  readonly message?: string;
  /** Where in the record the problem is, such as `allocations[0].quantity`. */
  readonly path?: string;
}

export interface IngestUsageResult {
  /** One per record, in request order. */
  readonly results: readonly UsageRecordResult[];
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: number;
}

export interface IngestUsageDeps {
  readonly store: Store;
  readonly clock: Clock;
  /** How long after an hour usage for it is still taken (see `METERING_WINDOW_HOURS`). */
  readonly windowHours: number;
  /** The dimensions an entitlement bills (see `loadUsageIngestConfig`). */
  readonly knownDimensions: (entitlement: Entitlement) => ReadonlySet<string>;
  /** How long a usage id is remembered, so that a retry answers duplicate. */
  readonly dedupeTtlSeconds: number;
  /** The clouds whose usage this deployment sends; every cloud unless given. */
  readonly clouds?: readonly Cloud[];
  /** Store calls in flight at once; 8 unless given. */
  readonly concurrency?: number;
}

// Usage ids become store keys; `#` is left out so that the ids derived from one (one per
// allocation) can never be a caller's own id.
const USAGE_ID_PATTERN = /^[A-Za-z0-9._:@/+=~-]{1,128}$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/** Text that can be part of a store key: no control characters, no surrounding spaces. */
const keyText = (maxChars: number) =>
  z
    .string()
    .min(1, 'must not be empty')
    .max(maxChars, `must be at most ${maxChars} characters`)
    .refine(
      (value) => !CONTROL_CHARACTERS.test(value) && value.trim() === value,
      'must not hold control characters or surrounding spaces',
    );

const quantitySchema = z
  .number('must be a number')
  .int('must be a whole number')
  .min(0, 'must not be negative')
  // AWS BatchMeterUsage takes a 32-bit integer; Service Control an int64, so AWS's is the bound.
  .max(MAX_USAGE_QUANTITY, `must be at most ${MAX_USAGE_QUANTITY}`);

const tagsSchema = z.unknown().transform((value, ctx): UsageTags => {
  try {
    return assertTags(value, 'tags');
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    ctx.addIssue({ code: 'custom', message: error.message });
    return z.NEVER;
  }
});

const allocationSchema = z.strictObject({
  /** Without tags: the record's untagged share. */
  tags: tagsSchema.optional(),
  quantity: quantitySchema,
});

/** One usage record of the vendor's, as `POST /v1/usage` takes it. */
export const usageRecordSchema = z
  .strictObject({
    usageId: z
      .string('must be a string')
      .regex(USAGE_ID_PATTERN, 'must be 1 to 128 characters of [A-Za-z0-9._:@/+=~-]'),
    entitlementId: keyText(MAX_KEY_BYTES)
      .refine(
        (value) => refOfVendorId(value) !== null,
        'must be a vendor id, `<cloud>:<marketplace id>` such as `aws:<LicenseArn>`',
      )
      .optional(),
    // As the vendor API's tenant paths take it: signups mint UUIDs, and an admin's link takes
    // no `/`, so an id with one can belong to no tenant.
    tenantId: keyText(256)
      .refine((value) => !value.includes('/'), 'must not contain "/"')
      .optional(),
    dimension: keyText(255),
    quantity: quantitySchema,
    timestamp: z.iso.datetime({
      offset: true,
      error: 'must be an ISO 8601 date-time with a time zone, such as 2026-11-22T10:15:00Z',
    }),
    allocations: z
      .array(allocationSchema)
      .min(1, 'must hold at least one allocation')
      .max(MAX_TAG_SETS_PER_HOUR, `must hold at most ${MAX_TAG_SETS_PER_HOUR} allocations`)
      .optional(),
  })
  .superRefine((record, ctx) => {
    if ((record.entitlementId === undefined) === (record.tenantId === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [record.entitlementId === undefined ? 'entitlementId' : 'tenantId'],
        message: 'give exactly one of entitlementId or tenantId',
      });
    }
    if (record.allocations === undefined) return;
    const sum = record.allocations.reduce((total, allocation) => total + allocation.quantity, 0);
    if (sum !== record.quantity) {
      ctx.addIssue({
        code: 'custom',
        path: ['allocations'],
        message: `quantities sum to ${sum}, not to the record's quantity ${record.quantity}`,
      });
    }
    // AWS refuses a record whose allocations repeat a tag set (InvalidUsageAllocationsException).
    const seen = new Set<string>();
    record.allocations.forEach((allocation, index) => {
      const set = allocation.tags === undefined ? '' : canonicalTags(allocation.tags);
      if (seen.has(set)) {
        ctx.addIssue({
          code: 'custom',
          path: ['allocations', index, 'tags'],
          message:
            allocation.tags === undefined
              ? 'only one allocation may be untagged'
              : 'repeats the tags of an earlier allocation',
        });
      }
      seen.add(set);
    });
  });

export type UsageRecordInput = z.infer<typeof usageRecordSchema>;

// Names the ids derived from a usage id and a tag set (a fixed, random UUID).
const ALLOCATION_NAMESPACE = '0b7e3f52-9c1a-4d6e-8f2b-5a4c3d2e1f60';

/**
 * The store records of one usage record: itself, or one per allocation with an id derived from
 * its usage id and its tags, the same on every retry (whatever the order of the allocations),
 * so that a retry finds every part counted.
 */
const ingestRecordsOf = (record: UsageRecordInput): UsageIngestRecord[] =>
  record.allocations === undefined
    ? [{ usageId: record.usageId, quantity: record.quantity }]
    : record.allocations.map((allocation) =>
        allocation.tags === undefined
          ? { usageId: `${record.usageId}#untagged`, quantity: allocation.quantity }
          : {
              usageId: `${record.usageId}#${uuidv5(canonicalTags(allocation.tags), ALLOCATION_NAMESPACE)}`,
              quantity: allocation.quantity,
              tags: allocation.tags,
            },
      );

/** What a record says, whatever the order of its allocations or the notation of its time. */
const contentOf = (record: UsageRecordInput): string =>
  JSON.stringify([
    record.entitlementId ?? null,
    record.tenantId ?? null,
    record.dimension,
    record.quantity,
    Date.parse(record.timestamp),
    (record.allocations ?? [])
      .map((a) => [a.tags === undefined ? null : canonicalTags(a.tags), a.quantity] as const)
      .sort(([a], [b]) => (a ?? '').localeCompare(b ?? '')),
  ]);

const pathOf = (path: readonly PropertyKey[]): string =>
  path.reduce<string>(
    (text, part) =>
      typeof part === 'number'
        ? `${text}[${part}]`
        : text
          ? `${text}.${String(part)}`
          : String(part),
    '',
  );

const rejected = (
  usageId: string | null,
  code: UsageRejection,
  message: string,
  path?: string,
): UsageRecordResult => ({
  usageId,
  status: 'rejected',
  code,
  message,
  ...(path === undefined ? {} : { path }),
});

/** Echoes the caller's usage id when it is one we could have taken. */
const usageIdOf = (raw: unknown): string | null => {
  const value =
    typeof raw === 'object' && raw !== null ? (raw as { usageId?: unknown }).usageId : undefined;
  return typeof value === 'string' && USAGE_ID_PATTERN.test(value) ? value : null;
};

const invalid = (raw: unknown, error: z.ZodError): UsageRecordResult => {
  const [first] = error.issues;
  const path = pathOf(first?.path ?? []);
  // Allocation rules get their own code: the record is well formed, its split is not.
  const code =
    first?.path[0] === 'allocations'
      ? UsageRejection.invalidAllocations
      : UsageRejection.invalidRecord;
  const message = error.issues
    .slice(0, 3)
    .map((issue) => {
      const at = pathOf(issue.path);
      return at ? `${at}: ${issue.message}` : issue.message;
    })
    .join('; ');
  return rejected(usageIdOf(raw), code, message, path);
};

/** A record that passed every check made before the store. */
interface Candidate {
  readonly index: number;
  readonly record: UsageRecordInput;
  readonly hourStartEpochMs: number;
}

type Resolution =
  | { readonly entitlement: Entitlement }
  | { readonly code: UsageRejection; readonly message: string };

const refKey = (ref: EntitlementRef): string => vendorIdOf(ref);

/**
 * Resolves every entitlement the candidates name, reading each once: a tenant's by one listing
 * (which also yields the entitlements it holds), an entitlement id by one read unless a listing
 * already brought it. A tenant resolves to its one usable entitlement only; one named by id is
 * resolved whatever its status, which `statusRefusal` then judges record by record.
 */
const resolveEntitlements = async (
  deps: IngestUsageDeps,
  candidates: readonly Candidate[],
  clouds: ReadonlySet<Cloud>,
  concurrency: number,
): Promise<Map<string, Resolution>> => {
  const known = new Map<string, Entitlement | null>();
  const byTenant = new Map<string, Resolution>();
  const tenants = [
    ...new Set(candidates.flatMap((c) => (c.record.tenantId ? [c.record.tenantId] : []))),
  ];
  await inParallel(tenants, concurrency, async (tenantId) => {
    const usable: Entitlement[] = [];
    for await (const entitlement of allEntitlements(
      deps.store,
      { by: 'tenant', tenantId },
      1_000,
    )) {
      known.set(refKey(entitlement), entitlement);
      if (clouds.has(entitlement.cloud) && isUsable(entitlement.status)) usable.push(entitlement);
    }
    const [only] = usable;
    byTenant.set(
      tenantId,
      usable.length === 1 && only
        ? { entitlement: only }
        : usable.length === 0
          ? {
              code: UsageRejection.noActiveEntitlement,
              message: `tenant ${tenantId} has no active entitlement that bills usage here`,
            }
          : {
              code: UsageRejection.ambiguousTenant,
              message: `tenant ${tenantId} has ${usable.length} active entitlements (${usable
                .slice(0, 5)
                .map(vendorIdOf)
                .join(', ')}); name one with entitlementId`,
            },
    );
  });

  const refs = new Map<string, EntitlementRef>();
  for (const { record } of candidates) {
    const ref = record.entitlementId === undefined ? null : refOfVendorId(record.entitlementId);
    if (ref && clouds.has(ref.cloud) && !known.has(refKey(ref))) refs.set(refKey(ref), ref);
  }
  await inParallel([...refs.values()], concurrency, async (ref) => {
    known.set(refKey(ref), await deps.store.getEntitlement(ref));
  });

  const resolutions = new Map<string, Resolution>(
    [...byTenant].map(([tenantId, resolution]) => [`tenant:${tenantId}`, resolution]),
  );
  for (const { record } of candidates) {
    if (record.entitlementId === undefined) continue;
    const ref = refOfVendorId(record.entitlementId)!;
    const entitlement = known.get(refKey(ref)) ?? null;
    resolutions.set(
      `entitlement:${record.entitlementId}`,
      !clouds.has(ref.cloud)
        ? {
            code: UsageRejection.entitlementNotFound,
            message: `this deployment takes no ${ref.cloud} usage`,
          }
        : entitlement === null
          ? {
              code: UsageRejection.entitlementNotFound,
              message: `entitlement ${record.entitlementId} not found`,
            }
          : { entitlement },
    );
  }
  return resolutions;
};

/**
 * Why the entitlement bills no usage at the record's time, or `null`: a live purchase bills
 * usage, an ended one its final usage, dated before its end, which both marketplaces take (AWS
 * for about an hour after the end, see `awsSendRefusal`; Google bills the hours that began
 * before it).
 */
const statusRefusal = (
  entitlement: Entitlement,
  atEpochMs: number,
): { readonly message: string } | null => {
  if (billsUsageAt(entitlement, atEpochMs)) return null;
  const ended = entitlement.endedAtEpochMs;
  if (ended === null)
    return { message: `entitlement ${vendorIdOf(entitlement)} is ${entitlement.status}` };
  return {
    message: `entitlement ${vendorIdOf(entitlement)} ended at ${new Date(ended).toISOString()}; usage after its end is not billed`,
  };
};

/** Why AWS will refuse the record by the time its hour is sent (see `awsSendRefusal`), or `null`. */
const awsRefusal = (
  entitlement: Entitlement,
  hourStart: number,
  nowEpochMs: number,
): { readonly code: UsageRejection; readonly message: string } | null => {
  if (entitlement.cloud !== 'aws') return null;
  const refusal = awsSendRefusal(hourStart, nowEpochMs, entitlement.endedAtEpochMs);
  if (refusal === null) return null;
  const since = new Date(refusal.sinceEpochMs).toISOString();
  return refusal.reason === 'month_closed'
    ? {
        code: UsageRejection.outsideWindow,
        message: `hour ${toIsoHour(hourStart)} is of a month AWS takes no more usage for after ${since}, before the hour can be sent`,
      }
    : {
        code: UsageRejection.entitlementNotActive,
        message: `entitlement ${vendorIdOf(entitlement)} ended; AWS takes its final usage only until about ${since}, before the hour can be sent`,
      };
};

/**
 * The ids a record's earlier count would have left: its own and its parts' (see
 * `ingestRecordsOf`), so that a retry with or without allocations finds what was counted.
 */
const markerIdsOf = (record: UsageRecordInput): string[] => [
  ...new Set([record.usageId, ...ingestRecordsOf(record).map((part) => part.usageId)]),
];

/** What an earlier count of a record's usage id says about it. */
type EarlierCount =
  | { readonly kind: 'none' }
  | { readonly kind: 'whole' }
  /** Some parts were counted, by a try that failed part-way: the rest go to the same hour. */
  | { readonly kind: 'part'; readonly hour: UsageHourKey }
  | { readonly kind: 'other'; readonly message: string };

/**
 * Compares a record with what the store counted under its usage ids: the same hour, dimension,
 * entitlement (when the record names one; a tenant's may have changed since) and quantity of
 * each part is the same record again.
 */
const earlierCountOf = (
  record: UsageRecordInput,
  counted: ReadonlyMap<string, CountedUsage>,
): EarlierCount => {
  const found = markerIdsOf(record).flatMap((id) => {
    const one = counted.get(id);
    return one === undefined ? [] : [one];
  });
  if (found.length === 0) return { kind: 'none' };
  const parts = new Map(ingestRecordsOf(record).map((part) => [part.usageId, part.quantity]));
  const hourStart = hourStartEpochMs(Date.parse(record.timestamp));
  const named = record.entitlementId === undefined ? null : refOfVendorId(record.entitlementId);
  const same = (one: CountedUsage): boolean =>
    parts.get(one.usageId) === one.quantity &&
    (one.hour === null ||
      (one.hour.hourStartEpochMs === hourStart &&
        one.hour.dimension === record.dimension &&
        (named === null ||
          refKey(named) === refKey({ cloud: one.hour.cloud, id: one.hour.entitlementId }))));
  const other = found.find((one) => !same(one));
  if (other !== undefined) {
    return {
      kind: 'other',
      message:
        other.hour === null || !parts.has(other.usageId)
          ? 'an earlier batch counted this usage id with other content'
          : `an earlier batch counted this usage id as ${other.quantity} of "${other.hour.dimension}" in hour ${toIsoHour(other.hour.hourStartEpochMs)} of ${refKey({ cloud: other.hour.cloud, id: other.hour.entitlementId })}`,
    };
  }
  if (found.length === parts.size) return { kind: 'whole' };
  const hour = found.find((one) => one.hour !== null)?.hour;
  return hour === undefined || hour === null ? { kind: 'none' } : { kind: 'part', hour };
};

const resolutionKey = (record: UsageRecordInput): string =>
  record.entitlementId !== undefined
    ? `entitlement:${record.entitlementId}`
    : `tenant:${record.tenantId}`;

interface Group {
  readonly key: UsageHourKey;
  readonly members: Array<{
    readonly candidate: Candidate;
    readonly records: readonly UsageIngestRecord[];
  }>;
}

// Both adapters name the record at fault as `...records[<index>]...`.
const RECORD_PATH = /records\[(\d+)\]/;

/**
 * Takes a batch of the vendor's usage records (up to {@link MAX_USAGE_RECORDS_PER_BATCH}) and
 * adds the valid ones to the usage ledger, answering each record on its own:
 * - each record is parsed with {@link usageRecordSchema}; a malformed one is rejected
 *   (`invalid_record`, `invalid_allocations`) with the path at fault, and the others go on;
 * - a usage id repeated in the batch counts once: with the same content it answers as its
 *   first occurrence did (`duplicate` when that one was counted), with other content it is
 *   rejected (`conflicting_duplicate`);
 * - before any other rule, the usage ids are looked up in the store (one read for the batch):
 *   a record counted before with the same hour, dimension, quantity (per part) and entitlement
 *   answers `duplicate` whatever changed since (the entitlement's status, the window, the
 *   configuration), one counted with other content `conflicting_duplicate`, and one counted in
 *   part (a try that failed part-way) has its other parts added where the first went;
 * - the hour must be inside the metering window, less the hour the hourly send needs, and the
 *   timestamp no further ahead of our clock than {@link USAGE_CLOCK_SKEW_MS} (`outside_window`);
 * - the entitlement is named by vendor id or found as the tenant's one usable entitlement of a
 *   cloud this deployment meters, each read once per batch (`entitlement_not_found`,
 *   `no_active_entitlement`, `ambiguous_tenant`); it must be live, or have ended after the
 *   record's timestamp (`entitlement_not_active`), and bill the dimension (`unknown_dimension`);
 * - on AWS, what AWS will refuse by the time the hour is sent is refused now: a previous
 *   month's hour after 06:00 UTC on the 1st (`outside_window`), an ended purchase's final usage
 *   more than about an hour after its end (`entitlement_not_active`);
 * - the records of one (entitlement, dimension, hour) go to the store in one `addUsage`, a
 *   record with allocations as one tagged part per allocation; a sealed hour rejects the
 *   records not counted before (`hour_closed`), an hour out of room for tag sets the record
 *   that would overflow it (`invalid_allocations`), and an hour whose total would pass
 *   `MAX_USAGE_QUANTITY` the record that would take it there (`hour_total_too_large`).
 *
 * Idempotent by usage id: a retried record answers `duplicate` and is not counted again.
 *
 * @throws ValidationError when `records` is not an array of at most 1,000.
 * @throws the store's error when it is retryable (or unexpected): the caller answers so that the
 * client retries the batch, in which the records already counted answer `duplicate`.
 */
export const ingestUsage = async (
  deps: IngestUsageDeps,
  records: readonly unknown[],
): Promise<IngestUsageResult> => {
  if (!Array.isArray(records)) {
    throw new ValidationError('records must be an array', { path: 'records' });
  }
  if (records.length > MAX_USAGE_RECORDS_PER_BATCH) {
    throw new ValidationError(
      `records must hold at most ${MAX_USAGE_RECORDS_PER_BATCH} usage records`,
      { path: 'records' },
    );
  }
  const nowEpochMs = deps.clock.now();
  const clouds = new Set<Cloud>(deps.clouds ?? CLOUDS);
  const concurrency = deps.concurrency ?? DEFAULT_CONCURRENCY;
  const windowStartEpochMs = nowEpochMs - deps.windowHours * HOUR_MS + SEND_MARGIN_MS;
  const results: Array<UsageRecordResult | undefined> = new Array(records.length);

  // Each record parsed on its own; a usage id repeated in the batch follows its first record.
  const first = new Map<string, { index: number; content: string }>();
  const repeats: Array<{ index: number; of: number }> = [];
  const firsts: Array<{ index: number; record: UsageRecordInput }> = [];
  records.forEach((raw, index) => {
    const parsed = usageRecordSchema.safeParse(raw);
    if (!parsed.success) {
      results[index] = invalid(raw, parsed.error);
      return;
    }
    const record = parsed.data;
    const content = contentOf(record);
    const earlier = first.get(record.usageId);
    if (earlier === undefined) {
      first.set(record.usageId, { index, content });
      firsts.push({ index, record });
    } else if (earlier.content === content) {
      repeats.push({ index, of: earlier.index });
    } else {
      results[index] = rejected(
        record.usageId,
        UsageRejection.conflictingDuplicate,
        `record ${earlier.index} of this batch has the same usage id and other content`,
      );
    }
  });

  // A record counted before is answered before any other rule: its entitlement, the window or
  // the configuration may have changed since, and it is billed all the same.
  const counted = await deps.store.findCountedUsage(
    firsts.flatMap(({ record }) => markerIdsOf(record)),
  );
  const groups = new Map<string, Group>();
  const join = (key: UsageHourKey, candidate: Candidate): void => {
    const groupKey = JSON.stringify([
      key.cloud,
      key.entitlementId,
      key.dimension,
      key.hourStartEpochMs,
    ]);
    const group = groups.get(groupKey) ?? { key, members: [] };
    groups.set(groupKey, group);
    group.members.push({ candidate, records: ingestRecordsOf(candidate.record) });
  };
  const candidates: Candidate[] = [];
  for (const { index, record } of firsts) {
    const earlier = earlierCountOf(record, counted);
    const atEpochMs = Date.parse(record.timestamp);
    const hour = hourStartEpochMs(atEpochMs);
    if (earlier.kind === 'whole') {
      results[index] = { usageId: record.usageId, status: 'duplicate' };
    } else if (earlier.kind === 'other') {
      results[index] = rejected(
        record.usageId,
        UsageRejection.conflictingDuplicate,
        earlier.message,
      );
    } else if (earlier.kind === 'part') {
      join(earlier.hour, { index, record, hourStartEpochMs: hour });
    } else if (atEpochMs > nowEpochMs + USAGE_CLOCK_SKEW_MS) {
      results[index] = rejected(
        record.usageId,
        UsageRejection.outsideWindow,
        `timestamp ${record.timestamp} is in the future`,
        'timestamp',
      );
    } else if (hour <= windowStartEpochMs) {
      results[index] = rejected(
        record.usageId,
        UsageRejection.outsideWindow,
        `hour ${toIsoHour(hour)} is too old to be sent within the ${deps.windowHours}-hour metering window`,
        'timestamp',
      );
    } else {
      candidates.push({ index, record, hourStartEpochMs: hour });
    }
  }

  const resolutions = await resolveEntitlements(deps, candidates, clouds, concurrency);
  for (const candidate of candidates) {
    const { record, index } = candidate;
    const resolution = resolutions.get(resolutionKey(record))!;
    if (!('entitlement' in resolution)) {
      results[index] = rejected(record.usageId, resolution.code, resolution.message);
      continue;
    }
    const { entitlement } = resolution;
    const inactive = statusRefusal(entitlement, Date.parse(record.timestamp));
    if (inactive !== null) {
      results[index] = rejected(
        record.usageId,
        UsageRejection.entitlementNotActive,
        inactive.message,
      );
      continue;
    }
    const late = awsRefusal(entitlement, candidate.hourStartEpochMs, nowEpochMs);
    if (late !== null) {
      results[index] = rejected(record.usageId, late.code, late.message, 'timestamp');
      continue;
    }
    if (!deps.knownDimensions(entitlement).has(record.dimension)) {
      results[index] = rejected(
        record.usageId,
        UsageRejection.unknownDimension,
        `entitlement ${vendorIdOf(entitlement)} bills no dimension "${record.dimension}"`,
        'dimension',
      );
      continue;
    }
    join(
      {
        cloud: entitlement.cloud,
        entitlementId: entitlement.id,
        dimension: record.dimension,
        hourStartEpochMs: candidate.hourStartEpochMs,
      },
      candidate,
    );
  }

  const dedupeExpiresAtEpochSeconds = toEpochSeconds(nowEpochMs) + deps.dedupeTtlSeconds;
  const add = (key: UsageHourKey, members: Group['members']) =>
    deps.store.addUsage({
      ...key,
      records: members.flatMap((member) => member.records),
      dedupeExpiresAtEpochSeconds,
      nowEpochMs,
    });
  const answer = (member: Group['members'][number], accepted: ReadonlySet<string>) => {
    // Parts of a record may have been counted by an earlier try that failed part-way: the record
    // is accepted when this call counted any of it, and all of it is counted either way.
    results[member.candidate.index] = {
      usageId: member.candidate.record.usageId,
      status: member.records.some((r) => accepted.has(r.usageId)) ? 'accepted' : 'duplicate',
    };
  };
  const hourClosed = (member: Group['members'][number], key: UsageHourKey) => {
    results[member.candidate.index] = rejected(
      member.candidate.record.usageId,
      UsageRejection.hourClosed,
      `hour ${toIsoHour(key.hourStartEpochMs)} was already sealed for sending`,
    );
  };

  await inParallel([...groups.values()], concurrency, async ({ key, members: all }) => {
    let members = all;
    while (members.length > 0) {
      try {
        const result = await add(key, members);
        const accepted = new Set(result.accepted);
        for (const member of members) answer(member, accepted);
        return;
      } catch (error) {
        if (error instanceof UsageHourSealedError) {
          // A sealed hour still answers a call whose ids were all counted before: one call per
          // record tells the retries (duplicate) from the usage that came too late.
          await inParallel(members, concurrency, async (member) => {
            try {
              const result = await add(key, [member]);
              answer(member, new Set(result.accepted));
            } catch (one) {
              if (!(one instanceof UsageHourSealedError)) throw one;
              hourClosed(member, key);
            }
          });
          return;
        }
        if (!(error instanceof ValidationError)) throw error;
        // The store refuses a call whose total or tag sets would overflow the hour, naming the
        // record at fault: reject that one, all of its parts, and add the others again.
        const at = RECORD_PATH.exec(error.path ?? '');
        const flat = members.flatMap((member) => member.records.map(() => member));
        const culprit = at ? flat[Number(at[1])] : undefined;
        const refused = culprit ? [culprit] : members;
        const [code, message] =
          error instanceof UsageHourTotalTooLargeError
            ? [
                UsageRejection.hourTotalTooLarge,
                `it would take the total of hour ${toIsoHour(key.hourStartEpochMs)} past ${MAX_USAGE_QUANTITY}, the most a marketplace takes for an hour`,
              ]
            : [UsageRejection.invalidAllocations, error.message];
        for (const member of refused) {
          results[member.candidate.index] = rejected(
            member.candidate.record.usageId,
            code,
            message,
          );
        }
        members = members.filter((member) => !refused.includes(member));
      }
    }
  });

  for (const { index, of } of repeats) {
    const earlier = results[of]!;
    results[index] = earlier.status === 'rejected' ? earlier : { ...earlier, status: 'duplicate' };
  }
  const done = results as UsageRecordResult[];
  return {
    results: done,
    accepted: done.filter((r) => r.status === 'accepted').length,
    duplicates: done.filter((r) => r.status === 'duplicate').length,
    rejected: done.filter((r) => r.status === 'rejected').length,
  };
};

export interface ListUsageQuery {
  /** A vendor id, `<cloud>:<marketplace id>`. */
  readonly entitlementId: string;
  /** Hours whose start is in `[fromEpochMs, toEpochMs)`. */
  readonly fromEpochMs: number;
  readonly toEpochMs: number;
}

/** An hour of the ledger as the vendor sees it: its entitlement named by vendor id. */
export interface UsageHourView extends Omit<UsageHour, 'entitlementId'> {
  readonly entitlementId: string;
}

/**
 * One entitlement's usage hours, oldest first, whatever their state: `open` (taking usage),
 * `sealed` (being sent), `sent` or `rejected` with the marketplace's answer (metering record id,
 * reason).
 *
 * @throws ValidationError for an id that is no vendor id or a malformed range.
 * @throws NotFoundError when no entitlement has that id.
 */
export const listUsage = async (
  deps: Pick<IngestUsageDeps, 'store'>,
  query: ListUsageQuery,
  page: PageRequest,
): Promise<Page<UsageHourView>> => {
  const ref = refOfVendorId(query.entitlementId);
  if (ref === null) {
    throw new ValidationError('entitlementId must be a vendor id, `<cloud>:<marketplace id>`', {
      path: 'entitlementId',
    });
  }
  if (
    !Number.isSafeInteger(query.fromEpochMs) ||
    !Number.isSafeInteger(query.toEpochMs) ||
    query.fromEpochMs < 0 ||
    query.fromEpochMs > query.toEpochMs
  ) {
    throw new ValidationError('the range must be epoch milliseconds with from before to', {
      path: 'fromEpochMs',
    });
  }
  if ((await deps.store.getEntitlement(ref)) === null) {
    throw new NotFoundError(`entitlement ${query.entitlementId}`);
  }
  const hours = await deps.store.listUsageHours(
    {
      cloud: ref.cloud,
      entitlementId: ref.id,
      fromEpochMs: query.fromEpochMs,
      toEpochMs: query.toEpochMs,
    },
    page,
  );
  return {
    items: hours.items.map((hour) => ({ ...hour, entitlementId: query.entitlementId })),
    nextCursor: hours.nextCursor,
  };
};
