import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A server listening on the loopback interface, and its base URL (no trailing slash). */
export interface Listening {
  readonly server: Server;
  readonly url: string;
  close(): Promise<void>;
}

export const closeServer = (server: Server): Promise<void> =>
  new Promise((resolve) => server.close(() => resolve()));

/**
 * Listens on a loopback port the kernel picks as it binds. Choosing a free port first and
 * listening on it later leaves a moment in which another suite's server can take it; the listen
 * then fails, and a start that waited for it would hang until its timeout.
 */
export const listenOnLoopback = (server: Server = createServer()): Promise<Listening> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      resolve({ server, url: `http://127.0.0.1:${port}`, close: () => closeServer(server) });
    });
  });

/**
 * Makes `listening` serve what `built`, a server that never listens, would. A function whose
 * configuration names its own URL (an audience, an endpoint the simulator calls) is loaded only
 * once that URL is known, so its port is taken before the server that serves it is built.
 */
export const serveThrough = (listening: Listening, built: Server): void => {
  listening.server.on('request', (request, response) => built.emit('request', request, response));
};
