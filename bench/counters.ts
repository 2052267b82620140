import type { FirestoreServer } from '@firestore-emulator/server';

/** Calls counted by name, for "round trips per operation" figures. */
export type Counter = Map<string, number>;

export const bump = (counter: Counter, name: string): void => {
  counter.set(name, (counter.get(name) ?? 0) + 1);
};

export const total = (counter: Counter): number => [...counter.values()].reduce((a, b) => a + b, 0);

export const perOperation = (counter: Counter, operations: number): Record<string, number> =>
  Object.fromEntries([...counter].map(([name, n]) => [name, n / operations]));

/**
 * Wraps every gRPC handler of the in-process Firestore emulator to count the calls it receives:
 * what the store really asked of the engine, whatever the client library did in between.
 */
export const countFirestoreCalls = (server: FirestoreServer, counter: Counter): void => {
  const grpcServer = (
    server as unknown as {
      server: { handlers: Map<string, { func: (...args: unknown[]) => unknown }> };
    }
  ).server;
  for (const [path, handler] of grpcServer.handlers) {
    const func = handler.func;
    handler.func = function (this: unknown, ...args: unknown[]) {
      bump(counter, path.split('/').pop() ?? path);
      return func.apply(this, args);
    };
  }
};
