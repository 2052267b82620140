/** One usage window of one metric for one consumer, as Service Control takes it. */
export interface UsageOperation {
  /** Stable for the same (entitlement, metric, window): a retry is the same operation. */
  readonly operationId: string;
  /** Google's `usageReportingId` of the entitlement. */
  readonly consumerId: string;
  readonly metricName: string;
  readonly quantity: number;
  readonly startEpochMs: number;
  readonly endEpochMs: number;
}

export interface UsageProblem {
  readonly code: string;
  readonly detail: string;
}

/**
 * Google's Service Control for a listing's service: `check` says whether the consumer may still
 * be served and billed, `report` bills. Both throw `MarketplaceApiError` when the call itself
 * failed (retryable on throttling and 5xx).
 */
export interface UsageReporter {
  /** The check errors for the operation; none means report it. */
  check(operation: UsageOperation): Promise<readonly UsageProblem[]>;
  /**
   * Reports operations in one call. Service Control answers 200 even when some fail: the
   * failures come back per operation id, and an id that is absent was accepted.
   */
  report(operations: readonly UsageOperation[]): Promise<ReadonlyMap<string, UsageProblem>>;
}
