import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const LISTENING = /^simulator listening on (http:\/\/127\.0\.0\.1:(\d+))$/m;

/** `npm run sim` as a vendor runs it; its own process group, so stopping it stops tsx too. */
const startSim = (env: Record<string, string>): { child: ChildProcess; url: Promise<string> } => {
  const child = spawn('npm', ['run', '--silent', 'sim'], {
    cwd: join(__dirname, '..'),
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const found = LISTENING.exec(output);
      if (found) resolve(found[1]!);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('exit', (code) => reject(new Error(`npm run sim exited with ${code}: ${output}`)));
  });
  return { child, url };
};

const stop = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.pid === undefined) return resolve();
    child.once('exit', () => resolve());
    process.kill(-child.pid, 'SIGTERM');
  });

describe('npm run sim', () => {
  it('starts on a free port, says where, answers /_sim/health and stops on SIGTERM', async () => {
    const { child, url } = startSim({
      SIM_PORT: '0',
      SIM_GCP_PROVIDER_ID: 'DEMO-cli',
      SIM_AWS_PRODUCT_CODES: 'cliproduct000000000000001',
    });
    try {
      const base = await url;
      const health = await fetch(`${base}/_sim/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ ok: true });

      const bought = await fetch(`${base}/_sim/gcp/purchase`, {
        method: 'POST',
        body: '{"plan":"pro"}',
      });
      expect(await bought.json()).toMatchObject({ provider: 'DEMO-cli' });

      const subscribed = await fetch(`${base}/_sim/aws/subscribe`, { method: 'POST', body: '{}' });
      expect(subscribed.status).toBe(201);
      expect(await subscribed.json()).toMatchObject({ productCode: 'cliproduct000000000000001' });
    } finally {
      await stop(child);
    }
    expect(child.exitCode ?? child.signalCode).not.toBeNull();
  });

  it('refuses a bad AWS setting, naming it', async () => {
    const { child, url } = startSim({ SIM_PORT: '0', SIM_AWS_DELIVER: 'later' });
    await expect(url).rejects.toThrow(/SIM_AWS_DELIVER must be sync, async or manual/);
    await stop(child);
  });

  it('refuses a bad SIM_PORT, naming it', async () => {
    const { child, url } = startSim({ SIM_PORT: 'eighty' });
    await expect(url).rejects.toThrow(/SIM_PORT must be a port number/);
    await stop(child);
  });
});
