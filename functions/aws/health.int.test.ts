import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { loadFixture } from '../../shared/test/fixtures';
import { dynamoDbEndpoint } from '../../test/engines/engines';
import { freshDynamoDbTable } from '../../test/support/stores';

type Handler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/** Loads the function as Lambda would: environment first, then the module's cold start. */
const coldStart = (env: Record<string, string>): Handler => {
  Object.assign(process.env, env);
  let handler: Handler | undefined;
  jest.isolateModules(() => {
    // A fresh module registry is what makes this a cold start; `import()` would share one.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    handler = (require('./health') as { handler: Handler }).handler;
  });
  return handler!;
};

describe('aws health (HTTP API v2)', () => {
  const event = loadFixture<APIGatewayProxyEventV2>('aws', 'http-api-v2-get-health');
  const baseEnv = {
    DYNAMODB_ENDPOINT: dynamoDbEndpoint(),
    AWS_REGION: 'us-east-1',
    LOG_LEVEL: 'error',
  };

  it('answers 200 when the table answers', async () => {
    const table = await freshDynamoDbTable();
    try {
      const handler = coldStart({ ...baseEnv, TABLE_NAME: table.tableName });
      const response = await handler(event);
      expect(response.statusCode).toBe(200);
      expect(JSON.parse(response.body!)).toEqual({ ok: true });
    } finally {
      await table.drop();
    }
  });

  it('answers 503 without internals when the table is missing', async () => {
    const handler = coldStart({ ...baseEnv, TABLE_NAME: 'no-such-table' });
    const response = await handler(event);
    expect(response.statusCode).toBe(503);
    expect(JSON.parse(response.body!)).toEqual({ ok: false, error: 'store_unavailable' });
  });

  it('stops the cold start naming a missing variable', async () => {
    delete process.env.TABLE_NAME;
    expect(() => coldStart({ ...baseEnv })).toThrow(/TABLE_NAME/);
  });
});
