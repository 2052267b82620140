import type {
  Entitlement,
  GetEntitlementsCommandInput,
} from '@aws-sdk/client-marketplace-entitlement-service';
import {
  GetEntitlementsCommand,
  InvalidParameterException,
  paginateGetEntitlements,
} from '@aws-sdk/client-marketplace-entitlement-service';
import type { Simulator } from '../server';
import { createSimulator } from '../server';
import { entitlementClient } from './testing/sdk-clients';

const PRODUCT = 'contractproduct0000000001';
const EMPTY = 'emptyproduct0000000000001';

describe('AWSMPEntitlementService.GetEntitlements through the official SDK', () => {
  let sim: Simulator;
  const client = () => entitlementClient(sim.url, { maxAttempts: 1 });
  const get = (input: Partial<GetEntitlementsCommandInput> = {}) =>
    client().send(new GetEntitlementsCommand({ ProductCode: PRODUCT, ...input }));

  /** Every page of a query, following NextToken through empty pages. */
  const pages = async (input: Partial<GetEntitlementsCommandInput> = {}) => {
    const found: Entitlement[][] = [];
    for await (const page of paginateGetEntitlements(
      { client: client() },
      { ProductCode: PRODUCT, ...input },
    )) {
      found.push(page.Entitlements ?? []);
    }
    return found;
  };
  const all = async (input: Partial<GetEntitlementsCommandInput> = {}) =>
    (await pages(input)).flat();

  beforeAll(async () => {
    sim = await createSimulator({
      seed: 'entitlements',
      aws: {
        products: [{ code: PRODUCT }, { code: EMPTY }],
        requestsPerSecond: 0,
        unsubscribeCompleteAfterMs: null,
      },
    });
  });
  afterAll(() => sim.stop());
  beforeEach(() => {
    sim.reset();
    sim.aws.configure({ emptyPages: 'leading' });
  });

  it('answers a contract’s dimensions with typed values, behind an empty first page', async () => {
    const expiresAt = '2027-03-01T00:00:00Z';
    const bought = await sim.aws.subscribe({
      productCode: PRODUCT,
      contract: { seats: 10, ratio: 2.5, premium: true, tier: 'gold' },
      expiresAt,
    });
    const first = await get();
    expect(first.Entitlements).toEqual([]);
    expect(first.NextToken).toEqual(expect.any(String));
    const second = await get({ NextToken: first.NextToken });
    expect(second.NextToken).toBeUndefined();
    const common = {
      ProductCode: PRODUCT,
      CustomerAWSAccountId: bought.customerAWSAccountId,
      LicenseArn: bought.licenseArn,
      ExpirationDate: new Date(expiresAt),
    };
    expect(second.Entitlements).toEqual([
      { ...common, Dimension: 'premium', Value: { BooleanValue: true } },
      { ...common, Dimension: 'ratio', Value: { DoubleValue: 2.5 } },
      { ...common, Dimension: 'seats', Value: { IntegerValue: 10 } },
      { ...common, Dimension: 'tier', Value: { StringValue: 'gold' } },
    ]);
    // A client that stops at the first empty page would have seen nothing.
    expect((await pages()).map((page) => page.length)).toEqual([0, 4]);
  });

  it('names a legacy buyer by CustomerIdentifier, without LicenseArn', async () => {
    const legacy = await sim.aws.subscribe({
      productCode: PRODUCT,
      legacy: true,
      contract: { seats: 3 },
    });
    expect(await all()).toEqual([
      {
        ProductCode: PRODUCT,
        Dimension: 'seats',
        CustomerIdentifier: legacy.customerIdentifier,
        CustomerAWSAccountId: legacy.customerAWSAccountId,
        Value: { IntegerValue: 3 },
        ExpirationDate: expect.any(Date),
      },
    ]);
  });

  it('has nothing for a subscription without a contract, nor once a subscription ended', async () => {
    await sim.aws.subscribe({ productCode: PRODUCT });
    expect(await get()).toMatchObject({ Entitlements: [] });
    expect((await get()).NextToken).toBeUndefined();

    const bought = await sim.aws.subscribe({ productCode: PRODUCT, contract: { seats: 1 } });
    await sim.aws.act(bought.licenseArn, 'unsubscribe');
    expect(await all()).toHaveLength(1);
    await sim.aws.act(bought.licenseArn, 'unsubscribe-complete');
    expect(await all()).toEqual([]);
  });

  it('follows a contract change', async () => {
    const bought = await sim.aws.subscribe({
      productCode: PRODUCT,
      contract: { seats: 5, tier: 'silver' },
    });
    await sim.aws.act(bought.licenseArn, 'update-contract', {
      contract: { seats: 50, tier: null },
      expiresAt: '2028-01-01T00:00:00Z',
    });
    expect(await all()).toEqual([
      expect.objectContaining({
        Dimension: 'seats',
        Value: { IntegerValue: 50 },
        ExpirationDate: new Date('2028-01-01T00:00:00Z'),
      }),
    ]);
  });

  describe('paging', () => {
    const buyMany = async (count: number) => {
      const bought = [];
      for (let i = 0; i < count; i += 1) {
        bought.push(await sim.aws.subscribe({ productCode: PRODUCT, contract: { seats: i + 1 } }));
      }
      return bought;
    };

    it('pages by MaxResults, 25 by default, each entitlement once', async () => {
      await buyMany(30);
      const byDefault = await pages();
      expect(byDefault.map((page) => page.length)).toEqual([0, 25, 5]);
      const small = await pages({ MaxResults: 7 });
      expect(small.map((page) => page.length)).toEqual([0, 7, 7, 7, 7, 2]);
      const values = small.flat().map((e) => e.Value?.IntegerValue);
      expect(new Set(values).size).toBe(30);
    });

    it('puts an empty page before every page when interleaved, none when told so', async () => {
      await buyMany(5);
      sim.aws.configure({ emptyPages: 'interleaved' });
      expect((await pages({ MaxResults: 2 })).map((page) => page.length)).toEqual([
        0, 2, 0, 2, 0, 1,
      ]);
      sim.aws.configure({ emptyPages: 'none' });
      expect((await pages({ MaxResults: 2 })).map((page) => page.length)).toEqual([2, 2, 1]);
    });

    it('refuses a NextToken of another query or a made-up one', async () => {
      await buyMany(2);
      const first = await get();
      await expect(
        get({ NextToken: first.NextToken, Filter: { DIMENSION: ['seats'] } }),
      ).rejects.toBeInstanceOf(InvalidParameterException);
      await expect(get({ NextToken: 'not-a-token' })).rejects.toBeInstanceOf(
        InvalidParameterException,
      );
    });
  });

  describe('filters', () => {
    it('ORs values within a key and ANDs keys', async () => {
      const a = await sim.aws.subscribe({
        productCode: PRODUCT,
        contract: { seats: 1, tier: 'a' },
      });
      const b = await sim.aws.subscribe({
        productCode: PRODUCT,
        contract: { seats: 2, tier: 'b' },
      });
      await sim.aws.subscribe({ productCode: PRODUCT, contract: { seats: 3 } });
      const accounts = {
        CUSTOMER_AWS_ACCOUNT_ID: [a.customerAWSAccountId, b.customerAWSAccountId],
      };
      expect(await all({ Filter: accounts })).toHaveLength(4);
      const seats = await all({ Filter: { ...accounts, DIMENSION: ['seats'] } });
      expect(seats.map((e) => e.Value?.IntegerValue)).toEqual([1, 2]);
      expect(await all({ Filter: { LICENSE_ARN: [b.licenseArn], DIMENSION: ['tier'] } })).toEqual([
        expect.objectContaining({ LicenseArn: b.licenseArn, Value: { StringValue: 'b' } }),
      ]);
      expect(await all({ Filter: { LICENSE_ARN: [b.licenseArn.replace(/^arn:/, '')] } })).toEqual(
        [],
      );
    });

    it('keeps concurrent agreements of one account apart by LicenseArn', async () => {
      const first = await sim.aws.subscribe({ productCode: PRODUCT, contract: { seats: 1 } });
      const second = await sim.aws.subscribe({
        productCode: PRODUCT,
        customerAWSAccountId: first.customerAWSAccountId,
        contract: { seats: 2 },
      });
      const both = await all({ Filter: { CUSTOMER_AWS_ACCOUNT_ID: [first.customerAWSAccountId] } });
      expect(both.map((e) => e.LicenseArn)).toEqual([first.licenseArn, second.licenseArn]);
    });

    it('filters a legacy buyer by CUSTOMER_IDENTIFIER', async () => {
      const legacy = await sim.aws.subscribe({
        productCode: PRODUCT,
        legacy: true,
        contract: { seats: 4 },
      });
      await sim.aws.subscribe({ productCode: PRODUCT, legacy: true, contract: { seats: 5 } });
      const found = await all({ Filter: { CUSTOMER_IDENTIFIER: [legacy.customerIdentifier!] } });
      expect(found.map((e) => e.Value?.IntegerValue)).toEqual([4]);
    });

    it.each([
      [
        'CUSTOMER_IDENTIFIER with CUSTOMER_AWS_ACCOUNT_ID',
        {
          Filter: {
            CUSTOMER_IDENTIFIER: ['X01EXAMPLEX'],
            CUSTOMER_AWS_ACCOUNT_ID: ['123456789012'],
          },
        },
      ],
      ['an empty value list', { Filter: { DIMENSION: [] } }],
      ['MaxResults 26', { MaxResults: 26 }],
      ['MaxResults 0', { MaxResults: 0 }],
      ['another product', { ProductCode: 'nosuchproduct' }],
    ])('refuses %s with InvalidParameterException', async (_, input) => {
      const call = get(input as Partial<GetEntitlementsCommandInput>);
      await expect(call).rejects.toBeInstanceOf(InvalidParameterException);
      await expect(call).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 } });
    });

    it('answers an empty list for a product nobody bought', async () => {
      expect(await get({ ProductCode: EMPTY })).toMatchObject({ Entitlements: [] });
    });
  });
});
