/**
 * Every message a simulated marketplace sends, whichever cloud and channel, kept for
 * `GET /_sim/messages` with each delivery attempt and what the receiver answered.
 */
export type MessageState =
  /** No sink is configured: the message is only recorded. */
  | 'recorded'
  /** Manual delivery: waits for a redeliver call. */
  | 'held'
  | 'delivering'
  /** The last attempt failed and another is scheduled. */
  | 'retrying'
  | 'delivered'
  /** Every attempt failed (Pub/Sub would dead-letter it). */
  | 'failed';

export interface DeliveryAttempt {
  /** 1 for the first attempt of the message, counting redeliveries. */
  readonly number: number;
  readonly startedAt: string;
  readonly durationMs: number;
  /** The receiver's HTTP status; absent when it could not be reached. */
  readonly status?: number;
  readonly error?: string;
}

export interface RecordedMessage {
  /** The channel's own message id (a Pub/Sub `messageId`). */
  readonly id: string;
  readonly cloud: string;
  /** How it travels, e.g. `pubsub-push`. */
  readonly channel: string;
  readonly eventType: string;
  readonly recordedAt: string;
  /** The marketplace's payload, decoded. */
  readonly payload: unknown;
  /** What goes on the wire (the push body). */
  readonly envelope: unknown;
  endpoint?: string;
  state: MessageState;
  readonly attempts: DeliveryAttempt[];
}

export interface MessageLog {
  add(message: RecordedMessage): RecordedMessage;
  get(cloud: string, id: string): RecordedMessage | undefined;
  list(filter?: { cloud?: string; eventType?: string }): readonly RecordedMessage[];
  clear(): void;
}

export const createMessageLog = (): MessageLog => {
  const messages: RecordedMessage[] = [];
  return {
    add: (message) => {
      messages.push(message);
      return message;
    },
    get: (cloud, id) => messages.find((m) => m.cloud === cloud && m.id === id),
    list: (filter = {}) =>
      messages.filter(
        (m) =>
          (filter.cloud === undefined || m.cloud === filter.cloud) &&
          (filter.eventType === undefined || m.eventType === filter.eventType),
      ),
    clear: () => {
      messages.length = 0;
    },
  };
};
