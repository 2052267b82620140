// `serverless package` offline (no AWS access), then the generated CloudFormation checked for the
// whole AWS side: functions, triggers (HTTP routes, queue, schedules), queues, the license events
// rule, the optional legacy SNS subscriptions, per-function least-privilege roles and one artifact
// per function.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { METRIC_NAMESPACE } from '../shared/adapters/aws/metric-line';
import { tableDefinition } from '../shared/adapters/dynamodb/table';
import { ENV_VARS, ENV_VAR_NAMES } from '../shared/config/env';

interface Resource {
  Type: string;
  Condition?: string;
  Properties: Record<string, unknown>;
}

interface Template {
  Conditions?: Record<string, unknown>;
  Resources: Record<string, Resource>;
}

interface Statement {
  Sid?: string;
  Effect: string;
  Principal?: unknown;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

const root = join(__dirname, '..');
const bySorted = <T>(items: T[] | undefined, key: (item: T) => string) =>
  [...(items ?? [])].sort((a, b) => key(a).localeCompare(key(b)));
const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);
const getAtt = (logicalId: string, attribute = 'Arn') => ({
  'Fn::GetAtt': [logicalId, attribute],
});

const SUBSCRIPTION_TOPIC =
  'arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-abc';
const ENTITLEMENT_TOPIC = 'arn:aws:sns:us-east-1:287250355862:aws-mp-entitlement-notification-abc';
const WEBHOOK_URLS = 'https://app.example.com/marketplace/webhooks';
const WEBHOOK_SECRETS =
  '{{resolve:secretsmanager:marketplace-connector/webhook-secrets:SecretString}}';

/** Variables every function gets from the provider. */
const COMMON_ENV = ['NODE_ENV', 'STORE_BACKEND', 'TABLE_NAME', 'EVENT_RETENTION_DAYS', 'LOG_LEVEL'];
const METERING_ENV = [
  'METERING_DIMENSIONS',
  'METERING_ZERO_RECORDS',
  'METERING_RATE_PER_SECOND',
  'METERING_WINDOW_HOURS',
];
/** Every function that writes tries to deliver the events it wrote at once. */
const WEBHOOK_ENV = [
  'WEBHOOK_URLS',
  'WEBHOOK_SECRETS',
  'WEBHOOK_TIMEOUT_SECONDS',
  'WEBHOOK_RETRY_HORIZON_HOURS',
];

/** The most a role may hold on the table: item actions only (no Scan, no table-level actions). */
const DYNAMODB_READ = ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'];
const DYNAMODB_READ_WRITE = [
  ...DYNAMODB_READ,
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:ConditionCheckItem',
];

/** What each function is: its trigger aside, its code, the env it needs and the access it may have. */
const FUNCTIONS = {
  signup: {
    handler: 'functions/aws/signup.handler',
    env: [
      'AWS_PRODUCT_CODE',
      'ONBOARDING_URL',
      'HANDOFF_SECRET',
      'HANDOFF_TTL_SECONDS',
      ...WEBHOOK_ENV,
    ],
    marketplace: ['aws-marketplace:ResolveCustomer'],
    tableWrites: true,
    sqs: false,
  },
  notifications: {
    handler: 'functions/aws/notifications.handler',
    env: ['AWS_PRODUCT_CODE', 'SNS_TOPIC_ARNS', ...METERING_ENV, ...WEBHOOK_ENV],
    marketplace: ['aws-marketplace:BatchMeterUsage', 'aws-marketplace:GetEntitlements'],
    tableWrites: true,
    sqs: true,
  },
  metering: {
    handler: 'functions/aws/metering.handler',
    env: ['AWS_PRODUCT_CODE', ...METERING_ENV, ...WEBHOOK_ENV],
    marketplace: ['aws-marketplace:BatchMeterUsage'],
    tableWrites: true,
    sqs: false,
  },
  health: {
    handler: 'functions/aws/health.handler',
    env: [],
    marketplace: [],
    tableWrites: false,
    sqs: false,
  },
  vendorApi: {
    handler: 'functions/vendor/aws-api.handler',
    env: [
      'VENDOR_API_KEYS',
      'MAX_REQUEST_BYTES',
      'METERING_DIMENSIONS',
      'METERING_WINDOW_HOURS',
      ...WEBHOOK_ENV,
    ],
    marketplace: [],
    tableWrites: true,
    sqs: false,
  },
  webhooks: {
    handler: 'functions/vendor/aws-webhooks.handler',
    env: [...WEBHOOK_ENV],
    marketplace: [],
    tableWrites: true,
    sqs: false,
  },
  retention: {
    handler: 'functions/vendor/aws-retention.handler',
    env: ['PERSONAL_DATA_RETENTION_DAYS'],
    marketplace: [],
    tableWrites: true,
    sqs: false,
  },
} as const;
type FunctionName = keyof typeof FUNCTIONS;
const FUNCTION_NAMES = Object.keys(FUNCTIONS) as FunctionName[];

/** serverless's logical id prefix: `signup` -> `Signup`. */
const pascal = (name: string) => name.charAt(0).toUpperCase() + name.slice(1);

// --- CloudFormation conditions, resolved as CloudFormation would for these literal inputs ---

const NO_VALUE = Symbol('AWS::NoValue');

const evaluateCondition = (conditions: Record<string, unknown>, node: unknown): boolean => {
  const [[fn, args] = []] = Object.entries((node ?? {}) as Record<string, unknown>);
  const list = (args ?? []) as unknown[];
  switch (fn) {
    case 'Fn::Equals': {
      const [a, b] = list;
      if (typeof a !== 'string' || typeof b !== 'string') break;
      return a === b;
    }
    case 'Fn::Not':
      return !evaluateCondition(conditions, list[0]);
    case 'Fn::And':
      return list.every((item) => evaluateCondition(conditions, item));
    case 'Fn::Or':
      return list.some((item) => evaluateCondition(conditions, item));
    case 'Condition':
      return evaluateCondition(conditions, conditions[args as string]);
  }
  throw new Error(`cannot evaluate the condition ${JSON.stringify(node)}`);
};

/** The resources CloudFormation would create: conditions applied, Fn::If and AWS::NoValue resolved. */
const deployedResources = (template: Template): Record<string, Resource> => {
  const conditions = template.Conditions ?? {};
  const holds = (name: string) => {
    if (!(name in conditions)) throw new Error(`unknown condition ${name}`);
    return evaluateCondition(conditions, conditions[name]);
  };
  const resolve = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(resolve).filter((item) => item !== NO_VALUE);
    if (node === null || typeof node !== 'object') return node;
    const object = node as Record<string, unknown>;
    if (object.Ref === 'AWS::NoValue') return NO_VALUE;
    if ('Fn::If' in object) {
      const [name, whenTrue, whenFalse] = object['Fn::If'] as [string, unknown, unknown];
      return resolve(holds(name) ? whenTrue : whenFalse);
    }
    return Object.fromEntries(
      Object.entries(object)
        .map(([key, value]) => [key, resolve(value)] as const)
        .filter(([, value]) => value !== NO_VALUE),
    );
  };
  return Object.fromEntries(
    Object.entries(template.Resources)
      .filter(([, resource]) => resource.Condition === undefined || holds(resource.Condition))
      .map(([id, resource]) => [id, resolve(resource) as Resource]),
  );
};

// --- zip central directory: entry names and unzipped sizes, no dependency ---

const zipEntries = (zip: Buffer): { name: string; bytes: number }[] => {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error('not a zip');
  const entries: { name: string; bytes: number }[] = [];
  let at = zip.readUInt32LE(end + 16);
  for (let i = zip.readUInt16LE(end + 10); i > 0; i -= 1) {
    const nameBytes = zip.readUInt16LE(at + 28);
    entries.push({
      name: zip.toString('utf8', at + 46, at + 46 + nameBytes),
      bytes: zip.readUInt32LE(at + 24),
    });
    at += 46 + nameBytes + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return entries;
};

// --- the DynamoDB actions the store's code sends, to hold the roles to them ---

const COMMAND_ACTIONS: Record<string, string[]> = {
  Get: ['dynamodb:GetItem'],
  BatchGet: ['dynamodb:BatchGetItem'],
  Query: ['dynamodb:Query'],
  Scan: ['dynamodb:Scan'],
  Put: ['dynamodb:PutItem'],
  Update: ['dynamodb:UpdateItem'],
  Delete: ['dynamodb:DeleteItem'],
  BatchWrite: ['dynamodb:BatchWriteItem'],
  TransactGet: ['dynamodb:GetItem'],
  TransactWrite: [], // IAM checks each item: see TRANSACT_ITEM_ACTIONS
};
const TRANSACT_ITEM_ACTIONS: Record<string, string> = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
};

/** Scans the store adapter (table.ts is local set-up only) for the commands it sends. */
const storeDynamoDbActions = (): string[] => {
  const dir = join(root, 'shared/adapters/dynamodb');
  const actions = new Set<string>();
  for (const file of readdirSync(dir)) {
    if (!file.endsWith('.ts') || file.endsWith('.test.ts') || file === 'table.ts') continue;
    const source = readFileSync(join(dir, file), 'utf8');
    for (const [, command = ''] of source.matchAll(/new (\w+?)(?:Item)?Command\(/g)) {
      const mapped = COMMAND_ACTIONS[command];
      if (!mapped) throw new Error(`${file} sends ${command}Command: map it to its IAM action`);
      mapped.forEach((action) => actions.add(action));
    }
    if (source.includes('TransactWriteCommand')) {
      for (const [, kind = ''] of source.matchAll(/\b(Put|Update|Delete|ConditionCheck): \{/g)) {
        actions.add(TRANSACT_ITEM_ACTIONS[kind]!);
      }
    }
  }
  return [...actions].sort();
};

// --- packaging ---

const packageService = async (out: string, params: string[] = []): Promise<Template> => {
  await promisify(execFile)(
    'npx',
    ['serverless', 'package', '--package', out, ...params.map((param) => `--param=${param}`)],
    {
      cwd: root,
      env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
      timeout: 120_000,
    },
  );
  return JSON.parse(
    readFileSync(join(out, 'cloudformation-template-update-stack.json'), 'utf8'),
  ) as Template;
};

describe('serverless package', () => {
  const out = mkdtempSync(join(tmpdir(), 'sls-'));
  const defaultOut = join(out, 'default');
  let resources: Record<string, Resource>;
  let withSubscriptionTopic: Record<string, Resource>;
  let withBothTopics: Record<string, Resource>;

  const ofType = (from: Record<string, Resource>, type: string) =>
    Object.entries(from).filter(([, resource]) => resource.Type === type);
  const fnOf = (name: FunctionName, from = resources) => from[`${pascal(name)}LambdaFunction`]!;
  const env = (name: FunctionName, from = resources) =>
    (fnOf(name, from).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  const statementsOf = (name: FunctionName): Statement[] => {
    const [roleId] = (fnOf(name).Properties.Role as { 'Fn::GetAtt': [string, string] })[
      'Fn::GetAtt'
    ];
    const role = resources[roleId]!;
    expect(role.Type).toBe('AWS::IAM::Role');
    return (role.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[]).flatMap(
      (policy) => policy.PolicyDocument.Statement,
    );
  };
  const actionsOf = (statements: Statement[], prefix: string) =>
    statements
      .flatMap((statement) => asList(statement.Action))
      .filter((action) => action.startsWith(prefix))
      .sort();
  const queuePolicyStatements = (from: Record<string, Resource>) => {
    const policies = ofType(from, 'AWS::SQS::QueuePolicy');
    expect(policies).toHaveLength(1);
    const [[, policy]] = policies as [[string, Resource]];
    expect(policy.Properties.Queues).toEqual([{ Ref: 'NotificationsQueue' }]);
    return (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
  };
  const snsSubscriptions = (from: Record<string, Resource>) =>
    ofType(from, 'AWS::SNS::Subscription').map(([, subscription]) => subscription.Properties);
  const snsSubscription = (topicArn: string) => ({
    TopicArn: topicArn,
    Protocol: 'sqs',
    Endpoint: getAtt('NotificationsQueue'),
    Region: 'us-east-1',
    // The envelope stays: the function verifies its SNS signature.
    RawMessageDelivery: false,
  });
  const snsStatement = (topicArn: string) =>
    expect.objectContaining({
      Effect: 'Allow',
      Principal: { Service: 'sns.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: getAtt('NotificationsQueue'),
      Condition: { ArnEquals: { 'aws:SourceArn': topicArn } },
    });

  beforeAll(async () => {
    // One at a time: serverless-esbuild builds in the service's own .esbuild directory.
    resources = deployedResources(await packageService(defaultOut));
    withSubscriptionTopic = deployedResources(
      await packageService(join(out, 'subscription-topic'), [
        `snsSubscriptionTopicArn=${SUBSCRIPTION_TOPIC}`,
      ]),
    );
    withBothTopics = deployedResources(
      await packageService(join(out, 'both-topics'), [
        `snsSubscriptionTopicArn=${SUBSCRIPTION_TOPIC}`,
        `snsEntitlementTopicArn=${ENTITLEMENT_TOPIC}`,
        'productCode=abc',
        'productId=prod-abc',
        `webhookUrls=${WEBHOOK_URLS}`,
        `webhookSecrets=${WEBHOOK_SECRETS}`,
      ]),
    );
  }, 360_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('declares the table exactly as the DynamoDB adapter defines it', () => {
    const table = resources.StateTable!;
    const expected = tableDefinition('ignored');
    expect(table.Type).toBe('AWS::DynamoDB::Table');
    const props = table.Properties as Record<string, never>;
    const byName = (a: { AttributeName?: string }) => a.AttributeName ?? '';
    expect(bySorted(props.AttributeDefinitions, byName)).toEqual(
      bySorted(expected.AttributeDefinitions, byName),
    );
    expect(props.KeySchema).toEqual(expected.KeySchema);
    expect(
      bySorted(props.GlobalSecondaryIndexes, (i: { IndexName?: string }) => i.IndexName ?? ''),
    ).toEqual(bySorted(expected.GlobalSecondaryIndexes, (i) => i.IndexName ?? ''));
    expect(props.BillingMode).toBe('PAY_PER_REQUEST');
    expect(props.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(props.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
  });

  it('runs every function on nodejs22.x with only variables the code reads', () => {
    const functions = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThan(0);
    for (const fn of functions) {
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> })
        .Variables;
      expect(variables.STORE_BACKEND).toBe('dynamodb');
      for (const name of Object.keys(variables).filter((n) => n !== 'NODE_ENV')) {
        expect(ENV_VAR_NAMES).toContain(name);
      }
    }
  });

  it('deploys exactly the seven AWS functions, each with its handler', () => {
    expect(FUNCTION_NAMES).toHaveLength(7);
    const handlers = ofType(resources, 'AWS::Lambda::Function').map(
      ([, resource]) => resource.Properties.Handler,
    );
    expect(handlers.sort()).toEqual(FUNCTION_NAMES.map((name) => FUNCTIONS[name].handler).sort());
    for (const name of FUNCTION_NAMES) {
      expect(fnOf(name).Properties.Handler).toBe(FUNCTIONS[name].handler);
      expect(fnOf(name).Properties.Runtime).toBe('nodejs22.x');
    }
  });

  it("gives each function the variables it needs and no other function's", () => {
    for (const name of FUNCTION_NAMES) {
      expect([name, Object.keys(env(name)).sort()]).toEqual([
        name,
        [...COMMON_ENV, ...FUNCTIONS[name].env].sort(),
      ]);
      expect(env(name).TABLE_NAME).toEqual({ Ref: 'StateTable' });
      expect(env(name).NODE_ENV).toBe('production');
    }
    // Blank until given: the functions then refuse to start, naming the variable.
    expect(env('signup').AWS_PRODUCT_CODE).toBe('');
    expect(env('signup').HANDOFF_SECRET).toBe('');
    expect(env('vendorApi').VENDOR_API_KEYS).toBe('');
    for (const name of ['signup', 'notifications', 'metering'] as const) {
      expect(env(name, withBothTopics).AWS_PRODUCT_CODE).toBe('abc');
    }
  });

  it('gives every function that writes the same webhook settings, and the others none', () => {
    const senders = FUNCTION_NAMES.filter((name) =>
      (FUNCTIONS[name].env as readonly string[]).includes('WEBHOOK_URLS'),
    );
    expect(senders.sort()).toEqual(
      ['metering', 'notifications', 'signup', 'vendorApi', 'webhooks'].sort(),
    );
    for (const name of senders) {
      // Without webhookUrls, events wait in the outbox for the vendor API.
      expect([name, env(name).WEBHOOK_URLS, env(name).WEBHOOK_SECRETS]).toEqual([name, '', '']);
      expect([
        name,
        env(name, withBothTopics).WEBHOOK_URLS,
        env(name, withBothTopics).WEBHOOK_SECRETS,
      ]).toEqual([name, WEBHOOK_URLS, WEBHOOK_SECRETS]);
    }
    // Health and retention never send a webhook, so they never hold the signing secrets.
    for (const name of FUNCTION_NAMES.filter((n) => !senders.includes(n))) {
      expect([name, Object.keys(env(name)).filter((key) => key.startsWith('WEBHOOK_'))]).toEqual([
        name,
        [],
      ]);
    }
  });

  it('sets optional variables to the defaults the code documents', () => {
    for (const name of FUNCTION_NAMES) {
      for (const [variable, value] of Object.entries(env(name))) {
        const spec = ENV_VARS[variable as keyof typeof ENV_VARS] as
          { defaultValue: string | null } | undefined;
        const literal = /^`([^`]*)`$/.exec(spec?.defaultValue ?? '')?.[1];
        if (literal !== undefined) expect([variable, value]).toEqual([variable, literal]);
      }
    }
  });

  it('routes POST /signup, GET /health and /v1/... on the HTTP API to their functions', () => {
    const routes = Object.fromEntries(
      ofType(resources, 'AWS::ApiGatewayV2::Route').map(([, route]) => {
        const target = route.Properties.Target as {
          'Fn::Join': [string, [string, { Ref: string }]];
        };
        const integration = resources[target['Fn::Join'][1][1].Ref]!;
        expect(integration.Properties.PayloadFormatVersion).toBe('2.0');
        return [route.Properties.RouteKey, integration.Properties.IntegrationUri];
      }),
    );
    expect(routes).toEqual({
      'POST /signup': getAtt('SignupLambdaFunction'),
      'GET /health': getAtt('HealthLambdaFunction'),
      // Every method: the vendor API routes and answers 404 / 405 itself, after the API key.
      'ANY /v1/{proxy+}': getAtt('VendorApiLambdaFunction'),
    });
  });

  it('leaves each function that writes room to try its webhooks at once', () => {
    const webhookTimeoutSeconds = Number(
      /^`(\d+)`$/.exec(ENV_VARS.WEBHOOK_TIMEOUT_SECONDS.defaultValue)?.[1],
    );
    const timeoutOf = (name: FunctionName) => fnOf(name).Properties.Timeout as number;
    // Behind the HTTP API, which gives up after 30 s: the write, then one attempt per endpoint.
    for (const name of ['signup', 'vendorApi'] as const) {
      expect([name, timeoutOf(name)]).toEqual([name, expect.any(Number)]);
      expect(timeoutOf(name)).toBeLessThan(30);
      expect(timeoutOf(name)).toBeGreaterThanOrEqual(2 * webhookTimeoutSeconds);
    }
    // A batch of ten records, one after the other, each write followed by its attempt.
    expect(timeoutOf('notifications')).toBeGreaterThanOrEqual(10 * (webhookTimeoutSeconds + 1));
  });

  it('feeds notifications from NotificationsQueue in batches of 10 with partial failures', () => {
    const mappings = ofType(resources, 'AWS::Lambda::EventSourceMapping').map(([, m]) => m);
    expect(mappings).toHaveLength(1);
    expect(mappings[0]!.Properties).toMatchObject({
      EventSourceArn: getAtt('NotificationsQueue'),
      FunctionName: getAtt('NotificationsLambdaFunction'),
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('parks a message that keeps failing in the dead-letter queue for 14 days', () => {
    const queue = resources.NotificationsQueue!;
    const deadLetters = resources.NotificationsDeadLetterQueue!;
    expect(queue.Type).toBe('AWS::SQS::Queue');
    expect(deadLetters.Type).toBe('AWS::SQS::Queue');
    expect(queue.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: getAtt('NotificationsDeadLetterQueue'),
      maxReceiveCount: 5,
    });
    expect(deadLetters.Properties.MessageRetentionPeriod).toBe(14 * 24 * 60 * 60);
    // AWS's advice for an SQS event source: at least 6 x the function timeout.
    const timeoutSeconds = fnOf('notifications').Properties.Timeout as number;
    expect(timeoutSeconds).toBeGreaterThan(0);
    expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeoutSeconds);
  });

  it('alarms on a parked notification and on usage hours about to leave the window', () => {
    const alarms = ofType(resources, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);
    expect(alarms).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [
            { Name: 'QueueName', Value: getAtt('NotificationsDeadLetterQueue', 'QueueName') },
          ],
          ComparisonOperator: 'GreaterThanThreshold',
          Threshold: 0,
        }),
        expect.objectContaining({
          Namespace: METRIC_NAMESPACE,
          MetricName: 'UsageHoursNearWindowEnd',
          Dimensions: [{ Name: 'Function', Value: 'aws-metering' }],
          ComparisonOperator: 'GreaterThanThreshold',
          Threshold: 0,
        }),
      ]),
    );
  });

  it("sends this product's license events from the default bus to NotificationsQueue", () => {
    const rules = (from: Record<string, Resource>) =>
      ofType(from, 'AWS::Events::Rule')
        .map(([id, rule]) => [id, rule.Properties] as const)
        .filter(([, props]) => props.EventPattern !== undefined);
    const pattern = (productId: string) => ({
      source: ['aws.agreement-marketplace'],
      'detail-type': [
        'License Updated - Manufacturer',
        'License Updated - Proposer',
        'License Deprovisioned - Manufacturer',
        'License Deprovisioned - Proposer',
      ],
      detail: { product: { id: [productId] } },
    });
    const [[ruleId, props]] = rules(resources) as [[string, Record<string, unknown>]];
    expect(rules(resources)).toHaveLength(1);
    expect(props.EventBusName ?? 'default').toBe('default');
    expect(props.State).toBe('ENABLED');
    expect(props.EventPattern).toEqual(pattern(''));
    expect(props.Targets).toEqual([expect.objectContaining({ Arn: getAtt('NotificationsQueue') })]);
    expect(rules(withBothTopics)[0]?.[1].EventPattern).toEqual(pattern('prod-abc'));

    // Only that rule may send to the queue, and (by default) nothing else may.
    expect(queuePolicyStatements(resources)).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: getAtt('NotificationsQueue'),
        Condition: { ArnEquals: { 'aws:SourceArn': getAtt(ruleId) } },
      }),
    ]);
  });

  it('subscribes the legacy SNS topics only when they are given', () => {
    expect(snsSubscriptions(resources)).toEqual([]);
    expect(env('notifications').SNS_TOPIC_ARNS).toBe('');

    expect(snsSubscriptions(withSubscriptionTopic)).toEqual([snsSubscription(SUBSCRIPTION_TOPIC)]);
    expect(env('notifications', withSubscriptionTopic).SNS_TOPIC_ARNS).toBe(SUBSCRIPTION_TOPIC);
    const oneTopic = queuePolicyStatements(withSubscriptionTopic);
    expect(oneTopic).toHaveLength(2);
    expect(oneTopic).toContainEqual(snsStatement(SUBSCRIPTION_TOPIC));

    expect(snsSubscriptions(withBothTopics)).toEqual([
      snsSubscription(SUBSCRIPTION_TOPIC),
      snsSubscription(ENTITLEMENT_TOPIC),
    ]);
    expect(env('notifications', withBothTopics).SNS_TOPIC_ARNS).toBe(
      `${SUBSCRIPTION_TOPIC},${ENTITLEMENT_TOPIC}`,
    );
    const bothTopics = queuePolicyStatements(withBothTopics);
    expect(bothTopics).toHaveLength(3);
    expect(bothTopics).toContainEqual(snsStatement(SUBSCRIPTION_TOPIC));
    expect(bothTopics).toContainEqual(snsStatement(ENTITLEMENT_TOPIC));
  });

  /** The schedule rule that invokes `name`, with the permission that lets it. */
  const scheduleOf = (name: FunctionName) => {
    const arn = getAtt(`${pascal(name)}LambdaFunction`);
    const schedules = ofType(resources, 'AWS::Events::Rule').filter(
      ([, rule]) =>
        rule.Properties.ScheduleExpression !== undefined &&
        JSON.stringify(rule.Properties.Targets).includes(JSON.stringify(arn)),
    );
    expect([name, schedules.length]).toEqual([name, 1]);
    const [[scheduleId, schedule]] = schedules as [[string, Resource]];
    expect(schedule.Properties.Targets).toEqual([expect.objectContaining({ Arn: arn })]);
    expect(
      ofType(resources, 'AWS::Lambda::Permission').map(([, permission]) => permission.Properties),
    ).toContainEqual(
      expect.objectContaining({
        FunctionName: arn,
        Principal: 'events.amazonaws.com',
        SourceArn: getAtt(scheduleId),
      }),
    );
    return schedule.Properties.ScheduleExpression as string;
  };

  it('schedules metering, webhooks and retention, and nothing else', () => {
    const schedules = ofType(resources, 'AWS::Events::Rule').filter(
      ([, rule]) => rule.Properties.ScheduleExpression !== undefined,
    );
    expect(schedules).toHaveLength(3);
  });

  it('meters once an hour, a few minutes past it, in runs that never overlap', () => {
    const minute = /^cron\((\d+) \* \* \* \? \*\)$/.exec(scheduleOf('metering'))?.[1];
    expect(Number(minute)).toBeGreaterThanOrEqual(1);
    expect(Number(minute)).toBeLessThanOrEqual(15);
    expect(fnOf('metering').Properties.Timeout).toBe(900);
    expect(fnOf('metering').Properties.ReservedConcurrentExecutions).toBe(1);
  });

  it('delivers webhooks every minute, one run at a time, dropping ticks a run outlasts', () => {
    expect(scheduleOf('webhooks')).toBe('rate(1 minute)');
    expect(fnOf('webhooks').Properties.ReservedConcurrentExecutions).toBe(1);
    // A run stops claiming after 45 s; the batch under way (ten events of one purchase, one after
    // the other, each up to the 60 s WEBHOOK_TIMEOUT_SECONDS allows) must still finish.
    expect(fnOf('webhooks').Properties.Timeout).toBeGreaterThanOrEqual(45 + 10 * 60);
    // A throttled tick would otherwise wait in Lambda's queue for hours, then run in a burst.
    const configs = ofType(resources, 'AWS::Lambda::EventInvokeConfig')
      .map(([, config]) => config.Properties)
      .filter((props) => JSON.stringify(props.FunctionName).includes('Webhooks'));
    expect(configs).toEqual([
      expect.objectContaining({ MaximumEventAgeInSeconds: 60, MaximumRetryAttempts: 0 }),
    ]);
  });

  it('purges personal data once a day, at a quiet hour UTC, in runs that never overlap', () => {
    expect(scheduleOf('retention')).toMatch(/^cron\(\d{1,2} \d{1,2} \* \* \? \*\)$/);
    expect(fnOf('retention').Properties.Timeout).toBe(900);
    expect(fnOf('retention').Properties.ReservedConcurrentExecutions).toBe(1);
  });

  it('gives each function its own role and nothing else grants permissions', () => {
    expect(resources.IamRoleLambdaExecution).toBeUndefined();
    expect(ofType(resources, 'AWS::IAM::Policy')).toEqual([]);
    expect(ofType(resources, 'AWS::IAM::ManagedPolicy')).toEqual([]);
    const roles = FUNCTION_NAMES.map((name) => fnOf(name).Properties.Role);
    expect(new Set(roles.map((role) => JSON.stringify(role))).size).toBe(FUNCTION_NAMES.length);
    for (const role of roles) {
      const [roleId] = (role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
      const props = resources[roleId]!.Properties;
      expect(props.ManagedPolicyArns).toBeUndefined();
      expect(props.AssumeRolePolicyDocument).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'lambda.amazonaws.com' },
            Action: 'sts:AssumeRole',
          },
        ],
      });
    }
  });

  it.each(FUNCTION_NAMES)('grants %s only what it needs', (name) => {
    const spec = FUNCTIONS[name];
    const statements = statementsOf(name);
    const tableAndIndexes = [
      getAtt('StateTable'),
      { 'Fn::Join': ['/', [getAtt('StateTable'), 'index', '*']] },
    ];
    for (const statement of statements) {
      expect(statement.Effect).toBe('Allow');
      const actions = asList(statement.Action);
      // No wildcard actions, and one service per statement.
      for (const action of actions) expect(action).not.toContain('*');
      const services = new Set(actions.map((action) => action.split(':')[0]));
      expect(services.size).toBe(1);
      const [service] = [...services];
      switch (service) {
        case 'aws-marketplace':
          // Marketplace actions support no resource-level permissions.
          expect(statement.Resource).toBe('*');
          break;
        case 'dynamodb':
          expect(asList(statement.Resource)).toEqual(tableAndIndexes);
          break;
        case 'logs':
          expect(actions.sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
          expect(statement.Resource).toEqual(getAtt(`${pascal(name)}LogGroup`));
          break;
        case 'sqs':
          expect(statement.Resource).toEqual(getAtt('NotificationsQueue'));
          break;
        default:
          throw new Error(`${name} is granted ${actions.join(', ')}`);
      }
    }

    expect(actionsOf(statements, 'aws-marketplace:')).toEqual([...spec.marketplace].sort());
    expect(actionsOf(statements, 'sqs:')).toEqual(
      spec.sqs
        ? [
            'sqs:ChangeMessageVisibility',
            'sqs:DeleteMessage',
            'sqs:GetQueueAttributes',
            'sqs:ReceiveMessage',
          ]
        : [],
    );
    const logGroup = resources[`${pascal(name)}LogGroup`]!;
    expect(logGroup.Properties.LogGroupName).toBe(
      `/aws/lambda/${fnOf(name).Properties.FunctionName}`,
    );

    const dynamodb = actionsOf(statements, 'dynamodb:');
    const allowed = spec.tableWrites ? DYNAMODB_READ_WRITE : DYNAMODB_READ;
    for (const action of dynamodb) expect(allowed).toContain(action);
    if (spec.tableWrites) {
      // Every action the store sends is granted (DynamoDB Local checks no IAM; AWS would refuse).
      for (const action of storeDynamoDbActions()) expect(dynamodb).toContain(action);
    } else {
      expect(dynamodb).toContain('dynamodb:GetItem');
    }
  });

  it('packages each function as its own artifact holding only its bundle, under 1 MB unzipped', () => {
    const zips = readdirSync(defaultOut)
      .filter((file) => file.endsWith('.zip'))
      .sort();
    expect(zips).toEqual(FUNCTION_NAMES.map((name) => `${name}.zip`).sort());
    for (const name of FUNCTION_NAMES) {
      const code = fnOf(name).Properties.Code as { S3Key: string };
      expect(code.S3Key.endsWith(`/${name}.zip`)).toBe(true);
      const entries = zipEntries(readFileSync(join(defaultOut, `${name}.zip`)));
      const bundle = FUNCTIONS[name].handler.replace(/\.handler$/, '.js');
      expect(entries.map((entry) => entry.name)).toEqual([bundle]);
      expect(entries[0]!.bytes).toBeGreaterThan(0);
      expect(entries[0]!.bytes).toBeLessThan(1_000_000);
    }
  });
});
