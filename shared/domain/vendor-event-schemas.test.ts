import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import type { ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { renderEventDocs, versionFolder } from '../../docs/events/render';
import { anAccount, anEntitlement, T0 } from '../test/builders';
import { GONE, decideEvent, outboxMessagesFor } from './decision';
import type {
  Decision,
  MarketplaceEventCommand,
  Observation,
  ObservedEntitlement,
} from './decision';
import { LIFECYCLE_EVENTS } from './entitlement';
import { usageNews } from './usage-news';
import type { UsageNewsType } from './usage-news';
import type { LifecycleEvent } from './entitlement';
import { ENTITLEMENT_STATUSES } from './model';
import type { Account, Entitlement, EntitlementStatus, OutboxMessage, UsageHour } from './model';
import {
  VENDOR_EVENT_CATALOGUE,
  VENDOR_EVENT_SCHEMAS,
  VENDOR_EVENT_TYPES,
  vendorEventJsonSchemas,
  vendorEventSchema,
  vendorEventSchemaId,
} from './vendor-event-schemas';
import type { JsonSchema } from './vendor-event-schemas';
import { VendorEventType, vendorEventEnvelope } from './vendor-events';
import type { VendorEventEnvelope } from './vendor-events';

const DOCS = join(__dirname, '..', '..', 'docs', 'events');
const jsonSchemas = vendorEventJsonSchemas();

const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
const validators = new Map<string, ValidateFunction>(
  VENDOR_EVENT_TYPES.map((type) => [type, ajv.compile(jsonSchemas[type])]),
);

/** The ajv errors of an event against its type's schema, `[]` when it is valid. */
const errorsOf = (event: unknown, type = (event as { type: VendorEventType }).type) => {
  const validate = validators.get(type);
  if (!validate) throw new Error(`no schema for ${type}`);
  return validate(event) ? [] : (validate.errors ?? []);
};

const entitlementRef = { cloud: 'gcp' as const, id: 'ent-1' };
const context = { account: null, entitlement: null, nowEpochMs: T0 + 60_000, eventTtlSeconds: 60 };
const signedUp = anAccount({
  id: 'acct-1',
  status: 'active',
  tenant: { tenantId: 'tenant-7', linkedAtEpochMs: T0 },
  version: 2,
});

const command = (overrides: Partial<MarketplaceEventCommand> = {}): MarketplaceEventCommand => ({
  cloud: 'gcp',
  eventId: 'evt-1',
  type: 'ENTITLEMENT_ACTIVE',
  accountId: 'acct-1',
  entitlementId: entitlementRef.id,
  hint: null,
  payload: {},
  ...overrides,
});

const observed = (overrides: Partial<ObservedEntitlement> = {}): ObservedEntitlement => ({
  accountId: 'acct-1',
  productId: 'example-product',
  status: 'active',
  plan: 'pro',
  snapshot: { updateTimeEpochMs: T0 + 1_000, data: { state: 'ENTITLEMENT_ACTIVE' } },
  ...overrides,
});

const stored = (overrides: Partial<Entitlement> = {}): Entitlement =>
  anEntitlement({
    id: entitlementRef.id,
    accountId: 'acct-1',
    tenantId: 'tenant-7',
    snapshot: { updateTimeEpochMs: T0, data: {} },
    version: 3,
    ...overrides,
  });

interface Scenario {
  readonly name: string;
  readonly command: MarketplaceEventCommand;
  readonly observation: Observation;
  readonly account?: Account | null;
  readonly entitlement?: Entitlement | null;
}

/** One decision per lifecycle event and account event, the way the marketplace edges call it. */
const SCENARIOS: Readonly<Record<string, Scenario>> = {
  [VendorEventType.entitlementPendingApproval]: {
    name: 'a purchase first seen waiting for approval',
    command: command({ type: 'ENTITLEMENT_CREATION_REQUESTED' }),
    observation: { entitlement: observed({ status: 'pending_approval', awaiting: 'approval' }) },
    account: signedUp,
  },
  [VendorEventType.entitlementActivated]: {
    name: 'an approved purchase',
    command: command({ hint: 'activated' }),
    observation: { entitlement: observed() },
    entitlement: stored({ status: 'pending_approval' }),
  },
  [VendorEventType.entitlementPlanChangeRequested]: {
    name: 'a buyer asking for another plan',
    command: command({ type: 'ENTITLEMENT_PLAN_CHANGE_REQUESTED', hint: 'plan_change_requested' }),
    observation: {
      entitlement: observed({
        status: 'pending_plan_change',
        plan: 'basic',
        pendingPlan: 'pro',
        awaiting: 'plan_change_approval',
      }),
    },
    entitlement: stored({ plan: 'basic' }),
  },
  [VendorEventType.entitlementPlanChanged]: {
    name: 'a plan change in effect',
    command: command({ type: 'ENTITLEMENT_PLAN_CHANGED', hint: 'plan_changed' }),
    observation: { entitlement: observed({ plan: 'pro', pendingPlan: null }) },
    entitlement: stored({ status: 'pending_plan_change', plan: 'basic', pendingPlan: 'pro' }),
  },
  [VendorEventType.entitlementPlanChangeCancelled]: {
    name: 'a plan change withdrawn, the old plan kept',
    command: command({ type: 'ENTITLEMENT_PLAN_CHANGE_CANCELLED', hint: 'plan_change_cancelled' }),
    observation: { entitlement: observed({ plan: 'basic', pendingPlan: null }) },
    entitlement: stored({ status: 'pending_plan_change', plan: 'basic', pendingPlan: 'pro' }),
  },
  [VendorEventType.entitlementCancellationScheduled]: {
    name: 'a cancellation at the end of the term',
    command: command({ type: 'ENTITLEMENT_PENDING_CANCELLATION' }),
    observation: { entitlement: observed({ status: 'pending_cancellation' }) },
    entitlement: stored(),
  },
  [VendorEventType.entitlementCancellationReverted]: {
    name: 'a cancellation withdrawn',
    command: command({ type: 'ENTITLEMENT_CANCELLATION_REVERTED' }),
    observation: { entitlement: observed() },
    entitlement: stored({ status: 'pending_cancellation' }),
  },
  [VendorEventType.entitlementSuspended]: {
    name: 'a suspension',
    command: command({ type: 'ENTITLEMENT_SUSPENDED' }),
    observation: { entitlement: observed({ status: 'suspended' }) },
    entitlement: stored(),
  },
  [VendorEventType.entitlementReinstated]: {
    name: 'a suspension lifted',
    command: command(),
    observation: { entitlement: observed() },
    entitlement: stored({ status: 'suspended' }),
  },
  [VendorEventType.entitlementRenewed]: {
    name: 'a renewal onto a new offer',
    command: command({ type: 'ENTITLEMENT_RENEWED', hint: 'renewed' }),
    observation: {
      entitlement: observed({
        offer: { id: 'offer-2', startEpochMs: T0, endEpochMs: null, duration: 'P1Y' },
      }),
    },
    entitlement: stored(),
  },
  [VendorEventType.entitlementUpdated]: {
    name: 'an AWS contract that changed',
    command: command({
      cloud: 'aws',
      type: 'entitlement-updated',
      accountId: '123456789012',
      entitlementId: 'arn:aws:license-manager::123456789012:license:l-0123456789abcdef',
      hint: 'updated',
    }),
    observation: {
      entitlement: observed({
        accountId: '123456789012',
        productId: 'prod-abc123',
        plan: null,
        freeTrial: true,
        offer: { id: 'offer-xyz', startEpochMs: null, endEpochMs: null, duration: null },
        contract: [{ dimension: 'users', value: 20, expiresAtEpochMs: null }],
      }),
    },
    entitlement: stored({
      cloud: 'aws',
      id: 'arn:aws:license-manager::123456789012:license:l-0123456789abcdef',
      accountId: '123456789012',
      productId: 'prod-abc123',
      plan: null,
      tenantId: null,
      contract: [{ dimension: 'users', value: 10, expiresAtEpochMs: null }],
    }),
  },
  [VendorEventType.entitlementCancelled]: {
    name: 'a purchase that ended',
    command: command({ type: 'ENTITLEMENT_CANCELLED', hint: 'cancelled' }),
    observation: { entitlement: observed({ status: 'cancelled' }) },
    entitlement: stored(),
  },
  [VendorEventType.entitlementDeleted]: {
    name: 'a purchase the marketplace forgot',
    command: command({ type: 'ENTITLEMENT_DELETED', hint: 'deleted' }),
    observation: { entitlement: GONE },
    entitlement: stored({ status: 'cancelled' }),
  },
  [VendorEventType.accountDeleted]: {
    name: 'an account the marketplace deleted',
    command: command({ type: 'ACCOUNT_DELETED', entitlementId: null }),
    observation: { account: GONE },
    account: signedUp,
  },
};

const decide = (scenario: Scenario): Decision =>
  decideEvent(scenario.command, scenario.observation, {
    ...context,
    account: scenario.account ?? null,
    entitlement: scenario.entitlement ?? null,
  });

const usageHour = (overrides: Partial<UsageHour> = {}): UsageHour => ({
  cloud: 'gcp',
  entitlementId: entitlementRef.id,
  dimension: 'requests',
  hourStartEpochMs: Date.UTC(2026, 10, 22, 9),
  quantity: 42,
  allocations: [],
  state: 'sealed',
  sealedAtEpochMs: T0,
  answer: null,
  updatedAtEpochMs: T0,
  ...overrides,
});

/** The outbox rows written with a refused hour, as `usageNews` makes them. */
const toldAboutUsage = (
  type: UsageNewsType,
  entitlement: Entitlement | null,
): readonly OutboxMessage[] =>
  usageNews({
    hour: usageHour(),
    entitlement,
    type,
    reason: 'check: BILLING_DISABLED',
    nowEpochMs: T0 + 3_600_000,
    eventTtlSeconds: 60,
  }).outbox;

/**
 * Event types no decision over a marketplace event writes, and who does. Their writers' own
 * tests cover the writes; here each is built as its writer builds it, with `outboxMessagesFor`.
 */
const WRITTEN_BY_USE_CASES: Readonly<Partial<Record<VendorEventType, string>>> = {
  [VendorEventType.accountSignedUp]: "the buyer's verified signup, which gives the tenant",
  [VendorEventType.accountLinked]: 'the vendor API linking an account to a tenant',
  [VendorEventType.accountUnlinked]: 'the vendor API unlinking an account',
};

/** A message of a type a use case writes, as `outboxMessagesFor` and that use case make it. */
const builtMessage = (type: VendorEventType): OutboxMessage => {
  const eventId = `built-${type}`;
  switch (type) {
    case VendorEventType.accountSignedUp: {
      const [message] = outboxMessagesFor(
        { cloud: 'gcp', eventId },
        [type],
        { accountId: 'acct-1', entitlement: null, tenantId: 'tenant-8' },
        T0,
      );
      return message!;
    }
    case VendorEventType.accountLinked:
    case VendorEventType.accountUnlinked: {
      const linked = type === VendorEventType.accountLinked;
      const [message] = outboxMessagesFor(
        { cloud: 'aws', eventId },
        [type],
        { accountId: '123456789012', entitlement: null, tenantId: linked ? 'tenant-8' : null },
        T0,
      );
      return { ...message!, data: { previousTenantId: linked ? null : 'tenant-8' } };
    }
    default:
      throw new Error(`${type} is produced; build it through its producer`);
  }
};

/** Every message the real producers write in the scenarios above, with what made it. */
const producedMessages = (): Array<{ from: string; message: OutboxMessage }> => {
  const fromDecisions = Object.entries(SCENARIOS).flatMap(([type, scenario]) =>
    decide(scenario).outbox.map((message) => ({ from: `${type}: ${scenario.name}`, message })),
  );
  const fromUsage = [VendorEventType.usageRejected, VendorEventType.usageReportingStopped].flatMap(
    (type) =>
      [stored({ usageReportingId: 'project_number:1' }), null].flatMap((entitlement) =>
        toldAboutUsage(type, entitlement).map((message) => ({
          from: `${type}: usageNews, purchase ${entitlement ? 'known' : 'unknown'}`,
          message,
        })),
      ),
  );
  return [...fromDecisions, ...fromUsage];
};

/** The `data` properties a type's schema lists. */
const listedDataFields = (type: VendorEventType): string[] => {
  const data = (jsonSchemas[type].properties?.data ?? {}) as JsonSchema;
  return Object.keys(data.properties ?? {}).sort();
};

describe('the catalogue', () => {
  it('has a schema, a title and a description for every event type', () => {
    expect(Object.keys(VENDOR_EVENT_CATALOGUE).sort()).toEqual([...VENDOR_EVENT_TYPES].sort());
    expect(Object.keys(VENDOR_EVENT_SCHEMAS).sort()).toEqual([...VENDOR_EVENT_TYPES].sort());
    for (const type of VENDOR_EVENT_TYPES) {
      expect(jsonSchemas[type]).toMatchObject({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        $id: vendorEventSchemaId(type),
        title: expect.any(String),
        description: expect.stringMatching(/\S/),
        properties: { type: { const: type }, version: { const: 1 } },
      });
    }
    expect(new Set(VENDOR_EVENT_TYPES.map(vendorEventSchemaId)).size).toBe(
      VENDOR_EVENT_TYPES.length,
    );
  });

  it('is committed as the generator writes it', () => {
    const files = renderEventDocs();
    const stale = [...files].filter(([path, content]) => {
      try {
        return readFileSync(join(DOCS, path), 'utf8') !== content;
      } catch {
        return true;
      }
    });
    const unknown = readdirSync(join(DOCS, versionFolder()))
      .map((name) => `${versionFolder()}/${name}`)
      .filter((path) => !files.has(path));
    const drift = [...stale.map(([path]) => path), ...unknown];
    if (drift.length > 0) {
      throw new Error(
        `docs/events differs from the catalogue (${drift.join(', ')}): run \`npm run docs:events\``,
      );
    }
    expect(files.size).toBe(VENDOR_EVENT_TYPES.length + 1);
  });

  it('has every schema compile under JSON Schema 2020-12', () => {
    expect([...validators.keys()].sort()).toEqual([...VENDOR_EVENT_TYPES].sort());
    for (const type of VENDOR_EVENT_TYPES) {
      expect(ajv.getSchema(vendorEventSchemaId(type))).toBe(validators.get(type));
    }
  });

  it('shows the README example as a valid event', () => {
    const readme = renderEventDocs().get('README.md')!;
    const example = JSON.parse(/```json\n([\s\S]*?)\n```/.exec(readme)![1]!) as unknown;
    expect(errorsOf(example)).toEqual([]);
  });
});

describe('real events', () => {
  let produced: Array<{ from: string; message: OutboxMessage }>;
  beforeAll(() => {
    produced = producedMessages();
  });

  it.each(Object.entries(SCENARIOS))('are produced for %s', (type, scenario) => {
    expect(decide(scenario).outbox.map((message) => message.type)).toContain(type);
  });

  it('validate against their schema, by ajv and by zod', () => {
    const events = produced.map(({ from, message }) => ({
      from,
      event: vendorEventEnvelope(message),
    }));
    const refused = events
      .map(({ from, event }) => ({ from, errors: errorsOf(event) }))
      .filter(({ errors }) => errors.length > 0);
    expect(refused).toEqual([]);
    for (const { event } of events) expect(vendorEventSchema.parse(event)).toEqual(event);
  });

  it('carry exactly the data fields their schema lists', () => {
    const undocumented = produced
      .filter(({ message }) => {
        const fields = Object.keys(message.data).sort();
        return fields.join() !== listedDataFields(message.type as VendorEventType).join();
      })
      .map(({ from, message }) => ({ from, fields: Object.keys(message.data) }));
    expect(undocumented).toEqual([]);
  });

  it('keep the fields existing consumers read', () => {
    const activated = vendorEventEnvelope(
      decide(SCENARIOS[VendorEventType.entitlementActivated]!).outbox[0]!,
    );
    expect(activated).toMatchObject({
      id: 'gcp:evt-1:0',
      accountId: 'gcp:acct-1',
      entitlementId: 'gcp:ent-1',
      tenantId: 'tenant-7',
      data: {
        status: 'active',
        plan: 'pro',
        pendingPlan: null,
        productId: 'example-product',
        offerId: null,
        freeTrial: false,
      },
    });
    const aws = vendorEventEnvelope(
      decide(SCENARIOS[VendorEventType.entitlementUpdated]!).outbox[0]!,
    );
    expect(aws).toMatchObject({
      entitlementId: 'aws:arn:aws:license-manager::123456789012:license:l-0123456789abcdef',
      data: { offerId: 'offer-xyz', freeTrial: true, plan: null },
    });
  });

  it('tell the hour of refused usage in epoch and ISO form, the purchase null when unknown', () => {
    const [known] = toldAboutUsage(VendorEventType.usageRejected, stored());
    expect(known!.data).toEqual({
      status: 'active',
      plan: 'pro',
      pendingPlan: null,
      productId: 'example-product',
      offerId: null,
      freeTrial: false,
      contract: [],
      dimension: 'requests',
      hourStartEpochMs: Date.UTC(2026, 10, 22, 9),
      hourStart: '2026-11-22T09:00:00.000Z',
      quantity: 42,
      reason: 'check: BILLING_DISABLED',
    });
    const [unknown] = toldAboutUsage(VendorEventType.usageReportingStopped, null);
    expect(unknown!.data).toMatchObject({
      status: null,
      productId: null,
      freeTrial: null,
      contract: null,
    });
  });

  it.each(Object.entries(WRITTEN_BY_USE_CASES))('validate for %s, written by %s', (type) => {
    expect(errorsOf(vendorEventEnvelope(builtMessage(type as VendorEventType)))).toEqual([]);
  });

  it('cover every event type, or the type is listed as written by a use case', () => {
    const producedTypes = new Set(produced.map(({ message }) => message.type));
    const notYet = Object.keys(WRITTEN_BY_USE_CASES);
    expect(notYet.filter((type) => producedTypes.has(type))).toEqual([]);
    expect(VENDOR_EVENT_TYPES.filter((type) => !producedTypes.has(type)).sort()).toEqual(
      notYet.sort(),
    );
  });
});

describe('every decision over the state table', () => {
  const HINTS: ReadonlyArray<LifecycleEvent | null> = [null, ...LIFECYCLE_EVENTS];
  const STORED: ReadonlyArray<EntitlementStatus | null> = [null, ...ENTITLEMENT_STATUSES];
  const OBSERVED = [...ENTITLEMENT_STATUSES.filter((s) => s !== 'deleted'), GONE] as const;
  const PLANS = [
    { plan: 'basic', pendingPlan: null },
    { plan: 'pro', pendingPlan: null },
    { plan: 'basic', pendingPlan: 'pro' },
  ] as const;

  /** Every outbox message decideEvent writes for some stored purchase, observation and hint. */
  const sweep = (): OutboxMessage[] =>
    STORED.flatMap((storedStatus) =>
      OBSERVED.flatMap((observedStatus) =>
        HINTS.flatMap((hint) =>
          PLANS.flatMap((storedPlans) =>
            PLANS.flatMap((observedPlans) => {
              const current =
                storedStatus === null ? null : stored({ status: storedStatus, ...storedPlans });
              const observation: Observation = {
                entitlement:
                  observedStatus === GONE
                    ? GONE
                    : observed({ status: observedStatus, ...observedPlans }),
              };
              try {
                return decideEvent(command({ hint }), observation, {
                  ...context,
                  account: signedUp,
                  entitlement: current,
                }).outbox;
              } catch {
                // A pairing the marketplace cannot report (a plan change without its plan).
                return [];
              }
            }),
          ),
        ),
      ),
    );

  it('writes only events that validate', () => {
    const messages = sweep();
    expect(messages.length).toBeGreaterThan(1_000);
    const refused = messages
      .map((message) => vendorEventEnvelope(message))
      .filter((event) => errorsOf(event).length > 0);
    expect(refused).toEqual([]);
  });

  it('tells a withdrawn plan change apart from one in effect', () => {
    const types = new Set(sweep().map((message) => message.type));
    expect(types.has(VendorEventType.entitlementPlanChangeCancelled)).toBe(true);
    expect(types.has(VendorEventType.entitlementPlanChanged)).toBe(true);
  });
});

describe('wrong events', () => {
  const activated = (): VendorEventEnvelope & { data: Record<string, unknown> } =>
    vendorEventEnvelope(
      decide(SCENARIOS[VendorEventType.entitlementActivated]!).outbox[0]!,
    ) as VendorEventEnvelope & { data: Record<string, unknown> };

  it('are refused without an envelope field', () => {
    const { occurredAt: _occurredAt, ...event } = activated();
    expect(errorsOf(event)).not.toEqual([]);
  });

  it('are refused without a data field', () => {
    const event = activated();
    const { status: _status, ...data } = event.data;
    expect(errorsOf({ ...event, data })).not.toEqual([]);
    expect(vendorEventSchema.safeParse({ ...event, data }).success).toBe(false);
  });

  it("are refused by another type's schema", () => {
    expect(errorsOf(activated(), VendorEventType.entitlementCancelled)).not.toEqual([]);
    expect(
      errorsOf({ ...activated(), type: 'entitlement.cancelled' }, 'entitlement.activated'),
    ).not.toEqual([]);
  });

  it('are refused with a type outside the catalogue', () => {
    const event = { ...activated(), type: 'entitlement.exploded' };
    const accepting = VENDOR_EVENT_TYPES.filter((type) => errorsOf(event, type).length === 0);
    expect(accepting).toEqual([]);
    expect(vendorEventSchema.safeParse(event).success).toBe(false);
  });

  it('are refused with another version, a bare id or a wrong value', () => {
    const event = activated();
    expect(errorsOf({ ...event, version: 2 })).not.toEqual([]);
    expect(errorsOf({ ...event, entitlementId: 'ent-1' })).not.toEqual([]);
    expect(errorsOf({ ...event, occurredAt: 'yesterday' })).not.toEqual([]);
    expect(errorsOf({ ...event, data: { ...event.data, status: 'paused' } })).not.toEqual([]);
    expect(errorsOf({ ...event, data: { ...event.data, freeTrial: 'no' } })).not.toEqual([]);
  });

  it('are not events with fields added within the version: those are accepted', () => {
    const event = activated();
    expect(errorsOf({ ...event, region: 'eu', data: { ...event.data, seats: 3 } })).toEqual([]);
    expect(vendorEventSchema.safeParse({ ...event, region: 'eu' }).success).toBe(true);
  });
});
