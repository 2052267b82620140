/**
 * Clicks through the local stack the way a person would after `npm start`: buys on the demo
 * marketplace page, on Google Cloud and on AWS (both notification styles), posts the signup or
 * registration form to that cloud's signup function as the browser would, lands on the vendor's
 * onboarding page, and checks that what the functions stored is active and linked to the tenant
 * the onboarding page names, that the vendor's app got the signed `entitlement.activated`
 * webhook, and that the vendor API answers the same. Exits non-zero, saying where, when any
 * step fails.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const APP = `http://127.0.0.1:${process.env.LOCAL_APP_PORT ?? 4014}`;
const ACTIVE_WITHIN_MS = 15_000;
const VENDOR_API = `http://127.0.0.1:${process.env.LOCAL_VENDOR_API_PORT ?? 4019}`;
const AWS_VENDOR_API = `http://127.0.0.1:${process.env.LOCAL_AWS_VENDOR_API_PORT ?? 4020}`;
/** The key `npm start` made for this run. */
const API_KEY = readFileSync(join(process.cwd(), '.local', 'vendor-api-key'), 'utf8').trim();

const fail = (step: string, detail: string): never => {
  console.error(`smoke: ${step} failed: ${detail}`);
  process.exit(1);
};

const unescapeHtml = (text: string) =>
  text.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));

const attribute = (html: string, pattern: RegExp): string | undefined => {
  const found = pattern.exec(html)?.[1];
  return found === undefined ? undefined : unescapeHtml(found);
};

/** The handoff's claims, read without the secret: the page must name the tenant they carry. */
const handoffClaims = (location: string): { sub?: string; cloud?: string } => {
  const token = new URL(location).searchParams.get('handoff') ?? '';
  const payload = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8') || '{}') as {
    sub?: string;
    cloud?: string;
  };
};

interface Stored {
  readonly status: string;
  readonly tenantId: string | null;
}

/** Polls the demo app's view of the store until the purchase is active and has a tenant. */
const waitUntilActive = async (label: string, stateUrl: string): Promise<Stored> => {
  const deadline = Date.now() + ACTIVE_WITHIN_MS;
  let last = 'nothing stored';
  for (;;) {
    const answer = await fetch(stateUrl);
    if (answer.status === 200) {
      const stored = (await answer.json()) as Stored;
      if (stored.status === 'active' && stored.tenantId) return stored;
      last = `status ${stored.status}, tenant ${stored.tenantId ?? 'none'}`;
    } else {
      last = `HTTP ${answer.status}`;
    }
    if (Date.now() > deadline) return fail(`${label}: the stored purchase`, last);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
};

/** Polls the demo app's webhook receiver, which keeps only events whose signature checked out. */
const waitForWebhook = async (label: string, entitlementId: string, type: string) => {
  const deadline = Date.now() + ACTIVE_WITHIN_MS;
  for (;;) {
    const events = (await (await fetch(`${APP}/webhooks`)).json()) as Array<{
      type: string;
      entitlementId: string | null;
    }>;
    if (events.some((e) => e.type === type && e.entitlementId === entitlementId)) return;
    if (Date.now() > deadline) return fail(`${label}: the webhook`, `no signed ${type} received`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
};

const buyAndSignUp = async (
  label: string,
  buy: { path: string; fields: Record<string, string> },
  tokenField: string,
): Promise<string> => {
  const bought = await fetch(`${APP}${buy.path}`, {
    method: 'POST',
    body: new URLSearchParams(buy.fields),
  });
  const html = await bought.text();
  const action = attribute(html, /<form id="signup" method="post" action="([^"]+)"/);
  const token = attribute(html, new RegExp(`name="${tokenField}" value="([^"]+)"`));
  const state = attribute(html, /<a id="state" href="([^"]+)"/);
  if (!action || !token || !state) {
    return fail(`${label}: buying`, `HTTP ${bought.status}, no signup form`);
  }

  // What the page's script does: a urlencoded form POST to the signup function.
  const signup = await fetch(action, {
    method: 'POST',
    body: new URLSearchParams({ [tokenField]: token }),
    redirect: 'manual',
  });
  const location = signup.headers.get('location');
  if (signup.status !== 303 || !location) {
    return fail(`${label}: signing up`, `HTTP ${signup.status}`);
  }
  if (!location.startsWith(`${APP}/welcome?`)) {
    return fail(`${label}: signing up`, `redirected to ${location}, not the onboarding page`);
  }
  const claims = handoffClaims(location);

  const welcome = await fetch(location);
  const page = await welcome.text();
  if (welcome.status !== 200 || !page.includes('Welcome aboard')) {
    return fail(`${label}: the onboarding page`, `HTTP ${welcome.status}`);
  }
  const tenant = attribute(page, /tenant <code>([^<]+)<\/code>/);
  if (!tenant || tenant !== claims.sub) {
    return fail(`${label}: the onboarding page`, `names tenant ${tenant}, handoff ${claims.sub}`);
  }

  const stateUrl = new URL(state, APP);
  const stored = await waitUntilActive(label, stateUrl.toString());
  if (stored.tenantId !== tenant) {
    return fail(`${label}: the stored purchase`, `tenant ${stored.tenantId}, expected ${tenant}`);
  }
  const cloud = stateUrl.searchParams.get('cloud');
  const vendorId = `${cloud}:${stateUrl.searchParams.get('id')}`;
  await waitForWebhook(label, vendorId, 'entitlement.activated');
  const api = cloud === 'aws' ? AWS_VENDOR_API : VENDOR_API;
  const answer = await fetch(`${api}/v1/entitlements/${encodeURIComponent(vendorId)}`, {
    headers: { authorization: `Bearer ${API_KEY}` },
  });
  const fromApi = (await answer.json()) as { status?: string; tenantId?: string };
  if (answer.status !== 200 || fromApi.status !== 'active' || fromApi.tenantId !== tenant) {
    return fail(`${label}: the vendor API`, `HTTP ${answer.status}, ${JSON.stringify(fromApi)}`);
  }
  return `smoke: ${label}: bought, signed up, landed on the onboarding page (${claims.cloud} tenant ${tenant}), stored purchase active, signed webhook received, vendor API agrees`;
};

const main = async (): Promise<void> => {
  const home = await fetch(`${APP}/`);
  const homePage = await home.text();
  if (home.status !== 200) fail('the marketplace page', `HTTP ${home.status}`);
  if (!homePage.includes('Buy on AWS Marketplace')) {
    fail('the marketplace page', 'no "Buy on AWS Marketplace" action');
  }

  console.log(
    await buyAndSignUp(
      'Google Cloud',
      { path: '/buy', fields: { plan: 'pro' } },
      'x-gcp-marketplace-token',
    ),
  );
  console.log(
    await buyAndSignUp(
      'AWS (EventBridge)',
      { path: '/buy/aws', fields: { style: 'eventbridge' } },
      'x-amzn-marketplace-token',
    ),
  );
  console.log(
    await buyAndSignUp(
      'AWS (legacy listing, SNS)',
      { path: '/buy/aws', fields: { style: 'sns' } },
      'x-amzn-marketplace-token',
    ),
  );
};

main().catch((error: unknown) =>
  fail('the smoke run', error instanceof Error ? error.message : String(error)),
);
