import { deadLetterDecision } from '../domain/decision';
import type { MarketplaceEventCommand } from '../domain/decision';
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { Store } from '../ports/store';

/**
 * Records a message that can never be processed, with the reason, so that acknowledging it
 * loses nothing: the raw payload stays in the event log for a person to look at or replay.
 */
export const recordDeadLetter = async (
  deps: { store: Store; clock: Clock; logger: Logger; eventTtlSeconds: number },
  message: Pick<MarketplaceEventCommand, 'cloud' | 'eventId' | 'type' | 'payload'>,
  reason: string,
): Promise<void> => {
  const written = await deps.store.applyDecision(
    deadLetterDecision(message, reason, deps.clock.now(), deps.eventTtlSeconds),
  );
  deps.logger.warn('message dead-lettered', {
    eventId: message.eventId,
    type: message.type,
    reason,
    duplicate: written === 'duplicate',
  });
};
