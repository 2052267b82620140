import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { verifyHandoffToken } from '../../shared/adapters/handoff/handoff-token';
import type { Simulator } from '../../sim/server';

const page = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
button{font-size:1rem;padding:.5rem 1rem}code{background:#eee;padding:0 .2rem}</style></head>
<body>${body}</body></html>`;

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The two pages of the local stack a person clicks through: a buyer's "marketplace" page that
 * buys through the simulator and posts the signup token to the signup function exactly as
 * Google's page does, and the vendor's onboarding page that checks the handoff token.
 */
export const startDemoVendorApp = (options: {
  port: number;
  sim: Simulator;
  signupUrl: string;
  handoffSecret: string;
}): Promise<Server> => {
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
            'Simulated Google Cloud Marketplace',
            `<h1>Google Cloud Marketplace (simulated)</h1>
<p>Buy the demo product as a Google Cloud buyer. The simulator creates the account and the order,
publishes the Pub/Sub messages to the events function, and sends you to the vendor's signup
page with a signed token, as Google does.</p>
<form method="post" action="/buy"><label>Plan <select name="plan"><option>pro</option><option>team</option></select></label>
<button type="submit">Buy and sign up with the vendor</button></form>`,
          ),
        );
        return;
      }
      if (req.method === 'POST' && url.pathname === '/buy') {
        let body = '';
        for await (const chunk of req) body += chunk;
        const plan = new URLSearchParams(body).get('plan') === 'team' ? 'team' : 'pro';
        const purchase = await options.sim.gcp.purchase({ plan, usage: true });
        await options.sim.idle();
        // What Google's page does after a purchase: a form POST with the token.
        send(
          200,
          page(
            'Redirecting to the vendor',
            `<p>Order ${escapeHtml(purchase.entitlementId)} placed; signing up with the vendor…</p>
<form id="signup" method="post" action="${escapeHtml(options.signupUrl)}">
<input type="hidden" name="x-gcp-marketplace-token" value="${escapeHtml(purchase.signupToken)}">
<button type="submit">Continue</button></form>
<script>document.getElementById('signup').submit()</script>`,
          ),
        );
        return;
      }
      if (req.method === 'GET' && url.pathname === '/welcome') {
        try {
          const handoff = await verifyHandoffToken(url.searchParams.get('handoff') ?? '', {
            secret: options.handoffSecret,
          });
          send(
            200,
            page(
              'Welcome',
              `<h1>Welcome aboard</h1>
<p>This is your app's onboarding page. The handoff token checked out:</p>
<ul><li>tenant <code>${escapeHtml(handoff.tenantId)}</code></li>
<li>${escapeHtml(handoff.cloud)} account <code>${escapeHtml(handoff.accountId)}</code></li>
<li>first signup: ${handoff.firstSignup ? 'yes' : 'no'}</li></ul>
<p><a href="/">Buy again</a></p>`,
            ),
          );
        } catch {
          send(
            401,
            page('Not signed in', '<p>The handoff token is missing, expired or forged.</p>'),
          );
        }
        return;
      }
      send(404, page('Not found', '<p>Nothing here.</p>'));
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  return new Promise((resolve) => server.listen(options.port, '127.0.0.1', () => resolve(server)));
};
