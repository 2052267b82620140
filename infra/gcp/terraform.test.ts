import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { GCP_FUNCTIONS } from '../../functions/gcp/manifest';
import { FIRESTORE_INDEXES } from '../../shared/adapters/firestore/firestore-indexes';
import { ENV_VARS } from '../../shared/config/env';
import type { EnvVarName } from '../../shared/config/env';
import { buildGcpFunctions } from './build';

// Required, not imported: the package's typings reference the DOM lib, which would then apply to
// the whole program's type-check.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parse } = require('@cdktf/hcl2json') as {
  parse: (filename: string, contents: string) => Promise<Record<string, unknown>>;
};

/** A block as hcl2json renders it: attributes are values, nested blocks are arrays of blocks. */
type Block = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Terraform {
  readonly resources: Record<string, Record<string, Block>>;
  readonly data: Record<string, Record<string, Block>>;
  readonly variables: Record<string, Block>;
  readonly locals: Block;
  readonly outputs: Record<string, Block>;
  readonly terraform: Block;
  /** Every .tf file's text, for reference scans. */
  readonly text: string;
}

const dir = __dirname;
/** hcl2json renders an expression as a template string. */
const expr = (expression: string) => `\${${expression}}`;

const loadTerraform = async (): Promise<Terraform> => {
  const files = readdirSync(dir).filter((file) => file.endsWith('.tf'));
  const texts = files.map((file) => readFileSync(join(dir, file), 'utf8'));
  const parsed = await Promise.all(files.map((file, i) => parse(file, texts[i]!)));
  const resources: Record<string, Record<string, Block>> = {};
  const data: Record<string, Record<string, Block>> = {};
  const variables: Record<string, Block> = {};
  const outputs: Record<string, Block> = {};
  const locals: Block = {};
  let terraform: Block = {};
  const addUnique = (target: Record<string, Block>, name: string, block: Block, what: string) => {
    if (name in target) throw new Error(`${what} ${name} is declared twice`);
    target[name] = block;
  };
  for (const file of parsed as Block[]) {
    for (const [kind, into] of [
      ['resource', resources],
      ['data', data],
    ] as const) {
      for (const [type, byName] of Object.entries<Record<string, Block[]>>(file[kind] ?? {})) {
        into[type] ??= {};
        for (const [name, [block]] of Object.entries(byName)) {
          addUnique(into[type]!, name, block!, `${kind} ${type}`);
        }
      }
    }
    for (const [name, [block]] of Object.entries<Block[]>(file.variable ?? {})) {
      addUnique(variables, name, block!, 'variable');
    }
    for (const [name, [block]] of Object.entries<Block[]>(file.output ?? {})) {
      addUnique(outputs, name, block!, 'output');
    }
    for (const block of (file.locals ?? []) as Block[]) {
      for (const [name, value] of Object.entries(block)) addUnique(locals, name, value, 'local');
    }
    if (file.terraform) terraform = (file.terraform as Block[])[0]!;
  }
  return { resources, data, variables, locals, outputs, terraform, text: texts.join('\n') };
};

const sortedKeys = (value: object) => Object.keys(value).sort();
const byJson = <T>(items: readonly T[]) =>
  [...items].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

/** Left unset on purpose: the code's defaults are Google's endpoints. */
const GOOGLE_ENDPOINT_VARS: readonly EnvVarName[] = [
  'PROCUREMENT_API_URL',
  'SERVICE_CONTROL_API_URL',
  'GOOGLE_CERTS_URL',
];

/** What a deployment would put in each variable Terraform sets; the keys come from the .tf files. */
const SAMPLE_VALUES: Partial<Record<EnvVarName | 'NODE_ENV', string>> = {
  NODE_ENV: 'production',
  STORE_BACKEND: 'firestore',
  FIRESTORE_PROJECT_ID: 'listing-project',
  FIRESTORE_DATABASE_ID: '(default)',
  EVENT_RETENTION_DAYS: '365',
  LOG_LEVEL: 'error',
  GCP_PROVIDER_ID: 'DEMO-listing-project',
  PUSH_AUDIENCE: 'https://us-central1-listing-project.cloudfunctions.net/mc-events',
  PUSH_SERVICE_ACCOUNT: 'mc-push@listing-project.iam.gserviceaccount.com',
  APPROVAL_POLICY: 'plans',
  APPROVAL_PLANS: 'basic,pro',
  SIGNUP_MESSAGE: 'Finish signing up at example.com.',
  PRODUCT_DOMAINS: 'example.com',
  ONBOARDING_URL: 'https://app.example.com/marketplace/welcome',
  HANDOFF_SECRET: 'a-handoff-secret-of-at-least-32-characters',
  HANDOFF_TTL_SECONDS: '300',
  USAGE_SERVICE_NAME: 'product.gcpmarketplace.example.com',
  USAGE_METRICS: '{"pro":{"requests":"product.gcpmarketplace.example.com/pro_requests"}}',
  SCHEDULER_AUDIENCE: 'https://us-central1-listing-project.cloudfunctions.net/mc-usage-report',
  SCHEDULER_SERVICE_ACCOUNT: 'mc-scheduler@listing-project.iam.gserviceaccount.com',
  WEBHOOK_URLS: 'https://app.example.com/marketplace/webhooks',
  WEBHOOK_SECRETS: 'a-webhook-secret-of-at-least-32-characters',
  WEBHOOK_TIMEOUT_SECONDS: '10',
  WEBHOOK_RETRY_HORIZON_HOURS: '72',
  VENDOR_API_KEYS: `app:read+usage:write:${'ab'.repeat(32)}`,
  MAX_REQUEST_BYTES: '1048576',
  PERSONAL_DATA_RETENTION_DAYS: '30',
};

/** Left out when no webhook URL is given: a blank env value is dropped, a null secret id too. */
const WEBHOOK_ONLY_VARS: readonly EnvVarName[] = ['WEBHOOK_URLS', 'WEBHOOK_SECRETS'];

/** The functions that write, and so deliver webhooks, by the manifest. */
const WEBHOOK_SENDERS = GCP_FUNCTIONS.filter((fn) => fn.env.includes('WEBHOOK_URLS')).map(
  (fn) => fn.name,
);

/** The functions Cloud Scheduler calls, the job that calls each, and how often. */
const SCHEDULED = [
  { fn: 'usage-report', job: 'usage_report', schedule: '0 * * * *', what: 'hourly' },
  { fn: 'webhooks', job: 'webhooks', schedule: '* * * * *', what: 'every minute' },
  { fn: 'retention', job: 'retention', schedule: '30 3 * * *', what: 'daily at 03:30' },
] as const;

/**
 * Cold-starts a bundle the way the runtime does (the installed Functions Framework requires it and
 * serves the entry point by name) in a process whose environment is exactly `env`, then sends one
 * request without credentials.
 */
const CALL_WITHOUT_CREDENTIALS = `
const { getTestServer } = require('@google-cloud/functions-framework/testing');
const [bundle, entryPoint, method, path] = process.argv.slice(1);
require(bundle);
const server = getTestServer(entryPoint).listen(0, async () => {
  const response = await fetch('http://127.0.0.1:' + server.address().port + path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: method === 'POST' ? '{}' : undefined,
  });
  console.log(JSON.stringify({ status: response.status }));
  server.close();
});
`;

describe('Terraform for Google Cloud (infra/gcp)', () => {
  let tf: Terraform;
  beforeAll(async () => {
    tf = await loadTerraform();
  });

  const fnLocals = (name: string) => tf.locals.functions[name] as Block;
  const envOf = (name: string) => fnLocals(name).env as Record<string, unknown>;
  const resource = (type: string, name: string) => {
    const block = tf.resources[type]?.[name];
    if (!block) throw new Error(`resource ${type}.${name} is missing`);
    return block;
  };

  describe('functions', () => {
    it('deploys exactly the manifest functions, one resource each, from dist/gcp/<name>', () => {
      const names = GCP_FUNCTIONS.map((fn) => fn.name).sort();
      expect(sortedKeys(tf.locals.functions)).toEqual(names);
      expect(sortedKeys(tf.locals.function_names)).toEqual(names);

      expect(sortedKeys(tf.resources.google_cloudfunctions2_function ?? {})).toEqual(['fn']);
      expect(tf.resources.google_cloudfunctions_function).toBeUndefined();
      expect(tf.resources.google_cloud_run_v2_service).toBeUndefined();
      const fn = resource('google_cloudfunctions2_function', 'fn');
      expect(fn.for_each).toBe(expr('local.functions'));
      expect(fn.name).toBe(expr('local.function_names[each.key]'));

      const archive = tf.data.archive_file?.source;
      expect(archive?.for_each).toBe(expr('local.function_names'));
      expect(archive?.source_dir).toBe(`${expr('local.dist_dir')}/${expr('each.key')}`);
      expect(tf.locals.dist_dir).toContain('/../../dist/gcp');
      expect(fn.build_config[0].source[0].storage_source[0].object).toBe(
        expr('google_storage_bucket_object.source[each.key].name'),
      );
    });

    it.each(GCP_FUNCTIONS.map((spec) => [spec.name, spec] as const))(
      'runs %s on nodejs22 from the first entry point it registers',
      (name, spec) => {
        const fn = resource('google_cloudfunctions2_function', 'fn');
        expect(fn.build_config[0].runtime).toBe('nodejs22');
        expect(fn.build_config[0].entry_point).toBe(expr('each.value.entry_point'));
        expect(fnLocals(name).entry_point).toBe(spec.entryPoints[0]);
      },
    );

    it.each(GCP_FUNCTIONS.map((spec) => [spec.name, spec] as const))(
      'gives %s exactly the manifest variables it sets, plus NODE_ENV',
      (name, spec) => {
        const env = envOf(name);
        const secretKeys = Object.keys(fnLocals(name).secret_env as object);
        const keys = [...Object.keys(env), ...secretKeys];

        expect(
          keys.filter((key) => key !== 'NODE_ENV' && !spec.env.includes(key as EnvVarName)),
        ).toEqual([]);
        const required = spec.env.filter((variable) => ENV_VARS[variable].defaultValue === null);
        expect(required.filter((variable) => !keys.includes(variable))).toEqual([]);
        expect(keys.filter((key) => GOOGLE_ENDPOINT_VARS.includes(key as EnvVarName))).toEqual([]);
        expect(new Set(keys).size).toBe(keys.length);
        expect(env.NODE_ENV).toBe('production');
        expect(env.STORE_BACKEND).toBe('firestore');
      },
    );

    it('passes each function its env map and secret env map', () => {
      const service = resource('google_cloudfunctions2_function', 'fn').service_config[0];
      // Blank values are dropped, which the code reads as unset anyway.
      expect(service.environment_variables).toBe(
        expr('{ for key, value in each.value.env : key => value if value != "" }'),
      );
      // A secret whose id is null (no webhook secret) is left out.
      const secrets = service.dynamic.secret_environment_variables[0];
      expect(secrets.for_each).toBe(
        expr('{ for key, value in each.value.secret_env : key => value if value.secret != null }'),
      );
      expect(secrets.content[0].key).toBe(expr('secret_environment_variables.key'));
      expect(service.service_account_email).toBe(
        expr('google_service_account.function[each.key].email'),
      );
    });

    it('hands signup its secret from Secret Manager, never as a value Terraform holds', () => {
      expect(fnLocals('signup').secret_env).toEqual({
        HANDOFF_SECRET: {
          secret: expr('var.handoff_secret_id'),
          version: expr('var.handoff_secret_version'),
        },
        WEBHOOK_SECRETS: expr('local.webhook_secret'),
      });
      for (const name of Object.keys(tf.locals.functions)) {
        expect(envOf(name)).not.toHaveProperty('HANDOFF_SECRET');
        expect(envOf(name)).not.toHaveProperty('WEBHOOK_SECRETS');
      }
      // A secret version resource would put the value in state.
      expect(tf.resources.google_secret_manager_secret_version).toBeUndefined();
      const access = resource('google_secret_manager_secret_iam_member', 'handoff');
      expect(access.secret_id).toBe(expr('var.handoff_secret_id'));
      expect(access.member).toBe(
        `serviceAccount:${expr('google_service_account.function["signup"].email')}`,
      );
    });
  });

  describe('webhooks', () => {
    it('gives every function that writes the same webhook settings, and no other function', () => {
      expect(WEBHOOK_SENDERS.sort()).toEqual(
        ['events', 'signup', 'usage-report', 'vendor-api', 'webhooks'].sort(),
      );
      for (const name of Object.keys(tf.locals.functions)) {
        const env = envOf(name);
        const secrets = fnLocals(name).secret_env as Record<string, unknown>;
        if (!WEBHOOK_SENDERS.includes(name)) {
          expect([name, Object.keys(env).filter((key) => key.startsWith('WEBHOOK_'))]).toEqual([
            name,
            [],
          ]);
          expect([name, secrets.WEBHOOK_SECRETS]).toEqual([name, undefined]);
          continue;
        }
        expect([name, env.WEBHOOK_URLS]).toEqual([name, expr('join(",", var.webhook_urls)')]);
        expect([name, env.WEBHOOK_TIMEOUT_SECONDS]).toEqual([
          name,
          expr('tostring(var.webhook_timeout_seconds)'),
        ]);
        expect([name, env.WEBHOOK_RETRY_HORIZON_HOURS]).toEqual([
          name,
          expr('tostring(var.webhook_retry_horizon_hours)'),
        ]);
        expect([name, secrets.WEBHOOK_SECRETS]).toEqual([name, expr('local.webhook_secret')]);
      }
    });

    it('reads the webhook secret from Secret Manager, and needs one only once URLs are given', () => {
      expect(tf.locals.webhook_secret).toEqual({
        secret: expr('var.webhook_secret_id'),
        version: expr('var.webhook_secret_version'),
      });
      expect(tf.variables.webhook_urls?.default).toEqual([]);
      expect(tf.variables.webhook_secret_id?.default).toBeNull();
      expect(tf.variables.webhook_secret_version?.default).toBe('latest');
      const preconditions = resource('google_cloudfunctions2_function', 'fn').lifecycle[0]
        .precondition as Block[];
      expect(preconditions.map((p) => p.condition)).toContain(
        expr('length(var.webhook_urls) == 0 || var.webhook_secret_id != null'),
      );
    });

    it('lets only the functions that sign webhooks read the webhook secret', () => {
      // Nobody without a secret; with one, each function whose secret_env names it.
      const readers = String(tf.locals.webhook_secret_readers).replace(/\s+/g, ' ');
      expect(readers).toBe(
        expr(
          'var.webhook_secret_id == null ? [] : [ for key, fn in local.functions : key if contains(keys(fn.secret_env), "WEBHOOK_SECRETS") ]',
        ),
      );
      const access = resource('google_secret_manager_secret_iam_member', 'webhook');
      expect(access).toMatchObject({
        for_each: expr('toset(local.webhook_secret_readers)'),
        secret_id: expr('var.webhook_secret_id'),
        role: 'roles/secretmanager.secretAccessor',
        member: `serviceAccount:${expr('google_service_account.function[each.key].email')}`,
      });
      // The functions start only once they may read it.
      expect(resource('google_cloudfunctions2_function', 'fn').depends_on).toContain(
        expr('google_secret_manager_secret_iam_member.webhook'),
      );
    });
  });

  describe('marketplace notifications', () => {
    it('subscribes to Google’s topic and pushes to events with an OIDC token', () => {
      const sub = resource('google_pubsub_subscription', 'marketplace');
      expect(sub.topic).toBe(expr('local.marketplace_topic'));
      expect(tf.locals.marketplace_topic).toContain('projects/cloudcommerceproc-prod/topics/');
      expect(sub.provider).toBe(expr('google.marketplace_subscriber'));

      const push = sub.push_config[0];
      const oidc = push.oidc_token[0];
      const eventsUrl = expr('local.function_urls["events"]');
      expect(push.push_endpoint).toBe(eventsUrl);
      expect(oidc.audience).toBe(eventsUrl);
      expect(oidc.service_account_email).toBe(expr('google_service_account.push.email'));
      // The function checks the token against exactly these.
      expect(envOf('events').PUSH_AUDIENCE).toBe(oidc.audience);
      expect(envOf('events').PUSH_SERVICE_ACCOUNT).toBe(oidc.service_account_email);
    });

    it('retries and then parks undeliverable messages in a dead-letter topic that keeps them', () => {
      const sub = resource('google_pubsub_subscription', 'marketplace');
      expect(sub.ack_deadline_seconds).toEqual(expect.any(Number));
      expect(sub.retry_policy[0]).toEqual({
        minimum_backoff: expect.any(String),
        maximum_backoff: expect.any(String),
      });
      const deadLetter = sub.dead_letter_policy[0];
      expect(deadLetter.dead_letter_topic).toBe(expr('google_pubsub_topic.dead_letter.id'));
      expect(deadLetter.max_delivery_attempts).toBe(expr('local.max_delivery_attempts'));
      expect(tf.locals.max_delivery_attempts).toBeGreaterThanOrEqual(5);
      expect(tf.locals.max_delivery_attempts).toBeLessThanOrEqual(100);
      expect(resource('google_pubsub_subscription', 'dead_letter').topic).toBe(
        expr('google_pubsub_topic.dead_letter.id'),
      );
    });

    it('gives the Pub/Sub service agent what pushing and dead-lettering need', () => {
      expect(tf.locals.pubsub_agent).toMatch(/@gcp-sa-pubsub\.iam\.gserviceaccount\.com$/);
      const agent = expr('local.pubsub_agent');
      expect(resource('google_pubsub_topic_iam_member', 'dead_letter_publisher')).toMatchObject({
        topic: expr('google_pubsub_topic.dead_letter.name'),
        role: 'roles/pubsub.publisher',
        member: agent,
      });
      expect(
        resource('google_pubsub_subscription_iam_member', 'dead_letter_subscriber'),
      ).toMatchObject({
        subscription: expr('google_pubsub_subscription.marketplace.name'),
        role: 'roles/pubsub.subscriber',
        member: agent,
      });
      expect(resource('google_service_account_iam_member', 'push_token_creator')).toMatchObject({
        service_account_id: expr('google_service_account.push.name'),
        role: 'roles/iam.serviceAccountTokenCreator',
        member: agent,
      });
    });
  });

  describe('scheduled runs', () => {
    it('schedules exactly the functions that check a scheduler token', () => {
      const checking = GCP_FUNCTIONS.filter((fn) => fn.env.includes('SCHEDULER_AUDIENCE'));
      expect(checking.map((fn) => fn.name).sort()).toEqual(SCHEDULED.map(({ fn }) => fn).sort());
      expect(sortedKeys(tf.resources.google_cloud_scheduler_job ?? {})).toEqual(
        SCHEDULED.map(({ job }) => job).sort(),
      );
    });

    it.each(SCHEDULED)('calls $fn $what, in UTC, with an OIDC token it checks', (spec) => {
      const job = resource('google_cloud_scheduler_job', spec.job);
      expect(job.schedule).toBe(spec.schedule);
      expect(job.time_zone).toBe('Etc/UTC');
      const target = job.http_target[0];
      const oidc = target.oidc_token[0];
      const url = expr(`local.function_urls["${spec.fn}"]`);
      expect(target.uri).toBe(url);
      expect(oidc.audience).toBe(url);
      expect(oidc.service_account_email).toBe(expr('google_service_account.scheduler.email'));
      expect(envOf(spec.fn).SCHEDULER_AUDIENCE).toBe(oidc.audience);
      expect(envOf(spec.fn).SCHEDULER_SERVICE_ACCOUNT).toBe(oidc.service_account_email);
      // The attempt outlives the run, so Cloud Scheduler does not cut a run short.
      const deadlineSeconds = Number(/^(\d+)s$/.exec(job.attempt_deadline)?.[1]);
      expect(deadlineSeconds).toBeGreaterThan(fnLocals(spec.fn).timeout_seconds);
      expect(deadlineSeconds).toBeLessThanOrEqual(1800);
      // One run at a time.
      expect(fnLocals(spec.fn).max_instances).toBe(1);
      expect(job.depends_on).toContain(
        expr(`google_cloud_run_v2_service_iam_member.${spec.job}_invoker`),
      );
    });

    it('does not retry a webhooks run: the next one a minute later does the same work', () => {
      expect(resource('google_cloud_scheduler_job', 'webhooks').retry_config[0].retry_count).toBe(
        0,
      );
    });

    it('lets a webhooks run finish the batch under way at the longest delivery timeout', () => {
      // A run stops claiming after 45 s; ten events of one purchase then go one after the other,
      // each up to the 60 s webhook_timeout_seconds allows.
      expect(tf.variables.webhook_timeout_seconds?.validation[0].condition).toContain(
        'var.webhook_timeout_seconds <= 60',
      );
      expect(fnLocals('webhooks').timeout_seconds).toBeGreaterThanOrEqual(45 + 10 * 60);
    });
  });

  describe('access', () => {
    /** Every IAM grant in the configuration, with the members it grants. */
    const grants = () =>
      Object.entries(tf.resources)
        .filter(([type]) => /_iam_(member|binding|policy)$/.test(type))
        .flatMap(([type, byName]) =>
          Object.entries(byName).map(([name, block]) => ({
            address: `${type}.${name}`,
            block,
            members: (block.members as string[] | undefined) ?? [block.member as string],
          })),
        );
    const invokersOf = (fn: string) =>
      grants()
        .filter(({ block }) =>
          [block.name, block.service, block.cloud_function].includes(
            expr(`google_cloudfunctions2_function.fn["${fn}"].name`),
          ),
        )
        .flatMap(({ members }) => members);

    it('lets only the push identity invoke events', () => {
      expect(invokersOf('events')).toEqual([
        `serviceAccount:${expr('google_service_account.push.email')}`,
      ]);
    });

    it.each(SCHEDULED.map(({ fn }) => fn))('lets only the scheduler identity invoke %s', (fn) => {
      expect(invokersOf(fn)).toEqual([
        `serviceAccount:${expr('google_service_account.scheduler.email')}`,
      ]);
    });

    it('makes signup and the vendor API, and nothing else, public', () => {
      // Both authenticate each request themselves: Google's signup JWT, an API key.
      expect(invokersOf('signup')).toEqual(['allUsers']);
      expect(invokersOf('vendor-api')).toEqual(['allUsers']);
      const publicGrants = grants().filter(({ members }) =>
        members.some((member) => member === 'allUsers' || member === 'allAuthenticatedUsers'),
      );
      expect(publicGrants.map(({ address }) => address).sort()).toEqual([
        'google_cloud_run_v2_service_iam_member.signup_public',
        'google_cloud_run_v2_service_iam_member.vendor_api_public',
      ]);
      // A project-wide invoker grant would reach every function.
      const projectInvokers = Object.values(tf.resources.google_project_iam_member ?? {}).filter(
        (block) => /invoker/.test(String(block.role)),
      );
      expect(projectInvokers).toEqual([]);
    });

    it('grants each function account only its own roles', () => {
      expect(resource('google_project_iam_member', 'function_firestore')).toMatchObject({
        for_each: expr('local.function_names'),
        role: 'roles/datastore.user',
      });
      // Only events and signup call Procurement, and only signup approves accounts.
      expect(sortedKeys(tf.locals.procurement_permissions)).toEqual(['events', 'signup']);
      expect(tf.locals.procurement_entitlement_permissions).toEqual([
        'commerceprocurement.providerEntitlements.get',
        'commerceprocurement.providerEntitlements.list',
        'commerceprocurement.providerEntitlements.approve',
        'commerceprocurement.providerEntitlements.reject',
        'commerceprocurement.providerEntitlements.update',
      ]);
      const accountPermissions = (fn: string) =>
        [...String(tf.locals.procurement_permissions[fn]).matchAll(/providerAccounts\.\w+/g)].map(
          (m) => m[0],
        );
      expect(accountPermissions('events')).toEqual(['providerAccounts.get']);
      expect(accountPermissions('signup')).toEqual([
        'providerAccounts.get',
        'providerAccounts.approve',
      ]);
      const role = resource('google_project_iam_custom_role', 'procurement');
      expect(role.for_each).toBe(
        expr('var.grant_procurement_roles ? local.procurement_permissions : {}'),
      );
      expect(role.permissions).toBe(expr('each.value'));
      expect(resource('google_project_iam_member', 'procurement')).toMatchObject({
        for_each: role.for_each,
        role: expr('google_project_iam_custom_role.procurement[each.key].name'),
        member: `serviceAccount:${expr('google_service_account.function[each.key].email')}`,
      });
      expect(resource('google_endpoints_service_iam_member', 'usage_report')).toMatchObject({
        service_name: expr('var.usage_service_name'),
        role: 'roles/servicemanagement.serviceController',
        member: `serviceAccount:${expr('google_service_account.function["usage-report"].email')}`,
      });
    });
  });

  describe('Firestore', () => {
    it('creates the native-mode database the functions are pointed at', () => {
      const db = resource('google_firestore_database', 'this');
      expect(db.type).toBe('FIRESTORE_NATIVE');
      expect(db.name).toBe(expr('var.firestore_database_id'));
      expect(tf.variables.firestore_database_id?.default).toBe('(default)');
      for (const name of Object.keys(tf.locals.functions)) {
        expect(envOf(name).FIRESTORE_DATABASE_ID).toBe(expr('google_firestore_database.this.name'));
        expect(envOf(name).FIRESTORE_PROJECT_ID).toBe(expr('var.project_id'));
      }
    });

    it('declares the composite indexes of FIRESTORE_INDEXES', () => {
      const declared = Object.values<Block>(tf.locals.firestore_composite_indexes).map((index) => ({
        collection: index.collection,
        queryScope: index.query_scope,
        fields: (index.fields as Block[]).map((field) => ({
          fieldPath: field.field_path,
          order: field.order,
        })),
      }));
      const expected = FIRESTORE_INDEXES.composite.map(({ collection, queryScope, fields }) => ({
        collection,
        queryScope,
        fields,
      }));
      expect(byJson(declared)).toEqual(byJson(expected));

      const index = resource('google_firestore_index', 'composite');
      expect(index.for_each).toBe(expr('local.firestore_composite_indexes'));
      expect(index.collection).toBe(expr('each.value.collection'));
      expect(index.query_scope).toBe(expr('each.value.query_scope'));
      expect(index.dynamic.fields[0].for_each).toBe(expr('each.value.fields'));
      expect(index.dynamic.fields[0].content[0]).toEqual({
        field_path: expr('fields.value.field_path'),
        order: expr('fields.value.order'),
      });
    });

    it('declares the field overrides (TTL, unindexed) of FIRESTORE_INDEXES', () => {
      const declared = Object.values<Block>(tf.locals.firestore_field_overrides).map((field) => ({
        collection: field.collection,
        field: field.field,
        ttl: field.ttl,
        indexed: field.indexed,
      }));
      const expected = FIRESTORE_INDEXES.fieldOverrides.map(
        ({ collection, field, ttl, indexed }) => ({ collection, field, ttl, indexed }),
      );
      expect(byJson(declared)).toEqual(byJson(expected));

      const override = resource('google_firestore_field', 'override');
      expect(override.for_each).toBe(expr('local.firestore_field_overrides'));
      expect(override.collection).toBe(expr('each.value.collection'));
      expect(override.field).toBe(expr('each.value.field'));
      expect(override.dynamic.index_config[0].for_each).toBe(
        expr('each.value.indexed ? [] : [true]'),
      );
      expect(override.dynamic.ttl_config[0].for_each).toBe(expr('each.value.ttl ? [true] : []'));
    });
  });

  describe('configuration', () => {
    const references = (prefix: 'var' | 'local') =>
      new Set(
        [...tf.text.matchAll(new RegExp(`\\b${prefix}\\.([A-Za-z_][\\w-]*)`, 'g'))].map(
          (m) => m[1]!,
        ),
      );

    it('declares every variable it uses, and uses every variable it declares', () => {
      const used = references('var');
      const declared = new Set(Object.keys(tf.variables));
      expect([...used].filter((name) => !declared.has(name))).toEqual([]);
      expect([...declared].filter((name) => !used.has(name))).toEqual([]);
    });

    it('defines every local it uses', () => {
      const defined = new Set(Object.keys(tf.locals));
      expect([...references('local')].filter((name) => !defined.has(name))).toEqual([]);
    });

    it('gives an example value for every required variable, and only for declared ones', async () => {
      const example = await parse(
        'terraform.tfvars.example',
        readFileSync(join(dir, 'terraform.tfvars.example'), 'utf8'),
      );
      const required = Object.keys(tf.variables).filter(
        (name) => !('default' in tf.variables[name]!),
      );
      expect(required.filter((name) => !(name in example))).toEqual([]);
      expect(Object.keys(example).filter((name) => !(name in tf.variables))).toEqual([]);
    });

    it('validates every variable a function reads that a typo could break', () => {
      const validated = Object.keys(tf.variables).filter(
        (name) => tf.variables[name]!.validation !== undefined,
      );
      expect(
        [
          'webhook_urls',
          'webhook_secret_id',
          'webhook_timeout_seconds',
          'webhook_retry_horizon_hours',
          'vendor_api_keys',
          'max_request_bytes',
          'personal_data_retention_days',
        ].filter((name) => !validated.includes(name)),
      ).toEqual([]);
      // Keys go in as hashes: a validation that would let a raw key through is a leak.
      expect(tf.variables.vendor_api_keys?.validation[0].condition).toContain('[0-9a-fA-F]{64}$');
      expect(tf.variables.vendor_api_keys?.default).toBeUndefined();
    });

    it('validates the approval policy against the three the code knows', () => {
      const validation = tf.variables.approval_policy?.validation[0];
      expect(validation.condition).toBe(
        expr('contains(["auto", "plans", "manual"], var.approval_policy)'),
      );
    });

    it('pins Terraform >= 1.5 and the google provider ~> 6', () => {
      expect(tf.terraform.required_version).toBe('>= 1.5');
      expect(tf.terraform.required_providers[0].google.source).toBe('hashicorp/google');
      expect(tf.terraform.required_providers[0].google.version).toBe('~> 6.0');
    });
  });
  describe('bundles', () => {
    const repoRoot = resolve(__dirname, '..', '..');
    let root: string;
    beforeAll(async () => {
      root = mkdtempSync(join(tmpdir(), 'gcp-bundles-'));
      // The framework stays external to the bundle, as on Cloud Run where npm installs it.
      symlinkSync(join(repoRoot, 'node_modules'), join(root, 'node_modules'), 'dir');
      await buildGcpFunctions({ functions: GCP_FUNCTIONS, outDir: join(root, 'gcp') });
    }, 120_000);
    afterAll(() => rmSync(root, { recursive: true, force: true }));

    /**
     * The environment Terraform gives `name`, with a sample value for every key it sets; without
     * webhooks, WEBHOOK_URLS is blank (dropped) and the secret's id null (left out).
     */
    const deployedEnv = (name: string, webhooks: boolean) => {
      const keys = [
        ...Object.keys(envOf(name)),
        ...Object.keys(fnLocals(name).secret_env as object),
      ].filter((key) => webhooks || !WEBHOOK_ONLY_VARS.includes(key as EnvVarName));
      const missing = keys.filter((key) => !(key in SAMPLE_VALUES));
      if (missing.length > 0) throw new Error(`no sample value for ${missing.join(', ')}`);
      return Object.fromEntries(keys.map((key) => [key, SAMPLE_VALUES[key as EnvVarName]!]));
    };
    const call = async (
      name: string,
      { method, path }: { method: 'GET' | 'POST'; path: string },
      webhooks: boolean,
    ) => {
      const bundle = join(root, 'gcp', name, 'index.js');
      const entryPoint = fnLocals(name).entry_point as string;
      const args = ['-e', CALL_WITHOUT_CREDENTIALS, bundle, entryPoint, method, path];
      const { stdout } = await promisify(execFile)(process.execPath, args, {
        cwd: root,
        env: deployedEnv(name, webhooks),
        timeout: 30_000,
      }).catch((error: { stderr?: string }) => {
        // Node prints the failing (minified, one-line) source too: keep only readable lines.
        const readable = (error.stderr ?? '').split('\n').filter((line) => line.length < 300);
        throw new Error(`${name} did not start:\n${readable.slice(-12).join('\n')}`);
      });
      return JSON.parse(stdout) as { status: number };
    };

    /** One request without credentials per function, and what it must be answered with. */
    const REQUESTS = {
      events: { method: 'POST', path: '/', status: 401, refuses: 'an unsigned push' },
      'usage-report': { method: 'POST', path: '/', status: 401, refuses: 'an unsigned call' },
      webhooks: { method: 'POST', path: '/', status: 401, refuses: 'an unsigned call' },
      retention: { method: 'POST', path: '/', status: 401, refuses: 'an unsigned call' },
      'vendor-api': {
        method: 'GET',
        path: '/v1/entitlements',
        status: 401,
        refuses: 'a call without an API key',
      },
      // A form post is what it serves; anything else is the buyer's mistake, not a crash.
      signup: { method: 'GET', path: '/', status: '4xx', refuses: 'a GET' },
    } as const;
    const cases = GCP_FUNCTIONS.flatMap(({ name }) =>
      (WEBHOOK_SENDERS.includes(name) ? [true, false] : [false]).map(
        (webhooks) => [name, webhooks ? 'with webhooks' : 'without webhooks', webhooks] as const,
      ),
    );

    it('needs the webhook secret once webhook URLs are given, as the precondition demands', async () => {
      const env = { ...deployedEnv('webhooks', true) };
      delete env.WEBHOOK_SECRETS;
      const bundle = join(root, 'gcp', 'webhooks', 'index.js');
      const args = ['-e', CALL_WITHOUT_CREDENTIALS, bundle, 'gcpWebhooks', 'POST', '/'];
      const run = promisify(execFile)(process.execPath, args, { cwd: root, env, timeout: 30_000 });
      await expect(run).rejects.toMatchObject({
        stderr: expect.stringContaining('WEBHOOK_SECRETS'),
      });
    });

    it('has a request for every function', () => {
      expect(sortedKeys(REQUESTS)).toEqual(GCP_FUNCTIONS.map((fn) => fn.name).sort());
    });

    it.each(cases)(
      'starts %s %s with only the variables Terraform sets, and refuses a request without credentials',
      async (name, _label, webhooks) => {
        const request = REQUESTS[name as keyof typeof REQUESTS];
        const { status } = await call(name, request, webhooks);
        if (request.status === '4xx') {
          expect(status).toBeGreaterThanOrEqual(400);
          expect(status).toBeLessThan(500);
        } else {
          expect([request.refuses, status]).toEqual([request.refuses, request.status]);
        }
      },
    );
  });
});
