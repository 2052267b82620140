import type { MarketplaceEventCommand, Observation } from '../domain/decision';

/**
 * Re-reads the marketplace for the resources a message names: the rule is never to trust the
 * message. Implemented per cloud (Procurement API GET; GetEntitlements).
 */
export interface MarketplaceObserver {
  /**
   * @returns what the marketplace says now; a resource it answers 404 for is `GONE`, and a
   * resource left out was not asked about.
   * @throws MarketplaceApiError, retryable when the marketplace throttled or failed.
   */
  observe(command: MarketplaceEventCommand): Promise<Observation>;
}
