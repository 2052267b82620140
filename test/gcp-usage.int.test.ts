import { randomUUID } from 'node:crypto';
import { lastClosedHourStartEpochMs, toIsoHour, HOUR_MS } from '../shared/domain/time';
import { usageOperationId } from '../shared/domain/usage-window';
import {
  SCHEDULER_SERVICE_ACCOUNT,
  USAGE_METRICS,
  signUpAndSettle,
  startGcpStack,
} from './support/gcp-stack';
import type { GcpStack } from './support/gcp-stack';

describe('Google usage reporting through Service Control', () => {
  let stack: GcpStack;
  beforeAll(async () => {
    stack = await startGcpStack();
  });
  afterAll(async () => stack?.stop());

  const runReport = (
    token: string | null = stack.sim.gcp.oidcToken({
      audience: stack.urls.usageReport,
      email: SCHEDULER_SERVICE_ACCOUNT,
    }),
  ) =>
    fetch(stack.urls.usageReport, {
      method: 'POST',
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
    });

  /** A signed-up, active purchase that bills usage. */
  const activeUsagePurchase = async (plan = 'pro') => {
    const purchase = await stack.sim.gcp.purchase({ plan, usage: true });
    await signUpAndSettle(stack, purchase.signupToken);
    return purchase;
  };

  const hour = () => lastClosedHourStartEpochMs(Date.now());
  const record = (entitlementId: string, quantity: number, hourStartEpochMs = hour()) =>
    stack.store.addUsage({
      cloud: 'gcp',
      entitlementId,
      dimension: 'requests',
      hourStartEpochMs,
      records: [{ usageId: randomUUID(), quantity }],
      dedupeExpiresAtEpochSeconds: Math.floor(Date.now() / 1000) + 3_600,
      nowEpochMs: Date.now(),
    });
  const billedFor = (consumerId: string) =>
    stack.sim.gcp.usageReports().filter((r) => r.consumerId === consumerId);

  it('checks then reports a closed hour once, as int64 over exactly that hour', async () => {
    const purchase = await activeUsagePurchase();
    await record(purchase.entitlementId, 40);
    await record(purchase.entitlementId, 2);

    const response = await runReport();
    const again = await runReport();

    expect(response.status).toBe(200);
    expect(again.status).toBe(200);
    const [billed, ...more] = billedFor(purchase.usageReportingId!);
    expect(more).toEqual([]);
    expect(billed).toMatchObject({
      metricName: USAGE_METRICS.pro.requests,
      value: '42',
      startTime: toIsoHour(hour()),
      endTime: toIsoHour(hour() + HOUR_MS),
      operationId: usageOperationId(purchase.entitlementId, USAGE_METRICS.pro.requests, hour()),
    });
    expect(
      await stack.store.getUsageHour({
        cloud: 'gcp',
        entitlementId: purchase.entitlementId,
        dimension: 'requests',
        hourStartEpochMs: hour(),
      }),
    ).toMatchObject({
      state: 'sent',
      quantity: 42,
      answer: { status: 'Success', meteringRecordId: billed!.operationId },
    });
  });

  it('re-sends an hour sealed before a crash with the same quantity and operation', async () => {
    const purchase = await activeUsagePurchase();
    await record(purchase.entitlementId, 7);
    const key = {
      cloud: 'gcp' as const,
      entitlementId: purchase.entitlementId,
      dimension: 'requests',
      hourStartEpochMs: hour(),
    };
    await stack.store.sealUsageHour(key, Date.now());

    expect((await runReport()).status).toBe(200);

    expect(billedFor(purchase.usageReportingId!).map((b) => b.value)).toEqual(['7']);
    expect((await stack.store.getUsageHour(key))?.state).toBe('sent');
  });

  it('leaves hours sealed while Service Control fails, then sends them unchanged', async () => {
    const purchase = await activeUsagePurchase();
    await record(purchase.entitlementId, 5);
    const key = {
      cloud: 'gcp' as const,
      entitlementId: purchase.entitlementId,
      dimension: 'requests',
      hourStartEpochMs: hour(),
    };
    stack.sim.setFaults({ errorRate: 1, scope: 'gcp' });
    const failing = await runReport();
    stack.sim.resetFaults();
    expect(failing.status).toBe(200);
    expect((await failing.json()) as { deferred: number }).toMatchObject({
      deferred: expect.any(Number),
    });
    expect((await stack.store.getUsageHour(key))?.state).toBe('sealed');

    await runReport();
    expect(billedFor(purchase.usageReportingId!).map((b) => b.value)).toEqual(['5']);
  }, 120_000);

  it('stops reporting and tells the vendor when the check says to stop serving', async () => {
    const purchase = await activeUsagePurchase();
    await record(purchase.entitlementId, 3);
    stack.sim.gcp.forceCheckError(purchase.usageReportingId!, 'BILLING_DISABLED');
    const result = (await (await runReport()).json()) as { stopped: string[] };
    stack.sim.gcp.forceCheckError(purchase.usageReportingId!, undefined);

    expect(result.stopped).toContain(purchase.entitlementId);
    expect(billedFor(purchase.usageReportingId!)).toEqual([]);
    const key = {
      cloud: 'gcp' as const,
      entitlementId: purchase.entitlementId,
      dimension: 'requests',
      hourStartEpochMs: hour(),
    };
    expect(await stack.store.getUsageHour(key)).toMatchObject({
      state: 'rejected',
      answer: { reason: expect.stringContaining('BILLING_DISABLED') },
    });
    const message = await stack.store.getOutboxMessage(
      `gcp:usage:${purchase.entitlementId}:requests:${toIsoHour(hour())}:0`,
    );
    expect(message).toMatchObject({
      type: 'usage.reporting_stopped',
      entitlementId: purchase.entitlementId,
    });
  });

  it('records a dimension without a metric for the plan as rejected, with the reason', async () => {
    const purchase = await activeUsagePurchase();
    await stack.store.addUsage({
      cloud: 'gcp',
      entitlementId: purchase.entitlementId,
      dimension: 'storage',
      hourStartEpochMs: hour(),
      records: [{ usageId: randomUUID(), quantity: 1 }],
      dedupeExpiresAtEpochSeconds: Math.floor(Date.now() / 1000) + 3_600,
      nowEpochMs: Date.now(),
    });
    await runReport();
    const key = {
      cloud: 'gcp' as const,
      entitlementId: purchase.entitlementId,
      dimension: 'storage',
      hourStartEpochMs: hour(),
    };
    expect(await stack.store.getUsageHour(key)).toMatchObject({
      state: 'rejected',
      answer: { reason: expect.stringContaining('no metric') },
    });
  });

  it('reports consecutive hours as contiguous windows, oldest first', async () => {
    const purchase = await activeUsagePurchase();
    await record(purchase.entitlementId, 1, hour() - HOUR_MS);
    await record(purchase.entitlementId, 2, hour());

    await runReport();

    const billed = billedFor(purchase.usageReportingId!);
    expect(billed.map((b) => [b.value, b.startTime, b.endTime])).toEqual([
      ['1', toIsoHour(hour() - HOUR_MS), toIsoHour(hour())],
      ['2', toIsoHour(hour()), toIsoHour(hour() + HOUR_MS)],
    ]);
    expect(
      stack.sim.gcp
        .rejectedUsageReports()
        .filter((r) => r.consumerId === purchase.usageReportingId),
    ).toEqual([]);
  });

  it("reports a cancelled purchase's final hour, which began before the cancellation", async () => {
    const purchase = await activeUsagePurchase();
    await record(purchase.entitlementId, 9);
    await stack.sim.gcp.buyerAction(purchase.entitlementId, 'cancel', { immediate: true });
    expect(
      await stack.store.getEntitlement({ cloud: 'gcp', id: purchase.entitlementId }),
    ).toMatchObject({ status: 'cancelled', endedAtEpochMs: expect.any(Number) });

    await runReport();

    expect(billedFor(purchase.usageReportingId!).map((b) => [b.value, b.startTime])).toEqual([
      ['9', toIsoHour(hour())],
    ]);
    expect(
      await stack.store.getUsageHour({
        cloud: 'gcp',
        entitlementId: purchase.entitlementId,
        dimension: 'requests',
        hourStartEpochMs: hour(),
      }),
    ).toMatchObject({ state: 'sent', quantity: 9 });
  });

  it('refuses a call without the scheduler token', async () => {
    expect((await runReport(null)).status).toBe(401);
    expect(
      (await runReport(stack.sim.gcp.oidcToken({ audience: stack.urls.usageReport }))).status,
    ).toBe(401);
  });
});

describe('Google usage reporting when Service Control refuses an operation', () => {
  let stack: GcpStack;
  beforeAll(async () => {
    // A metric of another service: Service Control answers 200 with a report error for it.
    stack = await startGcpStack({
      USAGE_METRICS: JSON.stringify({ pro: { requests: 'other-service.example.com/requests' } }),
    });
  });
  afterAll(async () => stack?.stop());

  it('records the report error on the hour and tells the vendor', async () => {
    const purchase = await stack.sim.gcp.purchase({ plan: 'pro', usage: true });
    await signUpAndSettle(stack, purchase.signupToken);
    const hourStartEpochMs = lastClosedHourStartEpochMs(Date.now());
    const key = {
      cloud: 'gcp' as const,
      entitlementId: purchase.entitlementId,
      dimension: 'requests',
      hourStartEpochMs,
    };
    await stack.store.addUsage({
      ...key,
      records: [{ usageId: randomUUID(), quantity: 9 }],
      dedupeExpiresAtEpochSeconds: Math.floor(Date.now() / 1000) + 3_600,
      nowEpochMs: Date.now(),
    });

    const response = await fetch(stack.urls.usageReport, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${stack.sim.gcp.oidcToken({ audience: stack.urls.usageReport, email: SCHEDULER_SERVICE_ACCOUNT })}`,
      },
    });

    expect(await response.json()).toMatchObject({ sent: 0, rejected: 1 });
    expect(await stack.store.getUsageHour(key)).toMatchObject({
      state: 'rejected',
      answer: { reason: expect.stringMatching(/^report: /) },
    });
    expect(
      await stack.store.getOutboxMessage(
        `gcp:usage:${purchase.entitlementId}:requests:${toIsoHour(hourStartEpochMs)}:0`,
      ),
    ).toMatchObject({
      type: 'usage.rejected',
      data: expect.objectContaining({ quantity: 9 }),
    });
  });
});
