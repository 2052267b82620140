import { METRIC_NAMESPACE, metricLine } from './metric-line';

describe('CloudWatch Embedded Metric Format', () => {
  it('declares each count as a metric with its dimensions, and carries the values', () => {
    const line = JSON.parse(
      metricLine(
        { Function: 'aws-metering' },
        { UsageHoursNearWindowEnd: 2, UsageRecordsSent: 50 },
        1_700_000_000_000,
      ),
    ) as Record<string, unknown>;
    expect(line).toEqual({
      _aws: {
        Timestamp: 1_700_000_000_000,
        CloudWatchMetrics: [
          {
            Namespace: METRIC_NAMESPACE,
            Dimensions: [['Function']],
            Metrics: [
              { Name: 'UsageHoursNearWindowEnd', Unit: 'Count' },
              { Name: 'UsageRecordsSent', Unit: 'Count' },
            ],
          },
        ],
      },
      Function: 'aws-metering',
      UsageHoursNearWindowEnd: 2,
      UsageRecordsSent: 50,
    });
  });
});
