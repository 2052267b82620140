import { decideEvent } from '../domain/decision';
import type { MarketplaceEventCommand, Observation } from '../domain/decision';
import type { LifecycleEvent } from '../domain/entitlement';
import { ConcurrencyConflictError } from '../domain/errors';
import type { EventOutcome } from '../domain/model';
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { MarketplaceObserver } from '../ports/marketplace';
import type { Store } from '../ports/store';

export interface HandleMarketplaceEventDeps {
  readonly store: Store;
  readonly marketplace: MarketplaceObserver;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How long event records are kept for dedupe and audit. */
  readonly eventTtlSeconds: number;
  /** Attempts when the write keeps losing races; 5 unless given. */
  readonly maxAttempts?: number;
}

export interface HandleMarketplaceEventResult {
  readonly outcome: EventOutcome | 'duplicate';
  readonly vendorEvents: readonly string[];
  readonly attempts: number;
}

export type { LifecycleEvent, MarketplaceEventCommand };

/**
 * Handles one marketplace message:
 * 1. load the event record, account and entitlement (one read); a recorded event is a no-op;
 * 2. re-read the marketplace (once, whatever the retries);
 * 3. decide on (message, stored state, marketplace state), a pure step;
 * 4. write state, event record and outbox rows in one atomic write;
 * 5. when the write loses a race, go back to 1 with what is stored now.
 *
 * @throws ConcurrencyConflictError (retryable) when every attempt lost its race.
 * @throws MarketplaceApiError from the re-read; retryable when the marketplace may recover.
 */
export const handleMarketplaceEvent = async (
  deps: HandleMarketplaceEventDeps,
  command: MarketplaceEventCommand,
): Promise<HandleMarketplaceEventResult> => {
  const maxAttempts = deps.maxAttempts ?? 5;
  const logger = deps.logger.child({ cloud: command.cloud, eventId: command.eventId });
  let observation: Observation | undefined;
  for (let attempt = 1; ; attempt += 1) {
    const context = await deps.store.loadEventContext(command);
    if (context.eventRecorded) {
      logger.info('duplicate event ignored', { type: command.type });
      return { outcome: 'duplicate', vendorEvents: [], attempts: attempt };
    }
    observation ??= await deps.marketplace.observe(command);
    const decision = decideEvent(command, observation, {
      account: context.account,
      entitlement: context.entitlement,
      nowEpochMs: deps.clock.now(),
      eventTtlSeconds: deps.eventTtlSeconds,
    });
    try {
      const written = await deps.store.applyDecision(decision);
      const vendorEvents = written === 'applied' ? decision.outbox.map((m) => m.type) : [];
      const outcome = written === 'applied' ? decision.event.outcome : 'duplicate';
      logger.info('event handled', { type: command.type, outcome, vendorEvents, attempt });
      return { outcome, vendorEvents, attempts: attempt };
    } catch (error) {
      if (!(error instanceof ConcurrencyConflictError) || attempt >= maxAttempts) throw error;
      logger.warn('lost a race, deciding again', { attempt });
    }
  }
};
