import { UsageHourSealedError } from '../domain/errors';
import type { Entitlement } from '../domain/model';
import { HOUR_MS, hourStartEpochMs, lastClosedHourStartEpochMs, toIsoHour } from '../domain/time';
import type { Store } from '../ports/store';

/**
 * Gives every closed hour of the last `hours` a row of 0 where nothing was recorded, for each
 * entitlement and dimension, from the hour the entitlement was first seen. Reporting every hour
 * keeps Google's windows contiguous and is what AWS recommends. The zero's usage id is fixed per
 * hour, so running this again adds nothing; an hour already sealed needs no zero.
 */
export const addZeroUsageHours = async (
  deps: { readonly store: Store; readonly eventTtlSeconds: number },
  entitlements: Iterable<Entitlement>,
  dimensionsOf: (entitlement: Entitlement) => readonly string[],
  options: { readonly nowEpochMs: number; readonly hours: number },
): Promise<void> => {
  const lastClosed = lastClosedHourStartEpochMs(options.nowEpochMs);
  for (const entitlement of entitlements) {
    const first = Math.max(
      hourStartEpochMs(entitlement.createdAtEpochMs),
      lastClosed - (options.hours - 1) * HOUR_MS,
    );
    for (const dimension of dimensionsOf(entitlement)) {
      for (let hour = first; hour <= lastClosed; hour += HOUR_MS) {
        const key = {
          cloud: entitlement.cloud,
          entitlementId: entitlement.id,
          dimension,
          hourStartEpochMs: hour,
        };
        await deps.store
          .addUsage({
            ...key,
            records: [
              {
                usageId: `zero:${entitlement.cloud}:${entitlement.id}:${dimension}:${toIsoHour(hour)}`,
                quantity: 0,
              },
            ],
            dedupeExpiresAtEpochSeconds:
              Math.floor(options.nowEpochMs / 1000) + deps.eventTtlSeconds,
            nowEpochMs: options.nowEpochMs,
          })
          .catch((error: unknown) => {
            if (!(error instanceof UsageHourSealedError)) throw error;
          });
      }
    }
  }
};
