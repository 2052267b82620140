/** The namespace the functions' CloudWatch metrics are published under. */
export const METRIC_NAMESPACE = 'marketplace-connector';

/**
 * One CloudWatch Embedded Metric Format line: Lambda's log stream carries it to CloudWatch,
 * which turns it into metrics without an API call or a permission. Counts only.
 */
export const metricLine = (
  dimensions: Readonly<Record<string, string>>,
  counts: Readonly<Record<string, number>>,
  nowEpochMs: number,
): string =>
  JSON.stringify({
    _aws: {
      Timestamp: nowEpochMs,
      CloudWatchMetrics: [
        {
          Namespace: METRIC_NAMESPACE,
          Dimensions: [Object.keys(dimensions)],
          Metrics: Object.keys(counts).map((name) => ({ Name: name, Unit: 'Count' })),
        },
      ],
    },
    ...dimensions,
    ...counts,
  });
