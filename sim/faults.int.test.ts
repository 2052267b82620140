import { OAuth2Client } from 'google-auth-library';
import { cloudcommerceprocurement_v1 } from 'googleapis/build/src/apis/cloudcommerceprocurement';
import type { Simulator } from './server';
import { createSimulator } from './server';

const PROVIDER = 'DEMO-faults';

describe('fault injection', () => {
  let sim: Simulator;

  beforeAll(async () => {
    sim = await createSimulator({ seed: 'faults', gcp: { providerId: PROVIDER } });
  });
  afterAll(() => sim.stop());
  afterEach(() => sim.reset());

  const setFaults = async (body: unknown) =>
    fetch(`${sim.url}/_sim/faults`, { method: 'POST', body: JSON.stringify(body) });
  const listAccounts = async () => {
    const response = await fetch(`${sim.url}/v1/providers/${PROVIDER}/accounts`, {
      headers: { authorization: 'Bearer local' },
    });
    return { status: response.status, body: (await response.json()) as unknown };
  };

  it('throttles the Google APIs with 429 RESOURCE_EXHAUSTED over the rate', async () => {
    // One request every two seconds: the second and later requests here are all too soon.
    expect((await setFaults({ throttleRps: 0.5 })).status).toBe(200);
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await listAccounts()).status);
    expect(statuses).toEqual([200, 429, 429]);
    expect((await listAccounts()).body).toEqual({
      error: { code: 429, message: expect.any(String), status: 'RESOURCE_EXHAUSTED' },
    });
    // `/_sim/*` is never faulted.
    expect((await fetch(`${sim.url}/_sim/health`)).status).toBe(200);
  });

  it('fails a share of requests with 503 UNAVAILABLE, the same share under the same seed', async () => {
    const run = async () => {
      await setFaults({ errorRate: 0.5, seed: 42 });
      const statuses = [];
      for (let i = 0; i < 20; i += 1) statuses.push((await listAccounts()).status);
      return statuses;
    };
    const first = await run();
    expect(new Set(first)).toEqual(new Set([200, 503]));
    expect(await run()).toEqual(first);
    await setFaults({ errorRate: 1 });
    expect((await listAccounts()).body).toEqual({
      error: { code: 503, message: expect.any(String), status: 'UNAVAILABLE' },
    });
  });

  it('delays requests', async () => {
    await setFaults({ delayMs: 150 });
    const started = Date.now();
    await listAccounts();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('applies faults to the scope named, which must be a cloud the simulator has', async () => {
    expect((await setFaults({ errorRate: 1, scope: 'azure' })).status).toBe(400);
    await setFaults({ errorRate: 1, scope: 'gcp' });
    expect((await listAccounts()).status).toBe(503);
    await setFaults({ errorRate: 1, scope: 'all' });
    expect((await listAccounts()).status).toBe(503);
  });

  it('shows and resets the settings', async () => {
    await setFaults({ throttleRps: 5, errorRate: 0.1, delayMs: 0 });
    expect(await (await fetch(`${sim.url}/_sim/faults`)).json()).toEqual({
      throttleRps: 5,
      errorRate: 0.1,
      delayMs: 0,
    });
    const reset = await fetch(`${sim.url}/_sim/faults`, { method: 'DELETE' });
    expect(await reset.json()).toEqual({});
    expect((await listAccounts()).status).toBe(200);
  });

  it.each([
    { errorRate: 2 },
    { throttleRps: -1 },
    { colour: 'red' },
    { checkErrors: { x: 'NOPE' } },
  ])('refuses %j with 400', async (body) => {
    expect((await setFaults(body)).status).toBe(400);
  });

  it('is survived by the official client, whose retries absorb transient 503s on reads', async () => {
    const auth = new OAuth2Client({ transporterOptions: { fetchImplementation: fetch } });
    auth.setCredentials({ access_token: 'local' });
    const client = new cloudcommerceprocurement_v1.Cloudcommerceprocurement({
      rootUrl: `${sim.url}/`,
      auth,
      fetchImplementation: fetch,
    });
    sim.setFaults({ errorRate: 0.3, seed: 'client' });
    for (let i = 0; i < 5; i += 1) {
      const { status } = await client.providers.accounts.list({ parent: `providers/${PROVIDER}` });
      expect(status).toBe(200);
    }
  });
});
