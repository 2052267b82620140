import type { Server } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createDynamoDbDocumentClient, createDynamoDbStore } from '../../shared/adapters/dynamodb';
import { createFirestoreClient, createFirestoreStore } from '../../shared/adapters/firestore';
import { newApiKey } from '../../shared/adapters/http/vendor-api/api-key';
import type { Account, Entitlement, OutboxMessage } from '../../shared/domain/model';
import type { Store } from '../../shared/ports/store';
import { aDecision, anAccount, anEntitlement } from '../../shared/test/builders';
import { serveHttpApi } from '../../infra/local/lambda-http';
import { dynamoDbEndpoint, firestoreEmulator, uniqueName } from '../engines/engines';
import { createOpenApiResponseValidator } from './openapi';
import type { OpenApiResponseValidator } from './openapi';
import { freshDynamoDbTable } from './stores';
import { listenOnLoopback } from './loopback';

export type Platform = 'aws' | 'gcp';

/** One key per scope, and one with every scope. */
export const KEYS = {
  read: newApiKey('reader', ['read']),
  usage: newApiKey('meter', ['usage:write']),
  admin: newApiKey('ops', ['admin']),
  all: newApiKey('all-in-one', ['read', 'usage:write', 'admin']),
};
export type KeyName = keyof typeof KEYS;

export const USAGE_METRICS = { pro: { requests: 'example.com/pro_requests' } };
export const AWS_DIMENSIONS = ['requests', 'users'];

/** What the functions read, as the deploy files give it to them. */
const API_ENV = {
  VENDOR_API_KEYS: Object.values(KEYS)
    .map((key) => key.entry)
    .join(','),
  LOG_LEVEL: 'error',
  USAGE_METRICS: JSON.stringify(USAGE_METRICS),
  METERING_DIMENSIONS: AWS_DIMENSIONS.join(','),
  METERING_WINDOW_HOURS: '24',
  WEBHOOK_URLS: '',
  WEBHOOK_SECRETS: '',
};

export interface CallInput {
  readonly method?: string;
  /** The document's template; `null` for a request it has no operation for. */
  readonly route: string | null;
  /** Filled into the template, percent-encoded unless `raw`. */
  readonly params?: Readonly<Record<string, string>>;
  readonly raw?: boolean;
  /** A path as is, instead of the route's. */
  readonly path?: string;
  readonly query?: Readonly<Record<string, string | number>>;
  /** Which key to send; `null`: none. The `read` key unless given. */
  readonly key?: KeyName | null;
  /** An `Authorization` value as is. */
  readonly authorization?: string;
  /** JSON-encoded unless a string or a Buffer. */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  // Tests read fields of any answer; the document's schema was checked already.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: any;
}

export interface VendorApiUnderTest {
  readonly platform: Platform;
  readonly url: string;
  readonly store: Store;
  /** Calls the API over HTTP and holds every answer to the OpenAPI document. */
  call(input: CallInput): Promise<Answer>;
  stop(): Promise<void>;
}

/** An admin's `POST /v1/tenants/{tenantId}/accounts`: links the account (a vendor id) there. */
export const linkAccount = (
  api: VendorApiUnderTest,
  tenantId: string,
  accountId: string,
): Promise<Answer> =>
  api.call({
    method: 'POST',
    route: '/v1/tenants/{tenantId}/accounts',
    params: { tenantId },
    key: 'admin',
    body: { accountId },
  });

/** An admin's `DELETE /v1/tenants/{tenantId}/accounts/{accountId}`. */
export const unlinkAccount = (
  api: VendorApiUnderTest,
  tenantId: string,
  accountId: string,
): Promise<Answer> =>
  api.call({
    method: 'DELETE',
    route: '/v1/tenants/{tenantId}/accounts/{accountId}',
    params: { tenantId, accountId },
    key: 'admin',
  });

const pathOf = (input: CallInput): string => {
  if (input.path !== undefined) return input.path;
  if (input.route === null) throw new Error('give a path for a request with no route');
  return input.route.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = input.params?.[name];
    if (value === undefined) throw new Error(`no value for {${name}}`);
    return input.raw ? value : encodeURIComponent(value);
  });
};

const callerOf = (url: string, validator: OpenApiResponseValidator) => async (input: CallInput) => {
  const method = input.method ?? 'GET';
  const query = new URLSearchParams(
    Object.entries(input.query ?? {}).map(([name, value]): [string, string] => [
      name,
      String(value),
    ]),
  ).toString();
  const headers: Record<string, string> = { ...input.headers };
  if (input.authorization !== undefined) headers.authorization = input.authorization;
  else if (input.key !== null) headers.authorization = `Bearer ${KEYS[input.key ?? 'read'].key}`;
  let body: string | Buffer | undefined;
  if (input.body !== undefined) {
    body =
      typeof input.body === 'string' || Buffer.isBuffer(input.body)
        ? input.body
        : JSON.stringify(input.body);
    headers['content-type'] ??= 'application/json';
  }
  // An empty value sends no such header at all.
  for (const [name, value] of Object.entries(headers)) if (value === '') delete headers[name];
  const response = await fetch(`${url}${pathOf(input)}${query ? `?${query}` : ''}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  validator.assertDocumented({
    method,
    route: input.route,
    status: response.status,
    headers: response.headers,
    body: text,
  });
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    // Not every answer is ours: the Functions Framework answers some bad bodies in HTML.
  }
  return { status: response.status, headers: response.headers, text, json } as Answer;
};

/**
 * The AWS function as deployed: its handler behind a local HTTP API (payload 2.0 events,
 * base64 bodies) on a fresh DynamoDB Local table, or on the table `TABLE_NAME` names already
 * (`useCurrentTable`: a stack's).
 */
export const startAwsVendorApi = async (
  options: { readonly useCurrentTable?: boolean; readonly env?: Record<string, string> } = {},
): Promise<VendorApiUnderTest> => {
  const table = options.useCurrentTable ? null : await freshDynamoDbTable();
  Object.assign(process.env, {
    STORE_BACKEND: 'dynamodb',
    ...(table ? { TABLE_NAME: table.tableName } : {}),
    DYNAMODB_ENDPOINT: dynamoDbEndpoint(),
    AWS_REGION: 'us-east-1',
    ...API_ENV,
    ...options.env,
  });
  let handler:
    ((event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>) | undefined;
  // A fresh module registry: the function reads its configuration at cold start.
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    handler = (require('../../functions/vendor/aws-api') as { handler: typeof handler }).handler;
  });
  const { url, close } = await listenOnLoopback(serveHttpApi(handler!));
  // The stack's table is the stack's to drop; a client of this run's own reads it meanwhile.
  const client = table
    ? null
    : createDynamoDbDocumentClient({ endpoint: dynamoDbEndpoint(), region: 'us-east-1' });
  const store = table
    ? table.store
    : createDynamoDbStore(client!, { tableName: process.env.TABLE_NAME! });
  return {
    platform: 'aws',
    url,
    store,
    call: callerOf(url, createOpenApiResponseValidator('aws')),
    stop: async () => {
      await close();
      await table?.drop();
      client?.destroy();
    },
  };
};

/**
 * The Google function as deployed: served by the Functions Framework (`getTestServer`, with
 * NODE_ENV=production as Terraform sets it) on a fresh Firestore emulator project, or on the one
 * `FIRESTORE_PROJECT_ID` names already (`useCurrentProject`: a stack's).
 */
export const startGcpVendorApi = async (
  options: { readonly useCurrentProject?: boolean; readonly env?: Record<string, string> } = {},
): Promise<VendorApiUnderTest> => {
  const projectId = options.useCurrentProject
    ? process.env.FIRESTORE_PROJECT_ID!
    : uniqueName('demo-vendor-api');
  Object.assign(process.env, {
    STORE_BACKEND: 'firestore',
    FIRESTORE_PROJECT_ID: projectId,
    FIRESTORE_EMULATOR_HOST: firestoreEmulator().host,
    ...API_ENV,
    ...options.env,
  });
  let server: Server | undefined;
  const nodeEnv = process.env.NODE_ENV;
  jest.isolateModules(() => {
    /* eslint-disable @typescript-eslint/no-require-imports */
    require('../../functions/vendor/gcp-api');
    const { getTestServer } = require('@google-cloud/functions-framework/testing') as {
      getTestServer: (name: string) => Server;
    };
    /* eslint-enable @typescript-eslint/no-require-imports */
    // Express reads NODE_ENV when the framework builds its app: production, as deployed.
    process.env.NODE_ENV = 'production';
    try {
      server = getTestServer('gcpVendorApi');
    } finally {
      process.env.NODE_ENV = nodeEnv;
    }
  });
  const { url, close } = await listenOnLoopback(server!);
  const db = createFirestoreClient({ projectId });
  return {
    platform: 'gcp',
    url,
    store: createFirestoreStore(db),
    call: callerOf(url, createOpenApiResponseValidator('gcp')),
    stop: async () => {
      await close();
      await db.terminate();
    },
  };
};

export const startVendorApi = (platform: Platform): Promise<VendorApiUnderTest> =>
  platform === 'aws' ? startAwsVendorApi() : startGcpVendorApi();

/** Writes a new account, as the events and signup flows would, through `applyDecision`. */
export const seedAccount = async (store: Store, overrides: Partial<Account> = {}) => {
  const account = anAccount(overrides);
  await store.applyDecision(aDecision({ account: { next: account, expectedVersion: 0 } }));
  return (await store.getAccount(account))!;
};

/** Writes a new purchase through `applyDecision`. */
export const seedEntitlement = async (store: Store, overrides: Partial<Entitlement> = {}) => {
  const entitlement = anEntitlement(overrides);
  await store.applyDecision(aDecision({ entitlement: { next: entitlement, expectedVersion: 0 } }));
  return (await store.getEntitlement(entitlement))!;
};

/** Writes outbox messages as one decision's. */
export const seedEvents = async (store: Store, ...messages: OutboxMessage[]) => {
  await store.applyDecision(aDecision({ outbox: messages }));
  return messages;
};

const ALL_TIME = { fromEpochMs: 0, toEpochMs: Date.UTC(2100, 0, 1) };

/** Everything a request could change about some accounts: them, their purchases, every event. */
export const stateOf = async (
  store: Store,
  accounts: ReadonlyArray<Pick<Account, 'cloud' | 'id'>>,
) => {
  const outbox: OutboxMessage[] = [];
  let cursor: string | null = null;
  do {
    const page = await store.listOutbox({ by: 'time', ...ALL_TIME }, { limit: 1_000, cursor });
    outbox.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return {
    accounts: await Promise.all(accounts.map((ref) => store.getAccount(ref))),
    entitlements: await Promise.all(
      accounts.map(
        async (ref) =>
          (
            await store.listEntitlements(
              { by: 'account', cloud: ref.cloud, accountId: ref.id },
              { limit: 1_000 },
            )
          ).items,
      ),
    ),
    outbox,
  };
};
