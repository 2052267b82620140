import {
  ExpiredTokenException,
  InvalidTokenException,
  MarketplaceMeteringServiceException,
  ResolveCustomerCommand,
} from '@aws-sdk/client-marketplace-metering';
import type { Simulator } from '../server';
import { createSimulator } from '../server';
import { meteringClient } from './testing/sdk-clients';

const HOUR_MS = 3_600_000;

describe('AWSMPMeteringService.ResolveCustomer through the official SDK', () => {
  let sim: Simulator;
  let nowMs = Date.UTC(2026, 4, 15, 12, 0);
  const client = () => meteringClient(sim.url, { maxAttempts: 1 });
  const resolve = (token: string) =>
    client().send(new ResolveCustomerCommand({ RegistrationToken: token }));

  beforeAll(async () => {
    sim = await createSimulator({ seed: 'resolve', now: () => nowMs });
  });
  afterAll(() => sim.stop());
  beforeEach(() => {
    sim.reset();
    nowMs = Date.UTC(2026, 4, 15, 12, 0);
  });

  it('names a new product’s buyer by account and LicenseArn, without CustomerIdentifier', async () => {
    const bought = await sim.aws.subscribe();
    const answer = await resolve(bought.registrationToken);
    expect(answer).toMatchObject({
      CustomerAWSAccountId: bought.customerAWSAccountId,
      LicenseArn: bought.licenseArn,
      ProductCode: bought.productCode,
    });
    expect(answer.CustomerIdentifier).toBeUndefined();
    expect(bought.licenseArn).toMatch(/^arn:aws:license-manager::\d{12}:license:l-[0-9a-f]{32}$/);
    expect(bought.customerAWSAccountId).toMatch(/^\d{12}$/);
  });

  it('names a legacy product’s buyer by CustomerIdentifier and account, without LicenseArn', async () => {
    const bought = await sim.aws.subscribe({ legacy: true });
    const answer = await resolve(bought.registrationToken);
    expect(answer).toMatchObject({
      CustomerIdentifier: bought.customerIdentifier,
      CustomerAWSAccountId: bought.customerAWSAccountId,
      ProductCode: bought.productCode,
    });
    expect(answer.LicenseArn).toBeUndefined();
    expect(bought.customerIdentifier).toMatch(/^[A-Za-z0-9]{11}$/);
  });

  it('keeps answering the same values for the same token until it expires after 4 hours', async () => {
    const bought = await sim.aws.subscribe();
    const first = await resolve(bought.registrationToken);
    nowMs += 4 * HOUR_MS - 1;
    const again = await resolve(bought.registrationToken);
    expect({ ...again, $metadata: undefined }).toEqual({ ...first, $metadata: undefined });

    nowMs += 1;
    const expired = resolve(bought.registrationToken);
    await expect(expired).rejects.toBeInstanceOf(ExpiredTokenException);
    await expect(expired).rejects.toMatchObject({
      name: 'ExpiredTokenException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('resolves a token minted again for the license ("Set up your account" again)', async () => {
    const bought = await sim.aws.subscribe();
    const fresh = sim.aws.registrationToken(bought.licenseArn);
    expect(fresh).not.toBe(bought.registrationToken);
    expect(await resolve(fresh)).toMatchObject({ LicenseArn: bought.licenseArn });
    const dead = sim.aws.registrationToken(bought.licenseArn, { ttlMs: 0 });
    await expect(resolve(dead)).rejects.toBeInstanceOf(ExpiredTokenException);
  });

  it('refuses an unknown token with InvalidTokenException "Registration token is invalid"', async () => {
    const refused = resolve('bm90LWEtdG9rZW4=');
    await expect(refused).rejects.toBeInstanceOf(InvalidTokenException);
    await expect(refused).rejects.toMatchObject({
      message: 'Registration token is invalid',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('hands out tokens with the characters a form body mangles, and refuses a mangled one', async () => {
    const bought = await sim.aws.subscribe();
    expect(bought.registrationToken).toMatch(/\+/);
    expect(bought.registrationToken).toMatch(/\//);
    // What `+` becomes when a urlencoded form body is read without decoding it.
    const mangled = bought.registrationToken.replace(/\+/g, ' ');
    await expect(resolve(mangled)).rejects.toBeInstanceOf(InvalidTokenException);
  });

  it('answers in the AWS JSON 1.1 error format', async () => {
    const response = await fetch(sim.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AWSMPMeteringService.ResolveCustomer',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKID/20260515/us-east-1/aws-marketplace/aws4_request, SignedHeaders=host;x-amz-date, Signature=' +
          '0'.repeat(64),
      },
      body: JSON.stringify({ RegistrationToken: 'nope' }),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('InvalidTokenException');
    expect(response.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(response.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await response.json()).toEqual({
      __type: 'InvalidTokenException',
      message: 'Registration token is invalid',
    });
  });

  it('wants a SigV4 signature for aws-marketplace in us-east-1, any credentials', async () => {
    const unsigned = await fetch(sim.url, {
      method: 'POST',
      headers: { 'x-amz-target': 'AWSMPMeteringService.ResolveCustomer' },
      body: '{}',
    });
    expect(unsigned.status).toBe(400);
    expect(await unsigned.json()).toMatchObject({ __type: 'MissingAuthenticationTokenException' });

    const elsewhere = meteringClient(sim.url, { maxAttempts: 1, region: 'eu-west-1' }).send(
      new ResolveCustomerCommand({ RegistrationToken: 'x' }),
    );
    await expect(elsewhere).rejects.toBeInstanceOf(MarketplaceMeteringServiceException);
    await expect(elsewhere).rejects.toMatchObject({
      name: 'InvalidSignatureException',
      message: expect.stringContaining("not 'eu-west-1'"),
    });
  });

  it('refuses an unknown operation', async () => {
    const response = await fetch(sim.url, {
      method: 'POST',
      headers: {
        'x-amz-target': 'AWSMPMeteringService.RegisterUsage',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKID/20260515/us-east-1/aws-marketplace/aws4_request, SignedHeaders=host, Signature=' +
          'a'.repeat(64),
      },
      body: '{}',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ __type: 'UnknownOperationException' });
  });
});
