/**
 * Clicks through the local stack the way a person would after `npm start`: buys on the demo
 * marketplace page, posts the signup form to the signup function, and lands on the vendor's
 * onboarding page. Exits non-zero, saying where, when any step fails.
 */
const APP = `http://127.0.0.1:${process.env.LOCAL_APP_PORT ?? 4014}`;

const fail = (step: string, detail: string): never => {
  console.error(`smoke: ${step} failed: ${detail}`);
  process.exit(1);
};

const main = async (): Promise<void> => {
  const home = await fetch(`${APP}/`);
  if (home.status !== 200) fail('the marketplace page', `HTTP ${home.status}`);

  const bought = await fetch(`${APP}/buy`, {
    method: 'POST',
    body: new URLSearchParams({ plan: 'pro' }),
  });
  const html = await bought.text();
  const action = /action="([^"]+)"/.exec(html)?.[1];
  const token = /name="x-gcp-marketplace-token" value="([^"]+)"/.exec(html)?.[1];
  if (!action || !token) return fail('buying', `HTTP ${bought.status}, no signup form`);

  const signup = await fetch(action, {
    method: 'POST',
    body: new URLSearchParams({ 'x-gcp-marketplace-token': token }),
    redirect: 'manual',
  });
  const location = signup.headers.get('location');
  if (signup.status !== 303 || !location) return fail('signing up', `HTTP ${signup.status}`);

  const welcome = await fetch(location);
  if (welcome.status !== 200 || !(await welcome.text()).includes('Welcome aboard')) {
    fail('the onboarding page', `HTTP ${welcome.status}`);
  }
  console.log('smoke: bought, signed up and landed on the onboarding page');
};

main().catch((error: unknown) =>
  fail('the smoke run', error instanceof Error ? error.message : String(error)),
);
