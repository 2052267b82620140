import { createHash } from 'node:crypto';
import type { SimClock } from '../clock';
import { rfc3339 } from '../clock';
import type { DeliveryScheduler } from '../deliveries';
import { simError } from '../http/http-error';
import { postJsonForAnswer } from '../http/post-json';
import type { PostJsonAnswer } from '../http/post-json';
import type { MessageLog, RecordedMessage } from '../messages';
import type { AwsDeliveryMode } from './aws-options';
import type { AwsIds } from './ids';

/**
 * The seller's SQS queue and the Lambda event source mapping that drains it: messages (SNS
 * notifications or EventBridge events) are POSTed in batches as a Lambda SQS event
 * `{"Records":[…]}` to the configured endpoint, which answers as a Lambda with
 * `ReportBatchItemFailures` does. Listed failures, or the whole batch when the answer is an
 * error or malformed, become visible again after the visibility timeout with
 * `ApproximateReceiveCount` one higher; after `maxReceiveCount` receives a message moves to the
 * dead-letter queue.
 */
export interface SqsConfig {
  readonly endpoint?: string;
  readonly deliver: AwsDeliveryMode;
  readonly batchSize: number;
  readonly visibilityTimeoutMs: number;
  readonly maxReceiveCount: number;
  readonly timeoutMs: number;
}

/** One record of a Lambda SQS event (`SQSRecord` in `@types/aws-lambda`). */
export interface SqsRecord {
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes: {
    ApproximateReceiveCount: string;
    SentTimestamp: string;
    SenderId: string;
    ApproximateFirstReceiveTimestamp?: string;
  };
  messageAttributes: Record<string, never>;
  md5OfBody: string;
  eventSource: 'aws:sqs';
  eventSourceARN: string;
  awsRegion: string;
}

export interface EnqueueInput {
  readonly eventType: string;
  /** How it reached the queue: `sns`, `sns-raw` or `eventbridge`. */
  readonly channel: string;
  /** The marketplace's payload, decoded (the SNS message, the EventBridge event). */
  readonly payload: unknown;
  /** The SQS body, exactly as delivered. */
  readonly body: string;
  /** Who sent it to the queue (SNS or EventBridge's principal). */
  readonly senderId: string;
}

export interface DeadLetter {
  readonly message: RecordedMessage;
  readonly receiveCount: number;
  readonly movedAt: string;
}

export interface SqsQueue {
  readonly queueArn: string;
  readonly deadLetterQueueArn: string;
  /** Records a message in the queue; nothing is sent until `dispatch`. */
  enqueue(input: EnqueueInput): RecordedMessage;
  /**
   * Starts draining the queue. A buyer action in `sync` mode waits until these messages'
   * first receives were answered; everything else returns at once.
   */
  dispatch(messages: readonly RecordedMessage[], origin: 'buyer' | 'api'): Promise<void>;
  /** Receives one message now (again, or out of the dead-letter queue) and waits for the answer. */
  redeliver(messageId: string): Promise<RecordedMessage>;
  deadLetters(): readonly DeadLetter[];
  config(): SqsConfig;
  configure(changes: Partial<SqsConfig>): SqsConfig;
  reset(): void;
  stop(): void;
}

export interface SqsQueueOptions {
  readonly clock: SimClock;
  readonly ids: AwsIds;
  readonly messages: MessageLog;
  readonly deliveries: DeliveryScheduler;
  readonly region: string;
  readonly accountId: string;
  readonly queueName: string;
  readonly config: SqsConfig;
}

type Where = 'queued' | 'inflight' | 'invisible' | 'deleted' | 'dead';

interface Entry {
  readonly message: RecordedMessage;
  readonly record: SqsRecord;
  receiveCount: number;
  where: Where;
  /** Bumped at every receive, so a visibility timer of an earlier receive does nothing. */
  generation: number;
  movedAt?: string;
  readonly firstAnswer: Promise<void>;
  answered: () => void;
}

export const SQS_CHANNEL_PREFIX = 'sqs';

/** Which messages of a batch failed, per Lambda's partial-batch rules, and why. */
export const failedItems = (
  answer: PostJsonAnswer | undefined,
  error: string | undefined,
  messageIds: readonly string[],
): { failed: ReadonlySet<string>; reason?: string } => {
  const all = (reason: string) => ({ failed: new Set(messageIds), reason });
  if (answer === undefined) return all(error ?? 'no answer');
  if (answer.status < 200 || answer.status >= 300)
    return all(`the function failed (HTTP ${answer.status})`);
  const text = answer.text.trim();
  if (text === '') return { failed: new Set() };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return all('the answer is not JSON');
  }
  if (parsed === null) return { failed: new Set() };
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    return all('the answer is not a partial-batch response object');
  }
  const items = (parsed as { batchItemFailures?: unknown }).batchItemFailures;
  if (items === undefined || items === null) return { failed: new Set() };
  if (!Array.isArray(items)) return all('batchItemFailures is not a list');
  const failed = new Set<string>();
  for (const item of items) {
    const id = (item as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    // Lambda fails the whole batch on an empty, missing or unknown itemIdentifier.
    if (typeof id !== 'string' || id === '' || !messageIds.includes(id)) {
      return all(`batchItemFailures names ${JSON.stringify(id)}, not a message of this batch`);
    }
    failed.add(id);
  }
  return { failed, reason: 'listed in batchItemFailures' };
};

export const createSqsQueue = (options: SqsQueueOptions): SqsQueue => {
  const { clock, ids, messages, deliveries } = options;
  const queueArn = `arn:aws:sqs:${options.region}:${options.accountId}:${options.queueName}`;
  const deadLetterQueueArn = `${queueArn}-dlq`;
  let config = options.config;
  let entries = new Map<string, Entry>();
  let ready: Entry[] = [];
  let dead: Entry[] = [];
  // Bumped by reset: answers and timers of an earlier epoch change nothing.
  let epoch = 0;
  let pumping = false;
  let stopped = false;

  const idleState = (): RecordedMessage['state'] => (config.endpoint ? 'held' : 'recorded');

  const entryOf = (messageId: string): Entry => {
    const entry = entries.get(messageId);
    if (!entry) throw simError(404, `message ${messageId} not found`);
    return entry;
  };

  const reappear = (entry: Entry, generation: number, entryEpoch: number): void => {
    if (entryEpoch !== epoch || entry.generation !== generation || entry.where !== 'invisible') {
      return;
    }
    if (entry.receiveCount >= config.maxReceiveCount) {
      entry.where = 'dead';
      entry.movedAt = rfc3339(clock.nowMs());
      entry.message.state = 'failed';
      dead.push(entry);
      return;
    }
    entry.where = 'queued';
    entry.message.state =
      config.deliver === 'manual' || !config.endpoint ? idleState() : 'retrying';
    ready.push(entry);
    pump();
  };

  const receive = async (batch: readonly Entry[], signal: AbortSignal): Promise<void> => {
    const endpoint = config.endpoint;
    if (!endpoint) return;
    const startEpoch = epoch;
    const nowMs = clock.nowMs();
    for (const entry of batch) {
      entry.receiveCount += 1;
      entry.generation += 1;
      entry.where = 'inflight';
      entry.record.receiptHandle = ids.receiptHandle();
      entry.record.attributes.ApproximateReceiveCount = String(entry.receiveCount);
      entry.record.attributes.ApproximateFirstReceiveTimestamp ??= String(nowMs);
      entry.message.state = 'delivering';
      entry.message.endpoint = endpoint;
    }
    const started = performance.now();
    let answer: PostJsonAnswer | undefined;
    let error: string | undefined;
    try {
      answer = await postJsonForAnswer(
        endpoint,
        { Records: batch.map((entry) => structuredClone(entry.record)) },
        { timeoutMs: config.timeoutMs, signal },
      );
    } catch (cause) {
      error = cause instanceof Error ? cause.message : String(cause);
    }
    const durationMs = Math.round(performance.now() - started);
    const { failed, reason } = failedItems(
      answer,
      error,
      batch.map((entry) => entry.record.messageId),
    );
    for (const entry of batch) {
      entry.answered();
      if (startEpoch !== epoch) continue;
      const ok = !failed.has(entry.record.messageId);
      entry.message.attempts.push({
        number: entry.message.attempts.length + 1,
        startedAt: rfc3339(nowMs),
        durationMs,
        ...(answer ? { status: answer.status } : {}),
        ...(ok ? {} : { error: reason ?? 'failed' }),
      });
      if (ok) {
        entry.where = 'deleted';
        entry.message.state = 'delivered';
        continue;
      }
      entry.where = 'invisible';
      entry.message.state = 'retrying';
      const { generation } = entry;
      deliveries.later(config.visibilityTimeoutMs, () => reappear(entry, generation, startEpoch));
    }
  };

  function pump(): void {
    if (pumping || stopped || !config.endpoint || config.deliver === 'manual') return;
    if (ready.length === 0) return;
    pumping = true;
    void deliveries.track(async (signal) => {
      try {
        // Lambda's poller gathers what is visible: let messages becoming visible at the same
        // moment (timers due together) join one batch.
        await new Promise((resolve) => setImmediate(resolve));
        while (ready.length && config.endpoint && config.deliver !== 'manual' && !stopped) {
          await receive(ready.splice(0, config.batchSize), signal);
        }
      } finally {
        pumping = false;
      }
    });
  }

  return {
    queueArn,
    deadLetterQueueArn,
    enqueue: (input) => {
      const nowMs = clock.nowMs();
      const record: SqsRecord = {
        messageId: ids.uuid(),
        receiptHandle: '',
        body: input.body,
        attributes: {
          ApproximateReceiveCount: '0',
          SentTimestamp: String(nowMs),
          SenderId: input.senderId,
        },
        messageAttributes: {},
        md5OfBody: createHash('md5').update(input.body, 'utf8').digest('hex'),
        eventSource: 'aws:sqs',
        eventSourceARN: queueArn,
        awsRegion: options.region,
      };
      const message = messages.add({
        id: record.messageId,
        cloud: 'aws',
        channel: `${SQS_CHANNEL_PREFIX}:${input.channel}`,
        eventType: input.eventType,
        recordedAt: rfc3339(nowMs),
        payload: input.payload,
        envelope: record,
        ...(config.endpoint ? { endpoint: config.endpoint } : {}),
        state: idleState(),
        attempts: [],
      });
      let answered = (): void => undefined;
      const firstAnswer = new Promise<void>((resolve) => {
        answered = resolve;
      });
      const entry: Entry = {
        message,
        record,
        receiveCount: 0,
        where: 'queued',
        generation: 0,
        firstAnswer,
        answered,
      };
      entries.set(record.messageId, entry);
      ready.push(entry);
      return message;
    },
    dispatch: async (batch, origin) => {
      pump();
      if (origin !== 'buyer' || config.deliver !== 'sync' || !config.endpoint) return;
      await Promise.all(batch.map((message) => entries.get(message.id)?.firstAnswer));
    },
    redeliver: async (messageId) => {
      const entry = entryOf(messageId);
      if (!config.endpoint) {
        throw simError(409, 'no SQS endpoint is configured: set one with POST /_sim/aws/config');
      }
      if (entry.where === 'inflight') {
        throw simError(409, `message ${messageId} is being delivered; wait for its answer`);
      }
      ready = ready.filter((other) => other !== entry);
      dead = dead.filter((other) => other !== entry);
      delete entry.movedAt;
      await deliveries.track((signal) => receive([entry], signal));
      return entry.message;
    },
    deadLetters: () =>
      dead.map((entry) => ({
        message: entry.message,
        receiveCount: entry.receiveCount,
        movedAt: entry.movedAt ?? '',
      })),
    config: () => config,
    configure: (changes) => {
      config = { ...config, ...changes };
      for (const entry of ready) {
        if (entry.message.state === 'recorded' || entry.message.state === 'held') {
          entry.message.state = idleState();
        }
      }
      pump();
      return config;
    },
    reset: () => {
      epoch += 1;
      for (const entry of entries.values()) entry.answered();
      entries = new Map();
      ready = [];
      dead = [];
    },
    stop: () => {
      stopped = true;
      for (const entry of entries.values()) entry.answered();
    },
  };
};
