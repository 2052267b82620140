import { OAuth2Client } from 'google-auth-library';
import { cloudcommerceprocurement_v1 } from 'googleapis/build/src/apis/cloudcommerceprocurement';
import { servicecontrol_v1 } from 'googleapis/build/src/apis/servicecontrol';
import type { Simulator } from '../server';
import { createSimulator } from '../server';

const SERVICE = 'demo.gcpmarketplace.example.com';
const METRIC = `${SERVICE}/requests`;
const PROVIDER = 'DEMO-usage';

// Under jest, gaxios needs `fetch` handed to it (see procurement-api.int.test.ts).
const auth = (): OAuth2Client => {
  const client = new OAuth2Client({ transporterOptions: { fetchImplementation: fetch } });
  client.setCredentials({ access_token: 'local' });
  return client;
};

const hour = (n: number): string => new Date(Date.UTC(2026, 0, 1, n)).toISOString();

describe('Service Control through the official googleapis client', () => {
  let sim: Simulator;
  let control: servicecontrol_v1.Servicecontrol;
  let procurement: cloudcommerceprocurement_v1.Cloudcommerceprocurement;

  beforeAll(async () => {
    sim = await createSimulator({
      seed: 'usage',
      gcp: { providerId: PROVIDER, productDomains: [SERVICE] },
    });
    const options = { rootUrl: `${sim.url}/`, auth: auth(), fetchImplementation: fetch };
    control = new servicecontrol_v1.Servicecontrol(options);
    procurement = new cloudcommerceprocurement_v1.Cloudcommerceprocurement(options);
  });
  afterAll(() => sim.stop());
  beforeEach(() => sim.reset());

  /** A usage-based purchase, signed up and approved: what a vendor meters. */
  const activeUsagePurchase = async () => {
    const bought = await sim.gcp.purchase({ plan: 'pro', usage: true });
    await procurement.providers.accounts.approve({
      name: `providers/${PROVIDER}/accounts/${bought.accountId}`,
      requestBody: {},
    });
    await procurement.providers.entitlements.approve({
      name: `providers/${PROVIDER}/entitlements/${bought.entitlementId}`,
      requestBody: {},
    });
    const { data } = await procurement.providers.entitlements.get({
      name: `providers/${PROVIDER}/entitlements/${bought.entitlementId}`,
    });
    return { ...bought, consumerId: data.usageReportingId! };
  };

  const check = async (consumerId: string, startTime = hour(0)) =>
    (
      await control.services.check({
        serviceName: SERVICE,
        requestBody: {
          operation: {
            operationId: 'check-1',
            operationName: 'Hourly Usage Report',
            consumerId,
            startTime,
          },
        },
      })
    ).data;

  const operation = (
    consumerId: string,
    operationId: string,
    start: number,
    end: number,
    value = '10',
  ): servicecontrol_v1.Schema$Operation => ({
    operationId,
    operationName: 'Hourly Usage Report',
    consumerId,
    startTime: hour(start),
    endTime: hour(end),
    metricValueSets: [{ metricName: METRIC, metricValues: [{ int64Value: value }] }],
    userLabels: { 'cloudmarketplace.googleapis.com/resource_name': 'workspace-1' },
  });

  const report = async (...operations: servicecontrol_v1.Schema$Operation[]) =>
    (await control.services.report({ serviceName: SERVICE, requestBody: { operations } })).data;

  it('checks an active consumer without errors', async () => {
    const { consumerId } = await activeUsagePurchase();
    const answer = await check(consumerId);
    expect(answer).toMatchObject({ operationId: 'check-1', serviceConfigId: expect.any(String) });
    expect(answer.checkErrors).toBeUndefined();
    expect(answer.checkInfo?.consumerInfo?.projectNumber).toBe(consumerId.split(':')[1]);
  });

  it('answers SERVICE_NOT_ACTIVATED before approval and for a window after cancellation, CONSUMER_INVALID for strangers', async () => {
    const bought = await sim.gcp.purchase({ plan: 'pro', usage: true });
    expect((await check(bought.usageReportingId!)).checkErrors).toEqual([
      expect.objectContaining({ code: 'SERVICE_NOT_ACTIVATED' }),
    ]);
    expect((await check('project_number:000000000000')).checkErrors).toEqual([
      expect.objectContaining({ code: 'CONSUMER_INVALID' }),
    ]);

    const active = await activeUsagePurchase();
    await sim.gcp.buyerAction(active.entitlementId, 'cancel');
    expect((await check(active.consumerId)).checkErrors).toBeUndefined(); // pending cancellation still runs
    await sim.gcp.buyerAction(active.entitlementId, 'expire');
    const afterTheEnd = new Date(Date.now() + 3_600_000).toISOString();
    expect((await check(active.consumerId, afterTheEnd)).checkErrors).toEqual([
      expect.objectContaining({ code: 'SERVICE_NOT_ACTIVATED' }),
    ]);
    // A window that began while the purchase was billable still checks: its final usage.
    expect((await check(active.consumerId)).checkErrors).toBeUndefined();
  });

  it('answers a check error forced through the faults route', async () => {
    const { consumerId } = await activeUsagePurchase();
    const forced = await fetch(`${sim.url}/_sim/faults`, {
      method: 'POST',
      body: JSON.stringify({ checkErrors: { [consumerId]: 'BILLING_DISABLED' } }),
    });
    expect(forced.status).toBe(200);
    expect((await check(consumerId)).checkErrors).toEqual([
      expect.objectContaining({
        code: 'BILLING_DISABLED',
        subject: `project:${consumerId.split(':')[1]}`,
      }),
    ]);
    await fetch(`${sim.url}/_sim/faults`, { method: 'DELETE' });
    expect((await check(consumerId)).checkErrors).toBeUndefined();
  });

  it('bills an accepted report, and lists it at /_sim/gcp/usage-reports', async () => {
    const { consumerId, entitlementId } = await activeUsagePurchase();
    expect((await check(consumerId)).checkErrors).toBeUndefined();
    const answer = await report(operation(consumerId, 'op-1', 0, 1, '150'));
    expect(answer.reportErrors).toBeUndefined();

    const listed = (await (await fetch(`${sim.url}/_sim/gcp/usage-reports`)).json()) as {
      reports: unknown[];
      rejected: unknown[];
    };
    expect(listed).toEqual({
      reports: [
        {
          serviceName: SERVICE,
          operationId: 'op-1',
          operationName: 'Hourly Usage Report',
          consumerId,
          entitlementId,
          plan: 'pro',
          metricName: METRIC,
          value: '150',
          startTime: hour(0),
          endTime: hour(1),
          userLabels: { 'cloudmarketplace.googleapis.com/resource_name': 'workspace-1' },
          reportedAt: expect.any(String),
        },
      ],
      rejected: [],
    });
  });

  it('answers 200 with one reportError per failed operation, billing the rest', async () => {
    const { consumerId } = await activeUsagePurchase();
    await report(operation(consumerId, 'op-1', 0, 1));

    const answer = await report(
      operation(consumerId, 'op-1', 0, 1), // the same again: accepted, billed once
      operation(consumerId, 'op-2', 1, 2), // contiguous: billed
      operation(consumerId, 'op-3', 3, 4), // a gap after 02:00
      operation('project_number:000000000000', 'op-4', 0, 1),
      {
        ...operation(consumerId, 'op-5', 2, 3),
        metricValueSets: [
          { metricName: 'elsewhere.example.com/requests', metricValues: [{ int64Value: '1' }] },
        ],
      },
      {
        ...operation(consumerId, 'op-6', 2, 3),
        metricValueSets: [
          { metricName: METRIC, metricValues: [{ int64Value: 5 as unknown as string }] },
        ],
      },
      operation(consumerId, 'op-2', 1, 2, '999'), // a known id with other content
    );

    expect(answer.reportErrors).toEqual([
      {
        operationId: 'op-3',
        status: { code: 3, message: expect.stringMatching(/must be contiguous/) },
      },
      {
        operationId: 'op-4',
        status: { code: 3, message: expect.stringMatching(/CONSUMER_INVALID/) },
      },
      {
        operationId: 'op-5',
        status: { code: 3, message: expect.stringMatching(/is not defined/) },
      },
      {
        operationId: 'op-6',
        status: { code: 3, message: expect.stringMatching(/decimal string/) },
      },
      {
        operationId: 'op-2',
        status: { code: 6, message: expect.stringMatching(/different content/) },
      },
    ]);
    expect(sim.gcp.usageReports().map((row) => row.operationId)).toEqual(['op-1', 'op-2']);
    expect(sim.gcp.rejectedUsageReports()).toHaveLength(5);
  });

  it('bills the last window that began before a cancellation, and nothing after', async () => {
    const { consumerId, entitlementId } = await activeUsagePurchase();
    const start = new Date();
    start.setUTCMinutes(0, 0, 0);
    const end = new Date(start.getTime() + 3600_000);
    await sim.gcp.buyerAction(entitlementId, 'cancel', { immediate: true });

    const answer = await report({
      ...operation(consumerId, 'final-hour', 0, 1),
      startTime: start.toISOString(),
      endTime: end.toISOString(),
    });
    expect(answer.reportErrors).toBeUndefined();
    const after = await report({
      ...operation(consumerId, 'after', 0, 1),
      startTime: end.toISOString(),
      endTime: new Date(end.getTime() + 3600_000).toISOString(),
    });
    expect(after.reportErrors).toEqual([
      {
        operationId: 'after',
        status: { code: 9, message: expect.stringMatching(/SERVICE_NOT_ACTIVATED/) },
      },
    ]);
  });

  it('needs a bearer token and a well-formed request', async () => {
    const unauthenticated = await fetch(`${sim.url}/v1/services/${SERVICE}:report`, {
      method: 'POST',
      body: '{}',
    });
    expect(unauthenticated.status).toBe(401);
    const empty = await fetch(`${sim.url}/v1/services/${SERVICE}:report`, {
      method: 'POST',
      headers: { authorization: 'Bearer local' },
      body: JSON.stringify({ operations: [] }),
    });
    expect(empty.status).toBe(400);
    expect(await empty.json()).toMatchObject({ error: { status: 'INVALID_ARGUMENT' } });
  });
});
