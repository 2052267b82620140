import { randomUUID } from 'node:crypto';
import { createJsonLogger } from '../shared/adapters/logging/json-logger';
import {
  EVENT_ID_HEADER,
  WEBHOOK_USER_AGENT,
  createHttpWebhookSender,
} from '../shared/adapters/webhooks';
import { deliverWebhooks, withWebhookDelivery } from '../shared/app/deliver-webhooks';
import type { DeliverWebhooksDeps } from '../shared/app/deliver-webhooks';
import { webhookEndpointId } from '../shared/config/webhook-config';
import type { OutboxMessage } from '../shared/domain/model';
import { usageNews } from '../shared/domain/usage-news';
import { VendorEventType, vendorEventEnvelope } from '../shared/domain/vendor-events';
import type { LogFields } from '../shared/ports/logger';
import type { Store } from '../shared/ports/store';
import type { WebhookEndpoint } from '../shared/ports/webhook-sender';
import { T0, aDecision, anOutboxMessage } from '../shared/test/builders';
import type { StoreUnderTest } from '../shared/test/store-contract';
import { freePort } from '../infra/local/free-port';
import { scheduledEvent } from './support/aws-usage';
import {
  SCHEDULER_SERVICE_ACCOUNT,
  loadAwsScheduledHandler,
  startGcpScheduledFunction,
} from './support/scheduled-functions';
import {
  dynamoDbStoreUnderTest,
  firestoreStoreUnderTest,
  freshDynamoDbTable,
} from './support/stores';
import { startWebhookReceiver } from './support/webhook-receiver';
import type { WebhookReceiver } from './support/webhook-receiver';

const SECRET = 'webhook-secret-for-tests-0123456789-new';
const OLD_SECRET = 'webhook-secret-for-tests-0123456789-old';
const SECOND_MS = 1_000;
const HOUR_MS = 60 * 60 * SECOND_MS;
const HORIZON_MS = 72 * HOUR_MS;
// Long enough for a loaded machine to answer, short enough for the hang cases to stay quick.
const TIMEOUT_MS = 1_500;
/** Half of the first backoff step (30 s) is fixed, the other half jittered. */
const FIRST_RETRY_MS = { min: 15 * SECOND_MS, max: 30 * SECOND_MS };

const silent = createJsonLogger({ level: 'error', write: () => undefined });

const endpointOf = (receiver: { url: string }): WebhookEndpoint => ({
  id: webhookEndpointId(receiver.url),
  url: receiver.url,
});

/** An event of one purchase; `offsetMs` orders events of the same purchase. */
const eventOf = (entitlementId: string, offsetMs = 0, overrides: Partial<OutboxMessage> = {}) =>
  anOutboxMessage({
    entitlementId,
    accountId: `acct-of-${entitlementId}`,
    occurredAtEpochMs: T0 + offsetMs,
    nextAttemptAtEpochMs: T0 + offsetMs,
    data: { status: 'active', entitlementId, offsetMs },
    ...overrides,
  });

describe.each([
  ['DynamoDB Local', dynamoDbStoreUnderTest],
  ['the Firestore emulator', firestoreStoreUnderTest],
])('webhook delivery on %s to a local HTTP receiver', (_name, open) => {
  let underTest: StoreUnderTest;
  let store: Store;
  let now = T0;
  const clock = { now: () => now };
  const receivers: WebhookReceiver[] = [];

  const receiver = async (secrets: readonly string[] = [SECRET]) => {
    const started = await startWebhookReceiver({ secrets, nowEpochMs: clock.now });
    receivers.push(started);
    return started;
  };

  const depsFor = (
    targets: ReadonlyArray<{ url: string }>,
    overrides: Partial<DeliverWebhooksDeps> = {},
  ): DeliverWebhooksDeps => ({
    store,
    clock,
    sender: createHttpWebhookSender({ secrets: [SECRET], timeoutMs: TIMEOUT_MS, clock }),
    endpoints: targets.map(endpointOf),
    random: () => 0.5,
    retryHorizonMs: HORIZON_MS,
    leaseMs: 60 * SECOND_MS,
    logger: silent,
    deliveryLogTtlSeconds: 86_400,
    ...overrides,
  });

  const write = async (...events: OutboxMessage[]) => {
    expect(await store.applyDecision(aDecision({ outbox: events }))).toBe('applied');
    return events;
  };
  const stored = async (event: OutboxMessage) => (await store.getOutboxMessage(event.id))!;
  const logOf = async (event: OutboxMessage) =>
    (await store.listDeliveryAttempts(event.id, { limit: 100 })).items;

  beforeEach(async () => {
    underTest = await open();
    store = underTest.store;
    now = T0;
  });
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
    await underTest.teardown();
  });

  it('delivers a signed event once, acknowledges it and logs the try', async () => {
    const app = await receiver();
    const [event] = await write(eventOf('ent-signed'));

    const result = await deliverWebhooks(depsFor([app]));

    expect(result).toEqual({ claimed: 1, delivered: 1, retried: 0, failed: 0, deferred: 0 });
    expect(app.refused).toEqual([]);
    expect(app.received).toHaveLength(1);
    const [request] = app.received;
    expect(JSON.parse(request!.body)).toEqual(vendorEventEnvelope(event!));
    expect(request!.event).toMatchObject({
      id: event!.id,
      type: 'entitlement.activated',
      entitlementId: 'gcp:ent-signed',
      occurredAt: new Date(T0).toISOString(),
    });
    expect(request!.headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': WEBHOOK_USER_AGENT,
      [EVENT_ID_HEADER.toLowerCase()]: event!.id,
      'marketplace-signature': expect.stringMatching(/^t=\d+,v1=[0-9a-f]{64}$/),
    });
    expect(await stored(event!)).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(await logOf(event!)).toEqual([
      {
        messageId: event!.id,
        endpointId: endpointOf(app).id,
        attempt: 1,
        atEpochMs: T0,
        statusCode: 204,
        latencyMs: expect.any(Number),
        outcome: 'delivered',
        error: null,
        expiresAtEpochSeconds: T0 / 1000 + 86_400,
      },
    ]);

    // Acknowledged: a later run has nothing to send.
    now += HOUR_MS;
    expect(await deliverWebhooks(depsFor([app]))).toMatchObject({ claimed: 0 });
    expect(app.received).toHaveLength(1);
  });

  it('signs with every secret while they rotate: apps on either secret accept', async () => {
    const onOld = await receiver([OLD_SECRET]);
    const onNew = await receiver([SECRET]);
    const [event] = await write(eventOf('ent-rotation'));
    const sender = createHttpWebhookSender({
      secrets: [SECRET, OLD_SECRET],
      timeoutMs: TIMEOUT_MS,
      clock,
    });

    expect(await deliverWebhooks(depsFor([onOld, onNew], { sender }))).toMatchObject({
      delivered: 1,
    });

    for (const app of [onOld, onNew]) {
      expect(app.refused).toEqual([]);
      expect(app.accepted()).toEqual([event!.id]);
      expect(app.received[0]!.headers['marketplace-signature']).toMatch(
        /^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/,
      );
    }
  });

  it('an app on another secret refuses the webhook, which is then retried', async () => {
    const app = await receiver([OLD_SECRET]);
    const [event] = await write(eventOf('ent-wrong-secret'));

    expect(await deliverWebhooks(depsFor([app]))).toMatchObject({ retried: 1 });
    expect(app.refused).toEqual(['signature does not match the body']);
    expect(await stored(event!)).toMatchObject({ status: 'pending', lastError: /HTTP 401/ });
  });

  it('retries after 500s with a growing jittered backoff, then delivers', async () => {
    const app = await receiver();
    app.answer({ status: 500 });
    const [event] = await write(eventOf('ent-500'));

    expect(await deliverWebhooks(depsFor([app]))).toEqual({
      claimed: 1,
      delivered: 0,
      retried: 1,
      failed: 0,
      deferred: 0,
    });
    const first = await stored(event!);
    expect(first).toMatchObject({ status: 'pending', attempts: 1, deliveredTo: [] });
    expect(first.lastError).toContain(`${endpointOf(app).id}: HTTP 500`);
    expect(first.nextAttemptAtEpochMs).toBeGreaterThanOrEqual(T0 + FIRST_RETRY_MS.min);
    expect(first.nextAttemptAtEpochMs).toBeLessThanOrEqual(T0 + FIRST_RETRY_MS.max);

    // Not due yet: a run before the backoff ends sends nothing.
    now = first.nextAttemptAtEpochMs - 1;
    expect(await deliverWebhooks(depsFor([app]))).toMatchObject({ claimed: 0 });

    now = first.nextAttemptAtEpochMs;
    expect(await deliverWebhooks(depsFor([app]))).toMatchObject({ retried: 1 });
    const second = await stored(event!);
    expect(second.nextAttemptAtEpochMs - now).toBeGreaterThanOrEqual(30 * SECOND_MS);
    expect(second.nextAttemptAtEpochMs - now).toBeLessThanOrEqual(60 * SECOND_MS);

    app.answer({ status: 200 });
    now = second.nextAttemptAtEpochMs;
    expect(await deliverWebhooks(depsFor([app]))).toMatchObject({ delivered: 1 });
    expect(await stored(event!)).toMatchObject({ status: 'delivered', attempts: 3 });
    expect(app.received.map((r) => r.event.id)).toEqual([event!.id, event!.id, event!.id]);
    expect(
      (await logOf(event!)).map(({ attempt, statusCode, outcome, error }) => ({
        attempt,
        statusCode,
        outcome,
        error,
      })),
    ).toEqual([
      { attempt: 1, statusCode: 500, outcome: 'failed', error: 'HTTP 500' },
      { attempt: 2, statusCode: 500, outcome: 'failed', error: 'HTTP 500' },
      { attempt: 3, statusCode: 200, outcome: 'delivered', error: null },
    ]);
  });

  it('counts an app that does not answer within the timeout as failed, and retries', async () => {
    const app = await receiver();
    app.answer('hang');
    const [event] = await write(eventOf('ent-hang'));

    expect(await deliverWebhooks(depsFor([app]))).toMatchObject({ retried: 1 });

    const [entry] = await logOf(event!);
    expect(entry).toMatchObject({
      statusCode: null,
      outcome: 'failed',
      error: `no answer within ${TIMEOUT_MS} ms`,
    });
    expect(entry!.latencyMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    const retried = await stored(event!);
    expect(retried.lastError).toContain('no answer within');
    expect(retried.nextAttemptAtEpochMs - T0).toBeGreaterThanOrEqual(FIRST_RETRY_MS.min);
    expect(retried.nextAttemptAtEpochMs - T0).toBeLessThanOrEqual(FIRST_RETRY_MS.max);

    app.answer({ status: 202 });
    now = retried.nextAttemptAtEpochMs;
    expect(await deliverWebhooks(depsFor([app]))).toMatchObject({ delivered: 1 });
  });

  it('counts a redirect as failed and does not follow it; a refused connection too', async () => {
    const elsewhere = await receiver();
    const redirecting = await receiver();
    redirecting.answer({ status: 307, location: elsewhere.url });
    const closed = { url: `http://127.0.0.1:${await freePort()}/hooks` };
    const [event] = await write(eventOf('ent-redirect'));

    expect(await deliverWebhooks(depsFor([redirecting, closed]))).toMatchObject({ retried: 1 });

    expect(elsewhere.received).toEqual([]);
    const log = await logOf(event!);
    expect(log).toHaveLength(2);
    expect(log.find((e) => e.endpointId === endpointOf(redirecting).id)).toMatchObject({
      statusCode: 307,
      outcome: 'failed',
      error: 'HTTP 307 (redirects are not followed)',
    });
    expect(log.find((e) => e.endpointId === endpointOf(closed).id)).toMatchObject({
      statusCode: null,
      outcome: 'failed',
      error: expect.stringMatching(/^connection failed/),
    });
    // What the apps answered is neither kept nor logged.
    expect(JSON.stringify([await stored(event!), log])).not.toContain('a body the sender');
  });

  it('retries at the failing endpoint only, once the others took the event', async () => {
    const healthy = await receiver();
    const failing = await receiver();
    failing.answer({ status: 503 });
    const [event] = await write(eventOf('ent-two-endpoints'));

    expect(await deliverWebhooks(depsFor([healthy, failing]))).toMatchObject({ retried: 1 });
    const retried = await stored(event!);
    expect(retried.deliveredTo).toEqual([endpointOf(healthy).id]);
    expect(retried.lastError).toContain(endpointOf(failing).id);
    expect(retried.lastError).not.toContain(endpointOf(healthy).id);

    failing.answer({ status: 200 });
    now = retried.nextAttemptAtEpochMs;
    expect(await deliverWebhooks(depsFor([healthy, failing]))).toMatchObject({ delivered: 1 });

    expect(healthy.accepted()).toEqual([event!.id]);
    expect(failing.received).toHaveLength(2);
    expect(failing.accepted()).toEqual([event!.id]);
    expect(await stored(event!)).toMatchObject({ status: 'delivered' });
  });

  it('never lets a later event of a purchase overtake an earlier one at an endpoint', async () => {
    const a = await receiver();
    const b = await receiver();
    const [first, second] = await write(eventOf('ent-order', 0), eventOf('ent-order', 1));
    const [other] = await write(eventOf('ent-unrelated', 2));
    // A refuses the first event only: the second must wait for it there, and only there.
    a.answer((event) => (event.id === first!.id ? { status: 500 } : { status: 200 }));
    now = T0 + 2;

    expect(await deliverWebhooks(depsFor([a, b]))).toEqual({
      claimed: 3,
      delivered: 1,
      retried: 1,
      failed: 0,
      deferred: 1,
    });

    expect(b.accepted().filter((id) => id !== other!.id)).toEqual([first!.id, second!.id]);
    expect(a.accepted()).toEqual([other!.id]);
    expect(a.received.map((r) => r.event.id).filter((id) => id !== other!.id)).toEqual([first!.id]);
    const waiting = await stored(second!);
    const failed = await stored(first!);
    // Held back is not a try: no attempt counted, no error, and nothing in the log for A.
    expect(waiting).toMatchObject({
      status: 'pending',
      deliveredTo: [endpointOf(b).id],
      attempts: 0,
      lastError: null,
    });
    expect(waiting.nextAttemptAtEpochMs).toBeGreaterThan(failed.nextAttemptAtEpochMs);
    expect((await logOf(second!)).map((e) => e.endpointId)).toEqual([endpointOf(b).id]);

    // A recovers: at the first event's retry, both reach A, in order, and B gets no repeat.
    a.answer({ status: 200 });
    now = waiting.nextAttemptAtEpochMs;
    expect(await deliverWebhooks(depsFor([a, b]))).toMatchObject({ claimed: 2, delivered: 2 });
    expect(a.accepted()).toEqual([other!.id, first!.id, second!.id]);
    expect(b.accepted().filter((id) => id !== other!.id)).toEqual([first!.id, second!.id]);
    expect(await stored(second!)).toMatchObject({ status: 'delivered' });
  });

  it('starts the backoff of an event that was held back at its first step', async () => {
    const app = await receiver();
    const [first, second] = await write(eventOf('ent-held', 0), eventOf('ent-held', 1));
    app.answer((event) => (event.id === first!.id ? { status: 500 } : { status: 200 }));
    // Five rounds in which the first event fails and the second is only held back.
    for (let round = 0; round < 5; round += 1) {
      now = Math.max(now + 1, (await stored(second!)).nextAttemptAtEpochMs);
      expect(await deliverWebhooks(depsFor([app]))).toMatchObject({ deferred: 1 });
    }
    expect(await logOf(second!)).toEqual([]);
    expect(await stored(second!)).toMatchObject({ attempts: 0, lastError: null });

    // The first gets through; the second fails its first real try.
    app.answer((event) => (event.id === first!.id ? { status: 200 } : { status: 500 }));
    now = Math.max(
      (await stored(first!)).nextAttemptAtEpochMs,
      (await stored(second!)).nextAttemptAtEpochMs,
    );
    expect(await deliverWebhooks(depsFor([app]))).toMatchObject({ delivered: 1, retried: 1 });
    const retried = await stored(second!);
    expect((await logOf(second!)).map((entry) => entry.attempt)).toEqual([1]);
    expect(retried).toMatchObject({ attempts: 1, lastError: expect.stringContaining('HTTP 500') });
    expect(retried.nextAttemptAtEpochMs - now).toBeLessThanOrEqual(FIRST_RETRY_MS.max);
  });

  it('keeps the last real error of an event it holds back', async () => {
    const a = await receiver();
    const b = await receiver();
    const [first, second] = await write(eventOf('ent-held-error', 0), eventOf('ent-held-error', 1));
    a.answer((event) => (event.id === first!.id ? { status: 500 } : { status: 200 }));
    b.answer((event) => (event.id === second!.id ? { status: 503 } : { status: 200 }));
    now = T0 + 1;
    // The second waits for the first at A, and B refuses it.
    expect(await deliverWebhooks(depsFor([a, b]))).toMatchObject({ retried: 2 });
    const refused = await stored(second!);
    expect(refused).toMatchObject({ attempts: 1, lastError: expect.stringContaining('HTTP 503') });

    // B takes it now, and it still waits at A: held back, with B's refusal still its last error.
    b.answer({ status: 200 });
    now = Math.max((await stored(first!)).nextAttemptAtEpochMs, refused.nextAttemptAtEpochMs);
    expect(await deliverWebhooks(depsFor([a, b]))).toMatchObject({ retried: 1, deferred: 1 });
    expect(await stored(second!)).toMatchObject({
      attempts: 1,
      deliveredTo: [endpointOf(b).id],
      lastError: refused.lastError,
    });
  });

  it('holds a new event back for an older one leased by another run, without a try', async () => {
    const app = await receiver();
    const [older, newer] = await write(eventOf('ent-leased', 0), eventOf('ent-leased', 1));
    now = T0 + 1;
    // Another run has the older event (and its lease) and has not sent it yet.
    const [leased] = await store.claimOutbox({
      nowEpochMs: now,
      limit: 1,
      leaseMs: 60 * SECOND_MS,
      ids: [older!.id],
    });
    expect(leased?.id).toBe(older!.id);

    expect(await deliverWebhooks(depsFor([app]), { ids: [newer!.id] })).toMatchObject({
      claimed: 1,
      deferred: 1,
    });
    expect(app.received).toEqual([]);
    // Just after the other run's lease ends.
    expect((await stored(newer!)).nextAttemptAtEpochMs).toBe(now + 60 * SECOND_MS + 1);

    // The lease runs out and a run sends both, in order.
    now += 60 * SECOND_MS + 1;
    expect(await deliverWebhooks(depsFor([app]))).toMatchObject({ delivered: 2 });
    expect(app.accepted()).toEqual([older!.id, newer!.id]);
  });

  it('stops sending to an endpoint that did not answer, so the others drain their backlog', async () => {
    const healthy = await receiver();
    const blackHole = await receiver();
    blackHole.answer('hang');
    const events = await write(
      ...Array.from({ length: 12 }, (_, index) => eventOf(`ent-black-hole-${index}`, index)),
    );
    now = T0 + 11;

    const result = await deliverWebhooks(depsFor([healthy, blackHole]));

    // One round of the purchases served at once waited for the timeout; the rest were not sent.
    expect(healthy.accepted().sort()).toEqual(events.map((e) => e.id).sort());
    const tried = blackHole.received.map((r) => r.event.id);
    expect(tried.length).toBeGreaterThan(0);
    expect(tried.length).toBeLessThanOrEqual(4);
    expect(result).toEqual({
      claimed: 12,
      delivered: 0,
      retried: tried.length,
      failed: 0,
      deferred: 12 - tried.length,
    });
    for (const event of events) {
      const after = await stored(event);
      expect(after).toMatchObject({ status: 'pending', deliveredTo: [endpointOf(healthy).id] });
      expect(after.nextAttemptAtEpochMs - now).toBeGreaterThanOrEqual(FIRST_RETRY_MS.min);
      expect(after.nextAttemptAtEpochMs - now).toBeLessThanOrEqual(FIRST_RETRY_MS.max);
      if (tried.includes(event.id)) {
        expect(after).toMatchObject({
          attempts: 1,
          lastError: expect.stringContaining('no answer'),
        });
      } else {
        // Not sent there is no try: no attempt counted, nothing in its log for that endpoint.
        expect(after).toMatchObject({ attempts: 0, lastError: null });
        expect((await logOf(event)).map((e) => e.endpointId)).toEqual([endpointOf(healthy).id]);
      }
    }

    // The next run tries the endpoint again, and delivers there once it answers.
    blackHole.answer({ status: 200 });
    now += FIRST_RETRY_MS.max;
    expect(await deliverWebhooks(depsFor([healthy, blackHole]))).toMatchObject({ delivered: 12 });
    expect(healthy.received).toHaveLength(12);
  });

  it('gives up an event kept from an unreachable endpoint once the horizon has passed', async () => {
    const healthy = await receiver();
    const blackHole = await receiver();
    blackHole.answer('hang');
    const events = await write(
      ...Array.from({ length: 8 }, (_, index) => eventOf(`ent-down-for-good-${index}`, index)),
    );
    now = T0 + HOUR_MS - 10 * SECOND_MS;

    const result = await deliverWebhooks(
      depsFor([healthy, blackHole], { retryHorizonMs: HOUR_MS }),
    );

    // Tried there or not, no event is put off past its horizon: each is given up, replayable.
    const tried = blackHole.received.map((r) => r.event.id);
    expect(tried.length).toBeLessThan(events.length);
    expect(result).toEqual({ claimed: 8, delivered: 0, retried: 0, failed: 8, deferred: 0 });
    for (const event of events) {
      expect(await stored(event)).toMatchObject({
        status: 'failed',
        deliveredTo: [endpointOf(healthy).id],
        lastError: expect.stringMatching(tried.includes(event.id) ? /no answer/ : /unreachable/),
      });
    }
  });

  it('gives an event up once its next try would fall after the horizon', async () => {
    const healthy = await receiver();
    const failing = await receiver();
    failing.answer({ status: 500 });
    const [event] = await write(eventOf('ent-horizon'));
    const deps = depsFor([healthy, failing], { retryHorizonMs: HOUR_MS });

    now = T0 + HOUR_MS - 10 * SECOND_MS;
    expect(await deliverWebhooks(deps)).toEqual({
      claimed: 1,
      delivered: 0,
      retried: 0,
      failed: 1,
      deferred: 0,
    });
    const given = await stored(event!);
    expect(given).toMatchObject({
      status: 'failed',
      deliveredTo: [endpointOf(healthy).id],
      lastError: expect.stringContaining('HTTP 500'),
    });

    // Off the due list for good, and it no longer holds back a later event of the purchase.
    const [later] = await write(eventOf('ent-horizon', HOUR_MS));
    failing.answer({ status: 200 });
    now += 10 * HOUR_MS;
    expect(await deliverWebhooks(deps)).toMatchObject({ claimed: 1, delivered: 1 });
    expect(failing.accepted()).toEqual([later!.id]);
    expect((await stored(event!)).status).toBe('failed');
  });

  it('re-delivers a replayed event to every endpoint, whatever it became', async () => {
    const a = await receiver();
    const b = await receiver();
    const [delivered, failed] = await write(eventOf('ent-replay-1'), eventOf('ent-replay-2'));
    const refuseFailed = (event: { id: string }) =>
      event.id === failed!.id ? { status: 500 } : { status: 200 };
    a.answer(refuseFailed);
    b.answer(refuseFailed);
    now = T0 + HOUR_MS - SECOND_MS;
    expect(await deliverWebhooks(depsFor([a, b], { retryHorizonMs: HOUR_MS }))).toMatchObject({
      delivered: 1,
      failed: 1,
    });
    expect((await stored(delivered!)).status).toBe('delivered');
    expect((await stored(failed!)).status).toBe('failed');

    a.answer({ status: 200 });
    b.answer({ status: 200 });
    now += HOUR_MS;
    for (const event of [delivered!, failed!]) {
      expect(await store.replayOutbox(event.id, now)).toMatchObject({
        status: 'pending',
        attempts: 0,
        deliveredTo: [],
      });
    }
    // A replay gets the same horizon as every event: long enough to deliver now.
    expect(await deliverWebhooks(depsFor([a, b]))).toMatchObject({ claimed: 2, delivered: 2 });

    for (const app of [a, b]) {
      expect(app.accepted().sort()).toEqual([delivered!.id, delivered!.id, failed!.id].sort());
      expect(app.refused).toEqual([]);
    }
    expect((await stored(failed!)).status).toBe('delivered');
  });

  it('retries a replayed event for a whole horizon from the replay, however old the event', async () => {
    const app = await receiver();
    const [event] = await write(eventOf('ent-replay-late'));
    expect(await deliverWebhooks(depsFor([app]))).toMatchObject({ delivered: 1 });
    // Four days later the vendor's app lost its data and asks again; the first try meets a 503.
    const replayedAt = T0 + 96 * HOUR_MS;
    now = replayedAt;
    expect(await store.replayOutbox(event!.id, now)).toMatchObject({
      replayedAtEpochMs: replayedAt,
    });
    app.answer({ status: 503 });

    expect(await deliverWebhooks(depsFor([app]))).toMatchObject({ retried: 1, failed: 0 });

    // Given up only once a retry would fall after the horizon that the replay started.
    now = replayedAt + HORIZON_MS - 10 * SECOND_MS;
    expect(await deliverWebhooks(depsFor([app]))).toMatchObject({ retried: 0, failed: 1 });
    expect(await stored(event!)).toMatchObject({ status: 'failed', attempts: 2 });
  });

  it('delivers an event replayed while an attempt is in flight, whatever that attempt reports', async () => {
    const app = await receiver();
    const [event] = await write(eventOf('ent-replay-in-flight'));
    // Near the end of the horizon the app refuses the event, and while it handles the POST the
    // vendor replays it (as `POST /v1/events/{id}/replay` does); the replay is answered 200.
    now = T0 + HOUR_MS - 10 * SECOND_MS;
    let replayed: Promise<unknown> | undefined;
    app.answer(() => {
      if (replayed) return { status: 200 };
      replayed = store.replayOutbox(event!.id, now);
      return { status: 500 };
    });
    // The replay lands before the attempt reports back, which then gives the event up.
    const slowToReport: Store = {
      ...store,
      recordDeliveryAttempt: async (attempt) => {
        await replayed;
        return store.recordDeliveryAttempt(attempt);
      },
    };
    const deps = depsFor([app], { store: slowToReport, retryHorizonMs: HOUR_MS });

    await deliverWebhooks(deps);
    await deliverWebhooks(deps);

    expect(app.received.map((r) => r.answer)).toEqual([{ status: 500 }, { status: 200 }]);
    expect(await stored(event!)).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('replays a time range: the events listed by time are delivered again, the rest not', async () => {
    const app = await receiver();
    const events = await write(
      eventOf('ent-range-1', 0),
      eventOf('ent-range-2', HOUR_MS),
      eventOf('ent-range-3', 2 * HOUR_MS),
    );
    now = T0 + 3 * HOUR_MS;
    expect(await deliverWebhooks(depsFor([app]))).toMatchObject({ delivered: 3 });

    const range = await store.listOutbox(
      { by: 'time', fromEpochMs: T0, toEpochMs: T0 + 90 * 60 * SECOND_MS },
      { limit: 100 },
    );
    const inRange = range.items.map((e) => e.id);
    expect(inRange).toEqual([events[0]!.id, events[1]!.id]);
    for (const id of inRange) await store.replayOutbox(id, now);

    expect(await deliverWebhooks(depsFor([app]))).toMatchObject({ claimed: 2, delivered: 2 });
    // Different purchases go side by side: only the runs are in order.
    expect(app.accepted().slice(0, 3).sort()).toEqual(events.map((e) => e.id).sort());
    expect(app.accepted().slice(3).sort()).toEqual([...inRange].sort());
  });

  it('waits no longer than a shorter attempt timeout, as the attempt right after a write does', async () => {
    const app = await receiver();
    app.answer('hang');
    const [event] = await write(eventOf('ent-short-wait'));

    expect(await deliverWebhooks(depsFor([app]), { attemptTimeoutMs: 100 })).toMatchObject({
      retried: 1,
    });
    const [entry] = await logOf(event!);
    expect(entry).toMatchObject({ outcome: 'failed', error: 'no answer within 100 ms' });
  });

  it('withWebhookDelivery delivers what a write put in the outbox before it returns', async () => {
    const app = await receiver();
    const deps = depsFor([app]);
    const writing = withWebhookDelivery(deps);
    const decision = aDecision({ outbox: [eventOf('ent-at-once')] });
    const [event] = decision.outbox;

    expect(await writing.applyDecision(decision)).toBe('applied');

    expect(app.accepted()).toEqual([event!.id]);
    expect(await stored(event!)).toMatchObject({ status: 'delivered', attempts: 1 });
    // A duplicate writes nothing and sends nothing.
    expect(await writing.applyDecision(decision)).toBe('duplicate');
    expect(app.received).toHaveLength(1);
    // Reads go straight to the store.
    expect((await writing.getOutboxMessage(event!.id))?.status).toBe('delivered');
  });

  it('withWebhookDelivery delivers the news of a rejected usage hour before it returns', async () => {
    const app = await receiver();
    const key = {
      cloud: 'aws' as const,
      entitlementId: `ent-refused-${randomUUID()}`,
      dimension: 'requests',
      hourStartEpochMs: Date.UTC(2026, 10, 22, 9),
    };
    await store.addUsage({
      ...key,
      records: [{ usageId: randomUUID(), quantity: 3 }],
      dedupeExpiresAtEpochSeconds: Math.floor(T0 / 1000) + 3_600,
      nowEpochMs: T0,
    });
    await store.sealUsageHour(key, T0);
    const news = usageNews({
      hour: { ...key, quantity: 3 },
      entitlement: null,
      type: VendorEventType.usageRejected,
      reason: 'CustomerNotSubscribed: the buyer is not subscribed for this hour',
      nowEpochMs: T0,
      eventTtlSeconds: 3_600,
    });
    const answer = { status: 'Rejected', meteringRecordId: null, reason: 'refused', atEpochMs: T0 };

    await withWebhookDelivery(depsFor([app])).markUsageHour(key, 'rejected', answer, news);

    expect(app.accepted()).toEqual([news.outbox[0]!.id]);
    expect(await stored(news.outbox[0]!)).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('withWebhookDelivery keeps the write when the delivery fails, for the scheduled run', async () => {
    const app = await receiver();
    app.answer({ status: 500 });
    const warnings: LogFields[] = [];
    const logger = {
      ...silent,
      warn: (_message: string, fields?: LogFields) => warnings.push(fields ?? {}),
    };
    const decision = aDecision({ outbox: [eventOf('ent-later')] });
    const [event] = decision.outbox;

    expect(await withWebhookDelivery(depsFor([app])).applyDecision(decision)).toBe('applied');
    expect(await stored(event!)).toMatchObject({ status: 'pending', attempts: 1 });

    // The store fails while claiming: the write still stands, the failure is logged.
    const broken = { ...store, claimOutbox: () => Promise.reject(new Error('store down')) };
    const second = aDecision({ outbox: [eventOf('ent-later-2')] });
    expect(
      await withWebhookDelivery(depsFor([app], { store: broken, logger })).applyDecision(second),
    ).toBe('applied');
    expect(warnings).toHaveLength(1);
    expect(await stored(second.outbox[0]!)).toMatchObject({ status: 'pending', attempts: 0 });
  });

  it('claims only the events it is given, and leaves the others alone', async () => {
    const app = await receiver();
    const [mine, other] = await write(eventOf('ent-mine'), eventOf('ent-other'));

    expect(await deliverWebhooks(depsFor([app]), { ids: [mine!.id] })).toEqual({
      claimed: 1,
      delivered: 1,
      retried: 0,
      failed: 0,
      deferred: 0,
    });
    expect(app.accepted()).toEqual([mine!.id]);
    expect(await stored(other!)).toMatchObject({ status: 'pending', attempts: 0 });
    expect(await deliverWebhooks(depsFor([app]), { ids: [] })).toMatchObject({ claimed: 0 });
  });

  it('leaves events in the outbox when no endpoint is configured', async () => {
    const [event] = await write(eventOf('ent-nowhere'));
    expect(await deliverWebhooks(depsFor([]))).toEqual({
      claimed: 0,
      delivered: 0,
      retried: 0,
      failed: 0,
      deferred: 0,
    });
    expect(await stored(event!)).toMatchObject({ status: 'pending', attempts: 0 });
    expect(withWebhookDelivery(depsFor([]))).toBe(store);
  });

  it('claims again after a batch that another run took part of, until nothing is due', async () => {
    const app = await receiver();
    await write(...Array.from({ length: 25 }, (_, index) => eventOf(`ent-race-${index}`, index)));
    now = T0 + 24;
    // Another run wins 7 of the first batch's 10 claims: that batch comes back with 3.
    let raced = false;
    const racing: Store = {
      ...store,
      claimOutbox: async (claim) => {
        const batch = await store.claimOutbox(claim);
        if (raced) return batch;
        raced = true;
        return batch.slice(0, 3);
      },
    };

    expect(await deliverWebhooks(depsFor([app], { store: racing }))).toMatchObject({
      claimed: 18,
      delivered: 18,
    });
    expect(app.accepted()).toHaveLength(18);
  });

  it('sends the events of different purchases side by side, within the run limit', async () => {
    const app = await receiver();
    const events = await write(
      ...Array.from({ length: 25 }, (_, index) => eventOf(`ent-many-${index % 5}`, index)),
    );
    now = T0 + 24;
    expect(await deliverWebhooks(depsFor([app]), { limit: 12 })).toMatchObject({
      claimed: 12,
      delivered: 12,
    });
    expect(await deliverWebhooks(depsFor([app]))).toMatchObject({ claimed: 13, delivered: 13 });
    expect(app.accepted().sort()).toEqual(events.map((e) => e.id).sort());
    // Each purchase's events arrived in the order they occurred.
    for (let key = 0; key < 5; key += 1) {
      const ofKey = events.filter((e) => e.entitlementId === `ent-many-${key}`).map((e) => e.id);
      expect(app.accepted().filter((id) => ofKey.includes(id))).toEqual(ofKey);
    }
  });
});

describe('the webhooks functions, as their schedules call them', () => {
  const receivers: WebhookReceiver[] = [];
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });
  const liveReceiver = async () => {
    const started = await startWebhookReceiver({ secrets: [SECRET], nowEpochMs: Date.now });
    receivers.push(started);
    return started;
  };
  const dueNow = (entitlementId: string) =>
    eventOf(entitlementId, 0, { occurredAtEpochMs: Date.now(), nextAttemptAtEpochMs: Date.now() });

  it('AWS: an EventBridge scheduled event delivers the due events from DynamoDB', async () => {
    const app = await liveReceiver();
    const table = await freshDynamoDbTable();
    try {
      const event = dueNow('ent-aws-scheduled');
      await table.store.applyDecision(aDecision({ outbox: [event] }));
      const handler = loadAwsScheduledHandler('functions/vendor/aws-webhooks', table.tableName, {
        WEBHOOK_URLS: app.url,
        WEBHOOK_SECRETS: SECRET,
        WEBHOOK_TIMEOUT_SECONDS: '5',
      });

      expect(await handler(scheduledEvent())).toEqual({
        claimed: 1,
        delivered: 1,
        retried: 0,
        failed: 0,
        deferred: 0,
      });
      expect(app.refused).toEqual([]);
      expect(app.accepted()).toEqual([event.id]);
      expect((await table.store.getOutboxMessage(event.id))?.status).toBe('delivered');
    } finally {
      await table.drop();
    }
  });

  it('Google: Cloud Scheduler with its OIDC token delivers from Firestore; others get 401', async () => {
    const app = await liveReceiver();
    const fn = await startGcpScheduledFunction('functions/vendor/gcp-webhooks', 'gcpWebhooks', {
      WEBHOOK_URLS: app.url,
      WEBHOOK_SECRETS: SECRET,
      WEBHOOK_TIMEOUT_SECONDS: '5',
    });
    try {
      const event = dueNow('ent-gcp-scheduled');
      await fn.store.applyDecision(aDecision({ outbox: [event] }));

      expect((await fn.call(null)).status).toBe(401);
      expect((await fn.call('other@x.iam.gserviceaccount.com')).status).toBe(401);
      expect(app.received).toEqual([]);

      const run = await fn.call(SCHEDULER_SERVICE_ACCOUNT);
      expect(run.status).toBe(200);
      expect(await run.json()).toEqual({
        claimed: 1,
        delivered: 1,
        retried: 0,
        failed: 0,
        deferred: 0,
      });
      expect(app.refused).toEqual([]);
      expect(app.accepted()).toEqual([event.id]);
      expect((await fn.store.getOutboxMessage(event.id))?.status).toBe('delivered');
    } finally {
      await fn.stop();
    }
  });
});
