import type { Account, Entitlement, EventRecord, MarketplaceSnapshot } from './model';
import { EventOutcome } from './model';

/**
 * What a purge removes, and the audit it leaves. Personal data here is whatever can point to a
 * person: the signup's identity (`Account.personal`), the raw marketplace resources (their
 * fields include names, emails and form answers the buyer typed) and Google's usage-reporting
 * consumer id. Ids, statuses, plans and dates stay: they identify a purchase, not a person, and
 * the ledger and later messages still need them.
 */

/** The raw resource emptied; its update time stays so that an older message still loses. */
const emptied = <S extends MarketplaceSnapshot | null>(snapshot: S): S =>
  (snapshot && { updateTimeEpochMs: snapshot.updateTimeEpochMs, data: {} }) as S;

const hasContent = (snapshot: MarketplaceSnapshot | null): boolean =>
  snapshot !== null && Object.keys(snapshot.data).length > 0;

/**
 * A purchase's record, or what a marketplace read says of it, without its personal data: the
 * raw resource emptied (its update time kept) and no consumer id.
 */
export const withoutPersonalData = <
  T extends { readonly snapshot: MarketplaceSnapshot | null; readonly usageReportingId?: unknown },
>(
  purchase: T,
): T => ({ ...purchase, snapshot: emptied(purchase.snapshot), usageReportingId: null });

export const entitlementHoldsPersonalData = (entitlement: Entitlement): boolean =>
  hasContent(entitlement.snapshot) || entitlement.usageReportingId !== null;

export const accountHoldsPersonalData = (account: Account): boolean =>
  account.personal !== null || hasContent(account.snapshot);

/**
 * The purchase without its personal data, marked purged for good: later messages move its
 * status and dates, never its personal data back.
 */
export const purgedEntitlement = (entitlement: Entitlement, nowEpochMs: number): Entitlement => ({
  ...withoutPersonalData(entitlement),
  purgedAtEpochMs: entitlement.purgedAtEpochMs ?? nowEpochMs,
  updatedAtEpochMs: nowEpochMs,
});

export const purgedAccount = (account: Account, nowEpochMs: number): Account => ({
  ...account,
  personal: null,
  snapshot: emptied(account.snapshot),
  updatedAtEpochMs: nowEpochMs,
});

export const PURGE_EVENT_TYPE = 'PERSONAL_DATA_PURGED';

/**
 * The anonymised audit of one purge: which record, why and when, never what was removed. Keyed
 * by the record's version, so a retried purge is a duplicate and a purge of a record that got
 * data back later is a new one.
 */
export const purgeAuditRecord = (
  purged: { readonly kind: 'account' | 'entitlement'; readonly record: Account | Entitlement },
  reason: 'retention' | 'account_deleted',
  nowEpochMs: number,
  auditTtlSeconds: number,
): EventRecord => {
  const { record, kind } = purged;
  const entitlement = kind === 'entitlement' ? (record as Entitlement) : null;
  return {
    cloud: record.cloud,
    eventId: `purge:${kind}:${record.id}:v${record.version}`,
    type: PURGE_EVENT_TYPE,
    accountId: entitlement ? entitlement.accountId : record.id,
    entitlementId: entitlement ? entitlement.id : null,
    outcome: EventOutcome.applied,
    reason,
    payload: { kind, status: record.status, lastChangedAtEpochMs: record.updatedAtEpochMs },
    receivedAtEpochMs: nowEpochMs,
    expiresAtEpochSeconds: Math.floor(nowEpochMs / 1000) + auditTtlSeconds,
  };
};
