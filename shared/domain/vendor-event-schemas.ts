import { z } from 'zod';
import { CLOUDS, ENTITLEMENT_STATUSES } from './model';
import { VENDOR_EVENT_VERSION, VendorEventType } from './vendor-events';

/**
 * The published contract of the events the vendor's app receives: one zod schema per event
 * type (the envelope with that type's `data`) and its JSON Schema, which `docs/events/` serves
 * to vendors. Objects accept fields they do not list: a field added within a version must not
 * break a vendor who validates with that version's schema.
 */

/** Names the published schemas. An identifier, not a download: it stays while the docs move. */
export const VENDOR_EVENT_SCHEMA_BASE_URL = 'https://marketplace-connector.dev/events';

/** `$id` of one event type's schema in the current version. */
export const vendorEventSchemaId = (type: VendorEventType): string =>
  `${VENDOR_EVENT_SCHEMA_BASE_URL}/v${VENDOR_EVENT_VERSION}/${vendorEventSchemaFileName(type)}`;

export const vendorEventSchemaFileName = (type: VendorEventType): string => `${type}.schema.json`;

const VENDOR_ID_PATTERN = new RegExp(`^(?:${CLOUDS.join('|')}):.+$`);

const vendorId = () => z.string().regex(VENDOR_ID_PATTERN);

const entitlementStatus = z.enum(ENTITLEMENT_STATUSES);

const STATUS_NOTE =
  'One marketplace message can move a purchase several steps: each step is its own event, in ' +
  'order, and all of them carry the status reached at the end.';

/** One contracted dimension of an AWS purchase, as GetEntitlements answers it. */
const contractQuantitySchema = z
  .looseObject({
    dimension: z.string().meta({ description: "The contract dimension's API name." }),
    // Each kind described: the JSON Schema then says anyOf, which strict validators accept.
    value: z
      .union([
        z.number().meta({ description: 'A quantity: an integer, or a number with decimals.' }),
        z.boolean().meta({ description: 'A dimension that is either included or not.' }),
        z.string().meta({ description: 'A named value, such as a tier.' }),
      ])
      .meta({ description: 'What the buyer contracted for, as GetEntitlements answers it.' }),

    expiresAt: z.iso
      .datetime()
      .nullable()
      .meta({ description: 'When it ends, ISO 8601 in UTC; null when AWS names no end.' }),
  })
  .meta({ description: 'One contracted dimension.' });

/** Added within version 1: events an earlier release recorded (and replays of them) lack it. */
const CONTRACT_DESCRIPTION =
  'The contract (AWS): every dimension GetEntitlements answered at the last change, ordered by ' +
  'dimension. Empty on Google Cloud and for AWS purchases without a contract. Absent from ' +
  'events recorded by a release of the connector that did not send it yet.';

/** What every entitlement event says of the purchase, as it stands once the change is recorded. */
export const entitlementEventDataSchema = z
  .looseObject({
    status: entitlementStatus.meta({
      description: `The purchase's status once this change was recorded. ${STATUS_NOTE}`,
    }),
    plan: z
      .string()
      .nullable()
      .meta({
        description:
          'The plan in force (Google Cloud plan id). Null on AWS, where a purchase has contract ' +
          'dimensions instead of plans, and while the marketplace names none.',
      }),
    pendingPlan: z
      .string()
      .nullable()
      .meta({
        description:
          'The plan the buyer asked to move to while the change waits (status ' +
          '`pending_plan_change`); null otherwise.',
      }),
    productId: z.string().meta({
      description: 'The listing: the Google Cloud product (external name) or the AWS product code.',
    }),
    offerId: z
      .string()
      .nullable()
      .meta({
        description:
          'The offer in force (a private offer, for instance) when the marketplace names one; ' +
          'null otherwise.',
      }),
    freeTrial: z.boolean().meta({
      description:
        'True when the purchase has a free-trial term. Only AWS says so; Google Cloud ' +
        'purchases carry false.',
    }),
    contract: z
      .array(contractQuantitySchema)
      .optional()
      .meta({ description: CONTRACT_DESCRIPTION }),
  })
  .meta({ description: 'The purchase as it stands once this change was recorded.' });
export type EntitlementEventData = z.infer<typeof entitlementEventDataSchema>;

const UNKNOWN_PURCHASE = 'null when the purchase was not at hand (unknown, or no longer billable).';

/** One hour of one dimension the marketplace did not bill, and the purchase it belongs to. */
export const usageEventDataSchema = z
  .looseObject({
    status: entitlementStatus.nullable().meta({
      description: `The purchase's status when the hour was refused; ${UNKNOWN_PURCHASE}`,
    }),
    plan: z
      .string()
      .nullable()
      .meta({ description: `The plan in force; ${UNKNOWN_PURCHASE}` }),
    pendingPlan: z.string().nullable().meta({
      description: 'The plan a change waits for; null when none waits or the purchase is unknown.',
    }),
    productId: z
      .string()
      .nullable()
      .meta({
        description: `The Google Cloud product or AWS product code; ${UNKNOWN_PURCHASE}`,
      }),
    offerId: z.string().nullable().meta({
      description: 'The offer in force; null when none is named or the purchase is unknown.',
    }),
    freeTrial: z
      .boolean()
      .nullable()
      .meta({
        description: `True when the purchase has a free-trial term (AWS); ${UNKNOWN_PURCHASE}`,
      }),
    contract: z
      .array(contractQuantitySchema)
      .nullable()
      .optional()
      .meta({
        description:
          `The contract (AWS), as entitlement events carry it; ${UNKNOWN_PURCHASE} Absent ` +
          'from events recorded by a release of the connector that did not send it yet.',
      }),
    dimension: z.string().min(1).meta({
      description: 'The usage dimension, as your app reported it.',
    }),
    hourStartEpochMs: z.int().min(0).meta({
      description: 'The start of the UTC hour, in milliseconds since the epoch.',
    }),
    hourStart: z.iso.datetime().meta({
      description: 'The same instant as `hourStartEpochMs`, ISO 8601 in UTC.',
    }),
    quantity: z.int().min(0).meta({
      description: "The hour's total for the dimension: not billed.",
    }),
    reason: z
      .string()
      .min(1)
      .meta({
        description:
          "Why, for people: the marketplace's code and message (such as " +
          '`CustomerNotSubscribed: ...` or `check: BILLING_DISABLED`) or what the connector found. ' +
          'Do not parse it.',
      }),
  })
  .meta({ description: 'The hour that was not billed, and the purchase it belongs to.' });
export type UsageEventData = z.infer<typeof usageEventDataSchema>;

/** Account sign-up and deletion carry nothing beyond the envelope yet. */
export const accountEventDataSchema = z
  .looseObject({})
  .meta({ description: 'Nothing beyond the envelope.' });
export type AccountEventData = z.infer<typeof accountEventDataSchema>;

/**
 * What an admin's link or unlink says: the tenant the account belonged to before it, so the
 * vendor's app can move or close what that tenant held. The envelope's `tenantId` is the tenant
 * after it (null once unlinked).
 */
export const accountLinkEventDataSchema = z
  .looseObject({
    previousTenantId: z.string().min(1).nullable().meta({
      description: 'The tenant the account belonged to before this event; null when none.',
    }),
  })
  .meta({ description: 'The tenant the account belonged to before this event.' });
export type AccountLinkEventData = z.infer<typeof accountLinkEventDataSchema>;

/**
 * Whether an envelope field is always set for one event type, or when it is null: a string that
 * ends the field's description (`null when ...`, `always null: ...`).
 */
type Presence =
  | { readonly kind: 'always' }
  | { readonly kind: 'nullable'; readonly nullWhen: string }
  | { readonly kind: 'null'; readonly why: string };

interface Subject {
  readonly accountId: Presence;
  readonly entitlementId: Presence;
  readonly tenantId: Presence;
}

const ALWAYS: Presence = { kind: 'always' };
const UNTIL_SIGNUP: Presence = {
  kind: 'nullable',
  nullWhen: 'the account has no tenant: its buyer has not signed up yet, or an admin unlinked it',
};
const NOT_AT_HAND: Presence = { kind: 'nullable', nullWhen: 'the purchase was not at hand' };

const ENTITLEMENT_SUBJECT: Subject = {
  accountId: ALWAYS,
  entitlementId: ALWAYS,
  tenantId: UNTIL_SIGNUP,
};
const ACCOUNT_SUBJECT: Subject = {
  accountId: ALWAYS,
  entitlementId: { kind: 'null', why: 'an account event concerns no single purchase' },
  tenantId: UNTIL_SIGNUP,
};
const USAGE_SUBJECT: Subject = {
  accountId: NOT_AT_HAND,
  entitlementId: NOT_AT_HAND,
  tenantId: {
    kind: 'nullable',
    nullWhen:
      'the account has no tenant (not signed up, or unlinked) or the purchase was not at hand',
  },
};

interface CatalogueEntry {
  /** A few words, the schema's title. */
  readonly title: string;
  /** When the event is sent. */
  readonly sentWhen: string;
  /** What the vendor's app is expected to do. */
  readonly whatToDo: string;
  readonly subject: Subject;
  readonly data: z.ZodType;
}

const T = VendorEventType;

/** Every event type, what it means and what it carries: the single source of the docs. */
export const VENDOR_EVENT_CATALOGUE: Readonly<Record<VendorEventType, CatalogueEntry>> = {
  [T.entitlementPendingApproval]: {
    title: 'Purchase waiting to start',
    sentWhen:
      'A buyer bought the product and the purchase has not started. Google Cloud waits for ' +
      'approval: with the `manual` approval policy, yours (approve or reject it with the ' +
      'marketplace); otherwise the connector answers once the buyer has signed up. On AWS, ' +
      'AWS has not confirmed the subscription yet.',
    whatToDo:
      'Do not provision yet: `entitlement.activated` follows when it starts, ' +
      '`entitlement.cancelled` when it never does.',
    subject: ENTITLEMENT_SUBJECT,
    data: entitlementEventDataSchema,
  },
  [T.entitlementActivated]: {
    title: 'Purchase started',
    sentWhen:
      'The purchase is active: approved on Google Cloud, confirmed by AWS (also when a buyer ' +
      'subscribes again to a legacy AWS listing).',
    whatToDo:
      'Provision the service for `tenantId` on `data.plan` (null on AWS). `tenantId` is null ' +
      'until the buyer has signed up: `account.signed_up` then names it.',
    subject: ENTITLEMENT_SUBJECT,
    data: entitlementEventDataSchema,
  },
  [T.entitlementPlanChangeRequested]: {
    title: 'Plan change requested',
    sentWhen:
      'The buyer asked to move from `data.plan` to `data.pendingPlan` (Google Cloud). With the ' +
      '`manual` approval policy the change waits for you to approve or reject it with the ' +
      'marketplace; otherwise the policy answers.',
    whatToDo:
      '`data.plan` still applies: `entitlement.plan_changed` or ' +
      '`entitlement.plan_change_cancelled` follows.',
    subject: ENTITLEMENT_SUBJECT,
    data: entitlementEventDataSchema,
  },
  [T.entitlementPlanChanged]: {
    title: 'Plan changed',
    sentWhen: 'The purchase moved to another plan, now `data.plan`.',
    whatToDo: "Apply the new plan's features and limits.",
    subject: ENTITLEMENT_SUBJECT,
    data: entitlementEventDataSchema,
  },
  [T.entitlementPlanChangeCancelled]: {
    title: 'Plan change cancelled',
    sentWhen: 'A requested plan change was withdrawn or rejected.',
    whatToDo: 'Nothing changes: `data.plan` still applies.',
    subject: ENTITLEMENT_SUBJECT,
    data: entitlementEventDataSchema,
  },
  [T.entitlementCancellationScheduled]: {
    title: 'Cancellation scheduled',
    sentWhen:
      'The buyer cancelled and the purchase ends later: at the end of its term on Google ' +
      'Cloud, in about an hour on AWS (time to report the last usage).',
    whatToDo:
      'Keep serving until `entitlement.cancelled`; `entitlement.cancellation_reverted` may ' +
      'come first.',
    subject: ENTITLEMENT_SUBJECT,
    data: entitlementEventDataSchema,
  },
  [T.entitlementCancellationReverted]: {
    title: 'Cancellation reverted',
    sentWhen: 'The buyer withdrew a scheduled cancellation; the purchase is active again.',
    whatToDo: 'Keep serving as before.',
    subject: ENTITLEMENT_SUBJECT,
    data: entitlementEventDataSchema,
  },
  [T.entitlementSuspended]: {
    title: 'Purchase suspended',
    sentWhen: 'The marketplace suspended the purchase.',
    whatToDo:
      "Suspend access, keeping the tenant's data: `entitlement.reinstated` or " +
      '`entitlement.cancelled` follows.',
    subject: ENTITLEMENT_SUBJECT,
    data: entitlementEventDataSchema,
  },
  [T.entitlementReinstated]: {
    title: 'Purchase reinstated',
    sentWhen: 'A suspended purchase is active again.',
    whatToDo: 'Restore access.',
    subject: ENTITLEMENT_SUBJECT,
    data: entitlementEventDataSchema,
  },
  [T.entitlementRenewed]: {
    title: 'Purchase renewed',
    sentWhen: 'The purchase renewed for a new term (Google Cloud); `data.offerId` names the offer.',
    whatToDo: 'Keep serving; nothing else changed.',
    subject: ENTITLEMENT_SUBJECT,
    data: entitlementEventDataSchema,
  },
  [T.entitlementUpdated]: {
    title: 'Purchase updated',
    sentWhen:
      'Something other than its status or plan changed: the offer, the free trial, the ' +
      'contract (AWS: `data.contract` holds it as it is now) or what usage is reported against.',
    whatToDo: 'Refresh what you keep of the purchase.',
    subject: ENTITLEMENT_SUBJECT,
    data: entitlementEventDataSchema,
  },
  [T.entitlementCancelled]: {
    title: 'Purchase ended',
    sentWhen:
      'The purchase ended: cancelled, expired, rejected, or never confirmed (an AWS payment ' +
      'that failed).',
    whatToDo: 'Stop the service for the purchase: its usage can no longer be billed.',
    subject: ENTITLEMENT_SUBJECT,
    data: entitlementEventDataSchema,
  },
  [T.entitlementDeleted]: {
    title: 'Purchase deleted',
    sentWhen:
      'The marketplace no longer knows the purchase (Google Cloud deletes ended purchases).',
    whatToDo: 'Stop the service if it still runs: this is the last event of its lifecycle.',
    subject: ENTITLEMENT_SUBJECT,
    data: entitlementEventDataSchema,
  },
  [T.accountSignedUp]: {
    title: 'Buyer signed up',
    sentWhen:
      "The buyer's sign-up was verified and the marketplace account is linked to `tenantId`: " +
      'a new tenant when the account had none (its first sign-up, or one after an ' +
      'administrator unlinked it).',
    whatToDo:
      "Create or open the tenant and give it the account's purchases (their events name the " +
      'account in `accountId`); their later events carry this `tenantId`.',
    // Only the verified signup sends it, and it is what links the tenant.
    subject: { ...ACCOUNT_SUBJECT, tenantId: ALWAYS },
    data: accountEventDataSchema,
  },
  [T.accountDeleted]: {
    title: 'Buyer account deleted',
    sentWhen:
      "The marketplace deleted the buyer's account (Google Cloud); the connector purged the " +
      "buyer's personal data at once.",
    whatToDo: "Delete the buyer's personal data you hold, as the marketplace requires.",
    subject: ACCOUNT_SUBJECT,
    data: accountEventDataSchema,
  },
  [T.accountLinked]: {
    title: 'Account linked to a tenant',
    sentWhen:
      'An administrator linked the marketplace account to `tenantId` through the vendor API; ' +
      '`data.previousTenantId` is the tenant it belonged to before, if any.',
    whatToDo: "Serve the account's purchases to `tenantId`.",
    subject: { ...ACCOUNT_SUBJECT, tenantId: ALWAYS },
    data: accountLinkEventDataSchema,
  },
  [T.accountUnlinked]: {
    title: 'Account unlinked from its tenant',
    sentWhen:
      'An administrator unlinked the marketplace account from `data.previousTenantId` through ' +
      'the vendor API; `tenantId` is null.',
    whatToDo: "Stop serving the account's purchases to that tenant.",
    subject: {
      ...ACCOUNT_SUBJECT,
      tenantId: { kind: 'null', why: 'the account belongs to no tenant once unlinked' },
    },
    data: accountLinkEventDataSchema,
  },
  [T.usageRejected]: {
    title: 'Usage hour refused',
    sentWhen:
      'The marketplace refused one hour of one dimension, or the connector could not send it ' +
      '(the purchase is not active, no metric fits the plan); `data.reason` says why.',
    whatToDo:
      'The hour is recorded, not retried and not billed: fix the cause for the hours to come.',
    subject: USAGE_SUBJECT,
    data: usageEventDataSchema,
  },
  [T.usageReportingStopped]: {
    title: 'Usage reporting stopped',
    sentWhen:
      "Google Cloud's usage check said to stop serving the buyer (billing disabled, project " +
      'deleted, ...): the hour is not billed and `data.reason` says why.',
    whatToDo: 'Stop or limit the service until the buyer fixes it.',
    subject: USAGE_SUBJECT,
    data: usageEventDataSchema,
  },
};

export const VENDOR_EVENT_TYPES: readonly VendorEventType[] = Object.values(VendorEventType);

/** The schema's description: what the event means, then what to do about it. */
export const vendorEventDescription = (type: VendorEventType): string => {
  const entry = VENDOR_EVENT_CATALOGUE[type];
  return `${entry.sentWhen} ${entry.whatToDo}`;
};

const withPresence = (schema: z.ZodType, presence: Presence, description: string) => {
  switch (presence.kind) {
    case 'always':
      return schema.meta({ description: `${description}.` });
    case 'nullable':
      return schema
        .nullable()
        .meta({ description: `${description}; null when ${presence.nullWhen}.` });
    case 'null':
      return z.null().meta({ description: `${description}; always null: ${presence.why}.` });
  }
};

const envelopeOf = (type: VendorEventType) => {
  const { title, subject, data } = VENDOR_EVENT_CATALOGUE[type];
  return z
    .looseObject({
      id: z
        .string()
        .min(1)
        .meta({
          description:
            'The event id, the same on every delivery of it (also the `Marketplace-Event-Id` ' +
            'header): skip an id you have already handled.',
        }),
      type: z.literal(type).meta({ description: 'What happened.' }),
      version: z.literal(VENDOR_EVENT_VERSION).meta({
        description: 'The version of the event shapes; a breaking change comes as a new one.',
      }),
      occurredAt: z.iso.datetime().meta({
        description: 'When the connector recorded the change: ISO 8601 in UTC, with milliseconds.',
      }),
      cloud: z.enum(CLOUDS).meta({
        description: 'The marketplace: `gcp` (Google Cloud) or `aws` (AWS Marketplace).',
      }),
      accountId: withPresence(
        vendorId(),
        subject.accountId,
        "The buyer's marketplace account, `<cloud>:<id>`: the Google Cloud account id, or the " +
          "buyer's AWS account id (the customer identifier on legacy listings)",
      ),
      entitlementId: withPresence(
        vendorId(),
        subject.entitlementId,
        'The purchase, `<cloud>:<id>`: the Google Cloud entitlement id, or the AWS LicenseArn ' +
          '(`<CustomerIdentifier>:<ProductCode>` on legacy listings)',
      ),
      tenantId: withPresence(
        z.string().min(1),
        subject.tenantId,
        'Your tenant: the one the account belongs to once this event happened',
      ),
      data,
    })
    .meta({ title, description: vendorEventDescription(type) });
};

type EnvelopeSchema = ReturnType<typeof envelopeOf>;

/** Each event type's envelope, for parsing and validating an event. */
export const VENDOR_EVENT_SCHEMAS: Readonly<Record<VendorEventType, EnvelopeSchema>> =
  Object.fromEntries(VENDOR_EVENT_TYPES.map((type) => [type, envelopeOf(type)])) as Record<
    VendorEventType,
    EnvelopeSchema
  >;

/** Any event of the catalogue, told apart by `type`. */
export const vendorEventSchema = z.discriminatedUnion(
  'type',
  VENDOR_EVENT_TYPES.map((type) => VENDOR_EVENT_SCHEMAS[type]) as [
    EnvelopeSchema,
    ...EnvelopeSchema[],
  ],
);

export type JsonSchema = z.core.JSONSchema.BaseSchema;

/** `additionalProperties: true` says outright what an absent keyword would only imply. */
const allowUnlistedFields = (ctx: { jsonSchema: JsonSchema }): void => {
  const extra = ctx.jsonSchema.additionalProperties;
  if (typeof extra === 'object' && Object.keys(extra).length === 0) {
    ctx.jsonSchema.additionalProperties = true;
  }
};

/**
 * The JSON Schema (draft 2020-12) of each event type: the whole envelope, `type` as a const,
 * with its `$id`, title and description first so that a reader meets them before the fields.
 */
export const vendorEventJsonSchemas = (): Record<VendorEventType, JsonSchema> =>
  Object.fromEntries(
    VENDOR_EVENT_TYPES.map((type) => {
      const generated: JsonSchema = z.toJSONSchema(VENDOR_EVENT_SCHEMAS[type], {
        target: 'draft-2020-12',
        override: allowUnlistedFields,
      });
      const { $schema, title, description, ...rest } = generated;
      const schema: JsonSchema = {
        $schema,
        $id: vendorEventSchemaId(type),
        title,
        description,
        ...rest,
      };
      return [type, schema];
    }),
  ) as Record<VendorEventType, JsonSchema>;
