import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbDocumentClient } from '../shared/adapters/dynamodb';
import { verifyHandoffToken } from '../shared/adapters/handoff/handoff-token';
import type { Handoff } from '../shared/adapters/handoff/handoff-token';
import type { EventRecord } from '../shared/domain/model';
import { loadFixture } from '../shared/test/fixtures';
import type { SubscribeAnswer } from '../sim/aws/aws-simulator';
import type { NotificationStyle } from '../sim/aws/model';
import { dynamoDbEndpoint } from './engines/engines';
import {
  HANDOFF_SECRET,
  ONBOARDING_URL,
  PRODUCT_CODE,
  postRegistration,
  startAwsStack,
} from './support/aws-stack';
import {
  OTHER_PRODUCT,
  WITH_OTHER_PRODUCT,
  accountIdOf,
  entitlementIdOf,
} from './support/aws-messages';
import type { AwsStack } from './support/aws-stack';

/**
 * The registration POST AWS Marketplace makes the buyer's browser send to the fulfillment URL,
 * through the local HTTP API (which base64-encodes form bodies, as API Gateway does) to the
 * signup function, against the simulator's ResolveCustomer and DynamoDB Local.
 */

const TOKEN_FIELD = 'x-amzn-marketplace-token';
const AGAIN = 'Set up your account';

/** Every item of the table, as DynamoDB holds it. */
const scanTable = async (client: DynamoDBDocumentClient, tableName: string) => {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey, ConsistentRead: true }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
};

/** The spellings a token can take on the way: as is, url-encoded, form-encoded. */
const spellingsOf = (token: string): string[] => [
  token,
  encodeURIComponent(token),
  new URLSearchParams({ t: token }).toString().slice(2),
];

describe('AWS signup: the registration POST over the local HTTP API', () => {
  let stack: AwsStack;
  let dynamo: DynamoDBDocumentClient;
  beforeAll(async () => {
    stack = await startAwsStack({
      aws: {
        products: WITH_OTHER_PRODUCT,
        unsubscribeCompleteAfterMs: null,
      },
    });
    dynamo = createDynamoDbDocumentClient({ endpoint: dynamoDbEndpoint(), region: 'us-east-1' });
  });
  afterAll(async () => {
    dynamo?.destroy();
    await stack?.stop();
  });

  const entitlement = (id: string) => stack.store.getEntitlement({ cloud: 'aws', id });
  const account = (id: string) => stack.store.getAccount({ cloud: 'aws', id });
  const items = () => scanTable(dynamo, stack.tableName);
  /** The signups in the event log, found by a scan, read through the store. */
  const signupEvents = async (): Promise<EventRecord[]> => {
    const prefix = 'EVT#aws#';
    const ids = (await items())
      .map((item) => String(item.pk))
      .filter((pk) => pk.startsWith(`${prefix}signup:`))
      .map((pk) => pk.slice(prefix.length));
    const events = await Promise.all(ids.map((id) => stack.store.getEvent('aws', id)));
    return events.filter((event): event is EventRecord => event !== null);
  };

  /** The 303 to the onboarding page, its handoff verified as the vendor's app would. */
  const handoffOf = async (response: Response): Promise<Handoff> => {
    expect(response.status).toBe(303);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const location = new URL(response.headers.get('location')!);
    const onboarding = new URL(ONBOARDING_URL);
    expect(`${location.origin}${location.pathname}`).toBe(
      `${onboarding.origin}${onboarding.pathname}`,
    );
    // The vendor's own query stays.
    expect(location.searchParams.get('from')).toBe('aws');
    return verifyHandoffToken(location.searchParams.get('handoff')!, {
      secret: HANDOFF_SECRET,
      nowEpochMs: Date.now(),
    });
  };

  /** A refusal page: HTML, no cache, saying what to do, nothing internal. */
  const expectRefusalPage = async (response: Response, status: number) => {
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('location')).toBeNull();
    const page = await response.text();
    expect(page).toContain(AGAIN);
    expect(page).not.toMatch(/Exception|stack|at \w+ \(|Error:/);
    return page;
  };

  /** Nothing of this purchase reached the table: no account, no entitlement, no record. */
  const expectNothingStored = async (bought: SubscribeAnswer, style: NotificationStyle) => {
    expect(await account(accountIdOf(bought, style))).toBeNull();
    expect(await entitlement(entitlementIdOf(bought, style))).toBeNull();
    const mentions = (await items()).filter((item) => {
      const text = JSON.stringify(item);
      return (
        text.includes(bought.licenseArn) ||
        text.includes(bought.customerAWSAccountId) ||
        (bought.customerIdentifier !== null && text.includes(bought.customerIdentifier))
      );
    });
    expect(mentions).toEqual([]);
  };

  const expectTokenNowhere = async (token: string, response: Response) => {
    const stored = JSON.stringify(await items());
    for (const spelling of spellingsOf(token)) {
      expect(stored).not.toContain(spelling);
      expect(response.headers.get('location') ?? '').not.toContain(spelling);
    }
  };

  /** Every message of these purchases was handled at its first delivery, none retried. */
  const expectDeliveredOnce = async (purchases: readonly SubscribeAnswer[]) => {
    await stack.sim.idle(10_000);
    for (const bought of purchases) {
      const messages = stack.sim.aws
        .messages()
        .filter((message) =>
          JSON.stringify(message.payload).includes(
            bought.customerIdentifier ?? bought.customerAWSAccountId,
          ),
        );
      expect(messages.length).toBeGreaterThan(0);
      for (const message of messages) {
        expect(message.state).toBe('delivered');
        expect(message.attempts).toHaveLength(1);
      }
    }
  };

  describe.each(['eventbridge', 'sns'] as const)('%s listing', (style) => {
    it.each([
      ['url-encoded', false],
      ['multipart', true],
    ] as const)(
      'registers a %s form (base64-encoded by the HTTP API) before the confirmation',
      async (_, multipart) => {
        const bought = await stack.sim.aws.subscribe({ style, pending: true });
        const response = await postRegistration(stack, bought.registrationToken, { multipart });
        const handoff = await handoffOf(response);
        expect(handoff).toEqual({
          tenantId: expect.any(String),
          cloud: 'aws',
          accountId: accountIdOf(bought, style),
          firstSignup: true,
        });
        expect(await account(accountIdOf(bought, style))).toMatchObject({
          status: 'active',
          tenant: { tenantId: handoff.tenantId },
          signedUpAtEpochMs: expect.any(Number),
        });
        const id = entitlementIdOf(bought, style);
        expect(await entitlement(id)).toMatchObject({
          status: 'pending_approval',
          tenantId: handoff.tenantId,
          productId: PRODUCT_CODE,
          accountId: accountIdOf(bought, style),
          freeTrial: false,
        });
        const [signup] = (await signupEvents()).filter((event) => event.entitlementId === id);
        expect(signup).toMatchObject({ type: 'SIGNUP', outcome: 'applied' });
        for (const [index, type] of [
          'account.signed_up',
          'entitlement.pending_approval',
        ].entries()) {
          expect(
            await stack.store.getOutboxMessage(`aws:${signup!.eventId}:${index}`),
          ).toMatchObject({
            type,
            tenantId: handoff.tenantId,
            accountId: accountIdOf(bought, style),
          });
        }
        await expectTokenNowhere(bought.registrationToken, response);

        await stack.sim.aws.act(bought.licenseArn, 'confirm');
        expect(await entitlement(id)).toMatchObject({
          status: 'active',
          tenantId: handoff.tenantId,
        });
      },
    );

    it('stores the free-trial offer type the form carries', async () => {
      const bought = await stack.sim.aws.subscribe({ style, pending: true });
      const response = await postRegistration(stack, bought.registrationToken, {
        freeTrial: true,
      });
      await handoffOf(response);
      const id = entitlementIdOf(bought, style);
      expect(await entitlement(id)).toMatchObject({ freeTrial: true });
      const [signup] = (await signupEvents()).filter((event) => event.entitlementId === id);
      expect(signup!.payload).toMatchObject({ freeTrial: true, productCode: PRODUCT_CODE });
      await expectTokenNowhere(bought.registrationToken, response);
    });

    it.each([
      ['an expired token', 'expired'],
      ['an invalid token', 'invalid'],
    ] as const)(
      'refuses %s with a page telling the buyer to start again, and stores nothing',
      async (_, kind) => {
        const bought = await stack.sim.aws.subscribe({ style, pending: true });
        const token =
          kind === 'expired'
            ? stack.sim.aws.registrationToken(bought.licenseArn, { ttlMs: 0 })
            : `${bought.registrationToken.slice(0, -8)}AAAAAAA=`;
        const response = await postRegistration(stack, token);
        const page = await expectRefusalPage(response, 401);
        for (const spelling of spellingsOf(token)) expect(page).not.toContain(spelling);
        await expectNothingStored(bought, style);
        await expectTokenNowhere(token, response);
      },
    );
  });

  it('refuses the token of another product of the seller', async () => {
    const bought = await stack.sim.aws.subscribe({
      productCode: OTHER_PRODUCT,
      style: 'eventbridge',
      pending: true,
    });
    const response = await postRegistration(stack, bought.registrationToken);
    await expectRefusalPage(response, 401);
    await expectNothingStored(bought, 'eventbridge');
  });

  it.each(['GET', 'PUT', 'DELETE'])('answers %s with 405 and a page', async (method) => {
    const response = await fetch(stack.urls.signup, { method, redirect: 'manual' });
    await expectRefusalPage(response, 405);
  });

  it.each([
    ['an empty body', 'application/x-www-form-urlencoded', ''],
    [
      'a body over 64 KB',
      'application/x-www-form-urlencoded',
      `${TOKEN_FIELD}=${'A'.repeat(70_000)}`,
    ],
    [
      'a form without the token',
      'application/x-www-form-urlencoded',
      'x-amzn-marketplace-offer-type=free-trial',
    ],
    [
      'a token sent twice',
      'application/x-www-form-urlencoded',
      `${TOKEN_FIELD}=a&${TOKEN_FIELD}=b`,
    ],
    [
      'a token over 4 KB',
      'application/x-www-form-urlencoded',
      `${TOKEN_FIELD}=${'A'.repeat(5_000)}`,
    ],
    ['JSON instead of a form', 'application/json', JSON.stringify({ [TOKEN_FIELD]: 'abc' })],
    ['a multipart body without a boundary', 'multipart/form-data', `${TOKEN_FIELD}=abc`],
  ])('answers %s with 400, calling nothing', async (_, contentType, body) => {
    const before = stack.sim.aws.calls().ResolveCustomer ?? 0;
    const signupsBefore = (await signupEvents()).length;
    const response = await fetch(stack.urls.signup, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
      redirect: 'manual',
    });
    await expectRefusalPage(response, 400);
    expect(stack.sim.aws.calls().ResolveCustomer ?? 0).toBe(before);
    expect((await signupEvents()).length).toBe(signupsBefore);
  });

  it('answers a replayed token with the same tenant and a 303 again', async () => {
    const bought = await stack.sim.aws.subscribe({ style: 'eventbridge' });
    const first = await handoffOf(await postRegistration(stack, bought.registrationToken));
    const again = await handoffOf(
      await postRegistration(stack, bought.registrationToken, { multipart: true }),
    );
    expect(first.firstSignup).toBe(true);
    expect(again).toEqual({ ...first, firstSignup: false });
    expect(await entitlement(bought.licenseArn)).toMatchObject({
      status: 'active',
      tenantId: first.tenantId,
    });
    expect(await account(bought.customerAWSAccountId)).toMatchObject({
      tenant: { tenantId: first.tenantId },
    });
  });

  it('hands off a token only the vendor’s secret verifies, and that expires', async () => {
    const bought = await stack.sim.aws.subscribe({ style: 'eventbridge' });
    const response = await postRegistration(stack, bought.registrationToken);
    const handoff = await handoffOf(response);
    const token = new URL(response.headers.get('location')!).searchParams.get('handoff')!;
    await expect(verifyHandoffToken(token, { secret: `${HANDOFF_SECRET}-not` })).rejects.toThrow(
      'handoff token rejected',
    );
    // HANDOFF_TTL_SECONDS is 300; verifiers allow 30 s of clock skew.
    await expect(
      verifyHandoffToken(token, { secret: HANDOFF_SECRET, nowEpochMs: Date.now() + 400_000 }),
    ).rejects.toThrow('handoff token rejected');
    expect(handoff.tenantId).toBe((await entitlement(bought.licenseArn))!.tenantId);
  });

  describe('the Lambda event as API Gateway builds it', () => {
    const invoke = async (variant: string, body: string, isBase64Encoded: boolean) => {
      const event = loadFixture<APIGatewayProxyEventV2>('aws', variant);
      return (await stack.signup({
        ...event,
        headers: { ...event.headers, 'content-length': String(body.length) },
        body,
        isBase64Encoded,
      })) as APIGatewayProxyStructuredResultV2;
    };

    it('registers a url-encoded body API Gateway passed as text', async () => {
      const bought = await stack.sim.aws.subscribe({ style: 'eventbridge', pending: true });
      const body = new URLSearchParams({ [TOKEN_FIELD]: bought.registrationToken }).toString();
      const result = await invoke('http-api-v2-post-registration-urlencoded', body, false);
      expect(result.statusCode).toBe(303);
      const handoff = await verifyHandoffToken(
        new URL(String(result.headers!.location)).searchParams.get('handoff')!,
        { secret: HANDOFF_SECRET },
      );
      expect(await entitlement(bought.licenseArn)).toMatchObject({
        status: 'pending_approval',
        tenantId: handoff.tenantId,
        freeTrial: false,
      });
    });

    it('registers a base64-encoded free-trial form', async () => {
      const bought = await stack.sim.aws.subscribe({
        style: 'eventbridge',
        pending: true,
        freeTrial: true,
      });
      const form = new URLSearchParams({
        [TOKEN_FIELD]: bought.registrationToken,
        'x-amzn-marketplace-offer-type': 'free-trial',
      }).toString();
      const result = await invoke(
        'http-api-v2-post-registration-free-trial-base64',
        Buffer.from(form).toString('base64'),
        true,
      );
      expect(result.statusCode).toBe(303);
      expect(await entitlement(bought.licenseArn)).toMatchObject({ freeTrial: true });
    });

    it('refuses a body marked base64 that is not', async () => {
      const result = await invoke('http-api-v2-post-registration-urlencoded', 'not base64!', true);
      expect(result.statusCode).toBe(400);
      expect(String(result.body)).toContain(AGAIN);
    });
  });

  it('signs up every buyer while AWS confirms at the same moment (10 licenses, 6 accounts)', async () => {
    // Two concurrent agreements on each of three accounts, and four legacy buyers.
    const purchases: Array<{ bought: SubscribeAnswer; style: NotificationStyle }> = [];
    for (let i = 0; i < 3; i += 1) {
      const first = await stack.sim.aws.subscribe({ style: 'eventbridge', pending: true });
      const second = await stack.sim.aws.subscribe({
        style: 'eventbridge',
        pending: true,
        customerAWSAccountId: first.customerAWSAccountId,
      });
      purchases.push(
        { bought: first, style: 'eventbridge' },
        { bought: second, style: 'eventbridge' },
      );
    }
    for (let i = 0; i < 4; i += 1) {
      purchases.push({
        bought: await stack.sim.aws.subscribe({ style: 'sns', pending: true }),
        style: 'sns',
      });
    }

    const outcomes = await Promise.all(
      purchases.map(async ({ bought }) => {
        const [response] = await Promise.all([
          postRegistration(stack, bought.registrationToken),
          stack.sim.aws.act(bought.licenseArn, 'confirm'),
        ]);
        return handoffOf(response);
      }),
    );
    await stack.sim.idle(10_000);

    for (const [index, { bought, style }] of purchases.entries()) {
      const accountId = accountIdOf(bought, style);
      const stored = await account(accountId);
      expect(stored).toMatchObject({ status: 'active', tenant: { tenantId: expect.any(String) } });
      const tenantId = stored!.tenant!.tenantId;
      expect(outcomes[index]!.tenantId).toBe(tenantId);
      expect(await entitlement(entitlementIdOf(bought, style))).toMatchObject({
        status: 'active',
        tenantId,
      });
    }
    // Every confirmation was handled once, none retried.
    await expectDeliveredOnce(purchases.map(({ bought }) => bought));
  });

  it('links a concurrent agreement confirmed while the account signs up with its first one', async () => {
    // The second license's confirmation reads the account before the signup writes it and
    // writes the purchase after the signup listed the account's purchases: it must still end
    // up with the tenant. Twenty accounts race at once, so the window is hit.
    const pairs = await Promise.all(
      Array.from({ length: 20 }, async (): Promise<[SubscribeAnswer, SubscribeAnswer]> => {
        const first = await stack.sim.aws.subscribe({ style: 'eventbridge' });
        const second = await stack.sim.aws.subscribe({
          style: 'eventbridge',
          pending: true,
          customerAWSAccountId: first.customerAWSAccountId,
        });
        return [first, second];
      }),
    );
    const handoffs = await Promise.all(
      pairs.map(async ([first, second]) => {
        const [response] = await Promise.all([
          postRegistration(stack, first.registrationToken),
          stack.sim.aws.act(second.licenseArn, 'confirm'),
        ]);
        return handoffOf(response);
      }),
    );
    for (const [index, [first, second]] of pairs.entries()) {
      const tenantId = handoffs[index]!.tenantId;
      expect(await account(first.customerAWSAccountId)).toMatchObject({
        status: 'active',
        tenant: { tenantId },
      });
      for (const bought of [first, second]) {
        expect(await entitlement(bought.licenseArn)).toMatchObject({ status: 'active', tenantId });
      }
    }
    await expectDeliveredOnce(pairs.flat());
  });
});
