import { ENGINES_KEY } from './engines';
import type { EnginesHandle } from './engines';

export default async function globalTeardown(): Promise<void> {
  const engines = (globalThis as Record<string, unknown>)[ENGINES_KEY] as EnginesHandle | undefined;
  await engines?.stop();
}
