import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { verifyHandoffToken } from '../../shared/adapters/handoff/handoff-token';
import { SIGNATURE_HEADER, verifyWebhookSignature } from '../../shared/adapters/webhooks';
import { awsEntitlementId } from '../../shared/domain/aws-keys';
import type { Cloud, Entitlement } from '../../shared/domain/model';
import type { Store } from '../../shared/ports/store';
import type { Simulator } from '../../sim/server';

const page = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
button{font-size:1rem;padding:.5rem 1rem}code{background:#eee;padding:0 .2rem}</style></head>
<body>${body}</body></html>`;

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const CLOUD_NAMES: Record<Cloud, string> = { gcp: 'Google Cloud', aws: 'AWS' };

/** Where the page shows what the functions stored for a purchase (`GET /state`, JSON). */
const stateLink = (cloud: Cloud, id: string) =>
  `<a id="state" href="/state?${escapeHtml(new URLSearchParams({ cloud, id }).toString())}">what the functions stored</a>`;

const summary = (entitlement: Entitlement) => ({
  cloud: entitlement.cloud,
  id: entitlement.id,
  accountId: entitlement.accountId,
  productId: entitlement.productId,
  status: entitlement.status,
  plan: entitlement.plan,
  tenantId: entitlement.tenantId,
});

/** A form the page submits at once, as the marketplace's own page does after a purchase. */
const autoSubmit = (action: string, fields: Record<string, string>) =>
  `<form id="signup" method="post" action="${escapeHtml(action)}">
${Object.entries(fields)
  .map(
    ([name, value]) =>
      `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`,
  )
  .join('\n')}
<button type="submit">Continue</button></form>
<script>document.getElementById('signup').submit()</script>`;

const PENDING_STATES: ReadonlySet<string> = new Set(['held', 'delivering', 'retrying']);

/**
 * Waits until every message the simulator sent was answered, so the demo shows the usual order:
 * the functions handle the purchase's notifications, then the buyer signs up. `idle()` alone is
 * not enough: it can resolve between two in-order Pub/Sub pushes, before the second started.
 */
const deliveriesSettled = async (sim: Simulator, timeoutMs = 30_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while ((await sim.idle(timeoutMs)) && Date.now() < deadline) {
    if (!sim.messages().some((message) => PENDING_STATES.has(message.state))) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

const readForm = async (req: AsyncIterable<Buffer | string>): Promise<URLSearchParams> => {
  let body = '';
  for await (const chunk of req) body += chunk.toString();
  return new URLSearchParams(body);
};

/**
 * The pages of the local stack a person clicks through: a buyer's "marketplace" page that buys
 * through the simulator, on Google Cloud or AWS, and posts the signup or registration token to
 * that cloud's signup function exactly as the marketplace's page does; the vendor's onboarding
 * page that checks the handoff token; `GET /state?cloud=&id=`, what the functions stored for a
 * purchase, as JSON; and `POST /webhooks`, which checks each event's signature as the vendor's
 * app must (`GET /webhooks` lists those received).
 */
export const startDemoVendorApp = (options: {
  port: number;
  sim: Simulator;
  /** gcp/signup. */
  signupUrl: string;
  /** aws/signup: the listing's fulfillment URL. */
  awsSignupUrl: string;
  handoffSecret: string;
  /** The stores the functions of each cloud write to. */
  stores: Readonly<Record<Cloud, Store>>;
  /** What the functions sign their webhooks to `POST /webhooks` with. */
  webhookSecrets: readonly string[];
}): Promise<Server> => {
  // The events received, newest first: what a vendor's app would act on.
  const received: Array<{ id: string; type: string; entitlementId: string | null }> = [];
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', `http://127.0.0.1:${options.port}`);
      const send = (status: number, html: string) => {
        res.writeHead(status, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
        });
        res.end(html);
      };
      if (req.method === 'GET' && url.pathname === '/') {
        send(
          200,
          page(
            'Simulated marketplaces',
            `<h1>Google Cloud Marketplace (simulated)</h1>
<p>Buy the demo product as a Google Cloud buyer. The simulator creates the account and the order,
publishes the Pub/Sub messages to the events function, and sends you to the vendor's signup
page with a signed token, as Google does.</p>
<form method="post" action="/buy"><label>Plan <select name="plan"><option>pro</option><option>team</option></select></label>
<button type="submit">Buy and sign up with the vendor</button></form>
<h1>AWS Marketplace (simulated)</h1>
<p>Subscribe to the demo product as an AWS buyer. The simulator creates the license and the
agreement, sends the notifications through the seller's SQS queue to the notifications function,
and, as AWS's "Set up your account" button does, posts a registration token from your browser to
the vendor's fulfillment URL.</p>
<form method="post" action="/buy/aws"><input type="hidden" name="style" value="eventbridge">
<button type="submit">Buy on AWS Marketplace</button></form>
<form method="post" action="/buy/aws"><input type="hidden" name="style" value="sns">
<button type="submit">Buy on AWS Marketplace (legacy listing, SNS notifications)</button></form>`,
          ),
        );
        return;
      }
      if (req.method === 'POST' && url.pathname === '/buy') {
        const plan = (await readForm(req)).get('plan') === 'team' ? 'team' : 'pro';
        const purchase = await options.sim.gcp.purchase({ plan, usage: true });
        await deliveriesSettled(options.sim);
        // What Google's page does after a purchase: a form POST with the token.
        send(
          200,
          page(
            'Redirecting to the vendor',
            `<p>Order ${escapeHtml(purchase.entitlementId)} placed (${stateLink('gcp', purchase.entitlementId)}); signing up with the vendor…</p>
${autoSubmit(options.signupUrl, { 'x-gcp-marketplace-token': purchase.signupToken })}`,
          ),
        );
        return;
      }
      if (req.method === 'POST' && url.pathname === '/buy/aws') {
        const style = (await readForm(req)).get('style') === 'sns' ? 'sns' : 'eventbridge';
        const bought = await options.sim.aws.subscribe({ style });
        await deliveriesSettled(options.sim);
        // Legacy (SNS) listings name the buyer by CustomerIdentifier: no license in the key.
        const id = awsEntitlementId({
          ...bought,
          licenseArn: bought.customerIdentifier === null ? bought.licenseArn : null,
        })!;
        // What AWS's page does on "Set up your account": a urlencoded form POST with the token.
        send(
          200,
          page(
            'Redirecting to the vendor',
            `<p>Subscribed (license ${escapeHtml(bought.licenseArn)}, ${stateLink('aws', id)}); setting up your account with the vendor…</p>
${autoSubmit(options.awsSignupUrl, { 'x-amzn-marketplace-token': bought.registrationToken })}`,
          ),
        );
        return;
      }
      if (url.pathname === '/webhooks') {
        res.setHeader('content-type', 'application/json');
        if (req.method === 'GET') {
          res.writeHead(200).end(JSON.stringify(received));
          return;
        }
        // What the vendor's app does with a webhook: check the signature on the exact bytes.
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const body = Buffer.concat(chunks);
        try {
          verifyWebhookSignature({
            header: req.headers[SIGNATURE_HEADER.toLowerCase()] as string | undefined,
            body,
            secrets: options.webhookSecrets,
            nowEpochMs: Date.now(),
          });
        } catch {
          res.writeHead(401).end(JSON.stringify({ message: 'bad signature' }));
          return;
        }
        const event = JSON.parse(body.toString('utf8')) as (typeof received)[number];
        // At least once: the same event may come twice, its id says so.
        if (!received.some((seen) => seen.id === event.id)) {
          received.unshift({ id: event.id, type: event.type, entitlementId: event.entitlementId });
          received.splice(200);
        }
        res.writeHead(204).end();
        return;
      }
      if (req.method === 'GET' && url.pathname === '/state') {
        const cloud = url.searchParams.get('cloud');
        const id = url.searchParams.get('id') ?? '';
        res.setHeader('content-type', 'application/json');
        if ((cloud !== 'gcp' && cloud !== 'aws') || id === '') {
          res
            .writeHead(400)
            .end(JSON.stringify({ message: 'cloud (gcp|aws) and id are required' }));
          return;
        }
        const stored = await options.stores[cloud].getEntitlement({ cloud, id });
        res
          .writeHead(stored ? 200 : 404)
          .end(JSON.stringify(stored ? summary(stored) : { message: 'not stored (yet)' }));
        return;
      }
      if (req.method === 'GET' && url.pathname === '/welcome') {
        const handoff = await verifyHandoffToken(url.searchParams.get('handoff') ?? '', {
          secret: options.handoffSecret,
        }).catch(() => null);
        if (handoff === null) {
          send(
            401,
            page('Not signed in', '<p>The handoff token is missing, expired or forged.</p>'),
          );
          return;
        }
        const { items } = await options.stores[handoff.cloud].listEntitlements(
          { by: 'account', cloud: handoff.cloud, accountId: handoff.accountId },
          { limit: 20 },
        );
        const purchases = items
          .map(
            (e) =>
              `<li><code>${escapeHtml(e.id)}</code>: ${escapeHtml(e.status)}${e.plan ? `, plan ${escapeHtml(e.plan)}` : ''}</li>`,
          )
          .join('');
        send(
          200,
          page(
            'Welcome',
            `<h1>Welcome aboard</h1>
<p>This is your app's onboarding page. The handoff token checked out:</p>
<ul><li>tenant <code>${escapeHtml(handoff.tenantId)}</code></li>
<li>${CLOUD_NAMES[handoff.cloud]} account <code>${escapeHtml(handoff.accountId)}</code></li>
<li>first signup: ${handoff.firstSignup ? 'yes' : 'no'}</li></ul>
<p>This account's purchases, as stored now:</p>
<ul>${purchases || '<li>none yet</li>'}</ul>
<p><a href="/">Buy again</a></p>`,
          ),
        );
        return;
      }
      send(404, page('Not found', '<p>Nothing here.</p>'));
    })().catch((error: unknown) => {
      console.error(`demo app: ${req.method} ${req.url} failed:`, error);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  return new Promise((resolve) => server.listen(options.port, '127.0.0.1', () => resolve(server)));
};
