import { createSimClock } from '../clock';
import type { ConsumerStatus } from './marketplace';
import type { EntitlementRecord } from './model';
import { createUsageLedger } from './usage-ledger';

const SERVICE = 'demo.gcpmarketplace.example.com';
const CONSUMER = 'project_number:123456789012';
const entitlement = { id: 'ent-1', plan: 'pro' } as EntitlementRecord;
const active = (): ConsumerStatus => ({ kind: 'active', entitlement });

const operation = (overrides: Record<string, unknown> = {}) => ({
  operationId: 'op-1',
  operationName: 'Hourly Usage Report',
  consumerId: CONSUMER,
  startTime: '2026-01-01T00:00:00Z',
  endTime: '2026-01-01T01:00:00Z',
  metricValueSets: [{ metricName: `${SERVICE}/requests`, metricValues: [{ int64Value: '150' }] }],
  ...overrides,
});

const ledger = (metrics?: readonly string[]) =>
  createUsageLedger({
    clock: createSimClock(() => Date.parse('2026-01-01T02:00:00Z')),
    ...(metrics ? { metrics } : {}),
  });

describe('usage ledger', () => {
  it('bills an accepted operation, one row per value', () => {
    const usage = ledger();
    expect(usage.report(SERVICE, operation(), active)).toBeUndefined();
    expect(usage.billed()).toEqual([
      expect.objectContaining({
        operationId: 'op-1',
        consumerId: CONSUMER,
        entitlementId: 'ent-1',
        plan: 'pro',
        metricName: `${SERVICE}/requests`,
        value: '150',
        startTime: '2026-01-01T00:00:00.000Z',
        endTime: '2026-01-01T01:00:00.000Z',
      }),
    ]);
  });

  it('accepts the same operation again without billing it twice', () => {
    const usage = ledger();
    usage.report(SERVICE, operation(), active);
    expect(usage.report(SERVICE, operation(), active)).toBeUndefined();
    expect(usage.billed()).toHaveLength(1);
  });

  it('refuses an operationId reused with other content', () => {
    const usage = ledger();
    usage.report(SERVICE, operation(), active);
    const changed = operation({
      metricValueSets: [
        { metricName: `${SERVICE}/requests`, metricValues: [{ int64Value: '151' }] },
      ],
    });
    expect(usage.report(SERVICE, changed, active)).toEqual({
      operationId: 'op-1',
      status: {
        code: 6,
        message: expect.stringMatching(/already reported with different content/),
      },
    });
    expect(usage.billed()).toHaveLength(1);
    expect(usage.rejected()).toHaveLength(1);
  });

  it('wants each window to start where the previous one for the consumer and metric ended', () => {
    const usage = ledger();
    usage.report(SERVICE, operation(), active);
    const gap = operation({
      operationId: 'op-2',
      startTime: '2026-01-01T01:30:00Z',
      endTime: '2026-01-01T02:00:00Z',
    });
    expect(usage.report(SERVICE, gap, active)?.status).toEqual({
      code: 3,
      message: expect.stringMatching(
        /must equal the endTime of the previous report, 2026-01-01T01:00:00.000Z/,
      ),
    });
    const next = operation({
      operationId: 'op-3',
      startTime: '2026-01-01T01:00:00.000Z',
      endTime: '2026-01-01T02:00:00Z',
    });
    expect(usage.report(SERVICE, next, active)).toBeUndefined();
  });

  it.each([
    ['a number', 150, /decimal string/],
    ['a fraction', '1.5', /decimal string/],
    ['a negative count', '-1', /must not be negative/],
    ['an overflow', '9223372036854775808', /overflows int64/],
  ])('refuses %s as int64Value', (_name, value, message) => {
    const op = operation({
      metricValueSets: [
        { metricName: `${SERVICE}/requests`, metricValues: [{ int64Value: value }] },
      ],
    });
    expect(ledger().report(SERVICE, op, active)?.status.message).toMatch(message);
  });

  it('refuses a value that is not int64', () => {
    const op = operation({
      metricValueSets: [
        { metricName: `${SERVICE}/requests`, metricValues: [{ doubleValue: 1.5 }] },
      ],
    });
    expect(ledger().report(SERVICE, op, active)?.status.message).toMatch(
      /int64Value only, not doubleValue/,
    );
  });

  it.each([
    [`${SERVICE}/requests`, true],
    ['demo/requests', true],
    ['other.example.com/requests', false],
    ['requests', false],
    [`${SERVICE}/`, false],
  ])('knows metric %j by default: %s', (metricName, known) => {
    const op = operation({
      metricValueSets: [{ metricName, metricValues: [{ int64Value: '1' }] }],
    });
    expect(ledger().report(SERVICE, op, active) === undefined).toBe(known);
  });

  it('knows only the configured metrics when given a list', () => {
    const usage = ledger(['example.com/pro_requests']);
    const op = (metricName: string, operationId: string) =>
      operation({
        operationId,
        metricValueSets: [{ metricName, metricValues: [{ int64Value: '1' }] }],
      });
    expect(usage.report(SERVICE, op('example.com/pro_requests', 'a'), active)).toBeUndefined();
    expect(usage.report(SERVICE, op(`${SERVICE}/requests`, 'b'), active)?.status.message).toMatch(
      /not defined/,
    );
  });

  it('refuses unknown and inactive consumers', () => {
    expect(ledger().report(SERVICE, operation(), () => ({ kind: 'unknown' }))?.status).toEqual({
      code: 3,
      message: expect.stringMatching(/CONSUMER_INVALID/),
    });
    const inactive = (): ConsumerStatus => ({ kind: 'not-activated', entitlement });
    expect(ledger().report(SERVICE, operation(), inactive)?.status).toEqual({
      code: 9,
      message: expect.stringMatching(/SERVICE_NOT_ACTIVATED/),
    });
  });

  it.each([
    ['no operationId', { operationId: undefined }, /operationId is required/],
    ['a bad startTime', { startTime: 'yesterday' }, /startTime must be an RFC 3339/],
    ['an end before the start', { endTime: '2025-12-31T23:00:00Z' }, /endTime is before startTime/],
    ['no metrics', { metricValueSets: [] }, /at least one metric/],
  ])('refuses an operation with %s', (_name, overrides, message) => {
    expect(ledger().report(SERVICE, operation(overrides), active)?.status.message).toMatch(message);
  });
});
