import type { z } from 'zod';
import type { SimClock } from './clock';
import type { DeliveryScheduler } from './deliveries';
import type { FaultOutcome, FaultSettings } from './faults';
import type { SimHttpError } from './http/http-error';
import type { SimRequest, SimRoute } from './http/types';
import type { MessageLog } from './messages';
import type { Seed } from './random';

/**
 * What one simulated marketplace (`sim/gcp`, `sim/aws`) plugs into the server. The
 * server owns HTTP, faults, the message log and `/_sim/*` common routes; a cloud owns its
 * state, its API routes and its error format.
 */
export interface SimContext {
  /** The simulator's seed; a cloud derives its own streams from it (`${seed}:gcp`). */
  readonly seed: Seed;
  readonly clock: SimClock;
  readonly messages: MessageLog;
  readonly deliveries: DeliveryScheduler;
  /**
   * The simulator's own URL (`http://127.0.0.1:<port>`), for what a cloud must point back at
   * (SNS `SigningCertURL`). Known once the server listens: call it when handling, not when built.
   */
  baseUrl(): string;
}

export interface CloudFaultOptions {
  /** Extra keys this cloud accepts in `POST /_sim/faults`. */
  readonly shape: z.ZodRawShape;
  /**
   * Receives only this cloud's keys, absent ones included as `undefined`, and the common
   * settings (a cloud's own dice follow the common `seed`).
   */
  configure(values: Record<string, unknown>, common: FaultSettings): void;
  reset(): void;
  /** This cloud's keys as set now, for `GET /_sim/faults`; unset ones left out. */
  settings?(): Record<string, unknown>;
}

export interface SimCloud {
  /** The `api` name its routes carry and the `scope` of faults aimed at it. */
  readonly name: string;
  readonly routes: readonly SimRoute[];
  /** Runs first on this cloud's API routes (credentials); throws to refuse. */
  guard?(request: SimRequest): void;
  /** This cloud's answer to an injected fault. */
  faultError(outcome: Exclude<FaultOutcome, 'pass'>): SimHttpError;
  readonly faults?: CloudFaultOptions;
  /** Forgets every resource, message and report; keeps keys and configuration. */
  reset(): void;
  /** Cancels the cloud's own timers when the simulator stops. */
  stop?(): void;
}
