import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { build } from 'esbuild';
import type { BuildOptions, Metafile, Plugin } from 'esbuild';

/**
 * bench/aws-lambdas: every AWS Lambda function serverless.yml declares, bundled as
 * serverless-esbuild bundles it (the file's `custom.esbuild` over the plugin's defaults), then
 * its size (goal: under 1,000,000 bytes unzipped, source map included when it ships) and its
 * module init time in a fresh `node` (goal: a median under 150 ms), the part of a cold start
 * we own.
 */

const ROOT = resolve(__dirname, '..');
const SIZE_GOAL_BYTES = 1_000_000;
const INIT_GOAL_MS = 150;
const INIT_RUNS = 5;

// Only what is needed: js-yaml ships no types and comes with the serverless framework.
interface JsYaml {
  load(text: string, options?: { schema?: unknown }): unknown;
  Type: new (
    tag: string,
    options: { kind: 'scalar' | 'sequence' | 'mapping'; construct: (data: unknown) => unknown },
  ) => unknown;
  DEFAULT_SCHEMA: { extend(types: unknown[]): unknown };
}

// CloudFormation's short forms (`!Ref StateTable`) are custom tags a plain YAML load refuses.
const CLOUDFORMATION_TAGS = [
  'And',
  'Base64',
  'Cidr',
  'Condition',
  'Equals',
  'FindInMap',
  'GetAtt',
  'GetAZs',
  'If',
  'ImportValue',
  'Join',
  'Not',
  'Or',
  'Ref',
  'Select',
  'Split',
  'Sub',
  'Transform',
];

interface ServerlessFunction {
  readonly handler?: string;
  readonly environment?: Record<string, unknown>;
}

interface ServerlessFile {
  readonly provider?: { readonly environment?: Record<string, unknown> };
  readonly custom?: { readonly esbuild?: Record<string, unknown> };
  readonly functions?: Record<string, ServerlessFunction>;
}

export const readServerlessFile = (path = join(ROOT, 'serverless.yml')): ServerlessFile => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const yaml = require('js-yaml') as JsYaml;
  const types = CLOUDFORMATION_TAGS.flatMap((tag) =>
    (['scalar', 'sequence', 'mapping'] as const).map(
      (kind) => new yaml.Type(`!${tag}`, { kind, construct: (data) => ({ [tag]: data }) }),
    ),
  );
  return yaml.load(readFileSync(path, 'utf8'), {
    schema: yaml.DEFAULT_SCHEMA.extend(types),
  }) as ServerlessFile;
};

// serverless-esbuild's own defaults, and the keys it strips before handing options to esbuild.
const PLUGIN_DEFAULTS = { bundle: true, target: 'node18', platform: 'node', external: [] };
const PLUGIN_ONLY_KEYS = new Set([
  'concurrency',
  'zipConcurrency',
  'exclude',
  'nativeZip',
  'packager',
  'packagePath',
  'watch',
  'keepOutputDirectory',
  'packagerOptions',
  'installExtraArgs',
  'outputFileExtension',
  'outputBuildFolder',
  'outputWorkFolder',
  'nodeExternals',
  'skipBuild',
  'skipRebuild',
  'skipBuildExcludeFns',
  'stripEntryResolveExtensions',
  'disposeContext',
  // Resolved apart: a path to a plugins file, and a path to a whole config file.
  'plugins',
  'config',
]);

/**
 * The plugins `custom.esbuild.plugins` names, loaded as serverless-esbuild loads them: an array,
 * or a file (relative to the service) exporting an array or a function of the service.
 */
const pluginsOf = (custom: Record<string, unknown>, file: ServerlessFile): Plugin[] => {
  const named = custom.plugins;
  if (named === undefined || named === null) return [];
  if (Array.isArray(named)) return named as Plugin[];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  let loaded = require(join(ROOT, String(named))) as unknown;
  if (loaded && typeof loaded === 'object' && 'default' in loaded) loaded = loaded.default;
  // The plugin's argument is the framework object; the parsed file is what a bench can offer.
  if (typeof loaded === 'function')
    loaded = (loaded as (sls: unknown) => unknown)({ service: file });
  return loaded as Plugin[];
};

/** The esbuild options serverless-esbuild derives from `custom.esbuild`. */
export const esbuildOptionsOf = (file: ServerlessFile): BuildOptions => {
  const custom = file.custom?.esbuild ?? {};
  if (custom.config !== undefined) {
    throw new Error('custom.esbuild.config (a config file) is not supported by this bench yet');
  }
  const merged: Record<string, unknown> = { ...PLUGIN_DEFAULTS, ...custom };
  const exclude = ([] as unknown[]).concat(custom.exclude ?? ['aws-sdk']).map(String);
  const external = ([] as unknown[]).concat(merged.external ?? []).map(String);
  const options = Object.fromEntries(
    Object.entries(merged).filter(([key]) => !PLUGIN_ONLY_KEYS.has(key)),
  ) as BuildOptions;
  return {
    ...options,
    format: options.format ?? 'cjs',
    external: [...external, ...(exclude.includes('*') ? [] : exclude)],
    plugins: pluginsOf(custom, file),
  };
};

/** `functions/{aws,vendor}/<name>.<export>` handlers, with the source file they name. */
export const awsLambdaFunctions = (file: ServerlessFile) =>
  Object.entries(file.functions ?? {}).flatMap(([name, fn]) => {
    const match = /^(functions\/(?:aws|vendor)\/[\w.-]+)\.(\w+)$/.exec(fn.handler ?? '');
    if (!match) return [];
    const [, modulePath, exportName] = match as unknown as [string, string, string];
    const entry = ['.ts', '.js', '.tsx', '.jsx']
      .map((extension) => join(ROOT, `${modulePath}${extension}`))
      .find((candidate) => existsSync(candidate));
    return [{ name, handler: fn.handler!, exportName, entry, environment: fn.environment }];
  });

/** Literal values only: `${param:…}` and `!Ref …` resolve at deploy time. */
const literalEnvironment = (environment: Record<string, unknown> = {}): Record<string, string> =>
  Object.fromEntries(
    Object.entries(environment).flatMap(([key, value]) =>
      (typeof value === 'string' && !value.includes('${')) ||
      typeof value === 'number' ||
      typeof value === 'boolean'
        ? [[key, String(value)]]
        : [],
    ),
  );

/** Dummies for what each function's config requires; deploy-time values replace none of them. */
const DUMMY_ENVIRONMENT: Record<string, string> = {
  STORE_BACKEND: 'dynamodb',
  TABLE_NAME: 'bench-table',
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIABENCH00000000000',
  AWS_SECRET_ACCESS_KEY: 'bench-secret',
  AWS_SESSION_TOKEN: 'bench-session',
  AWS_PRODUCT_CODE: 'demo0product0code0local01',
  ONBOARDING_URL: 'https://example.com/onboard',
  HANDOFF_SECRET: 'bench-handoff-secret-0123456789abcdef',
  VENDOR_API_KEYS: `bench:read:${'0'.repeat(64)}`,
  LOG_LEVEL: 'error',
};

// The child times `require` alone: node's own start-up is the platform's, not ours.
const INIT_SCRIPT = `
const started = process.hrtime.bigint();
const loaded = require(process.argv[1]);
const ms = Number(process.hrtime.bigint() - started) / 1e6;
process.stdout.write(JSON.stringify({ ms, handler: typeof loaded[process.argv[2]] }));
`;

const initOnce = (
  bundlePath: string,
  exportName: string,
  env: Record<string, string>,
): Promise<{ ms: number; handler: string }> =>
  new Promise((done, fail) => {
    const child = spawn(process.execPath, ['-e', INIT_SCRIPT, bundlePath, exportName], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', fail);
    child.once('close', (code) => {
      if (code === 0) return done(JSON.parse(stdout) as { ms: number; handler: string });
      fail(new Error(`require(${basename(bundlePath)}) exited ${code}:\n${stderr.trim()}`));
    });
  });

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/**
 * Where a bundle's bytes come from, by package family (`@aws-sdk/*` counts as one: the SDK is
 * split in dozens of small packages that only weigh together).
 */
const heaviestPackages = (metafile: Metafile, count = 6): Record<string, number> => {
  const bytes = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const found = /node_modules\/(@[^/]+\/|[^/]+)/.exec(input);
      const owner = found ? found[1]!.replace(/\/$/, '/*') : '(project)';
      bytes.set(owner, (bytes.get(owner) ?? 0) + bytesInOutput);
    }
  }
  return Object.fromEntries([...bytes].sort((a, b) => b[1] - a[1]).slice(0, count));
};

const fileBytes = (path: string): number => (existsSync(path) ? statSync(path).size : 0);

export const benchAwsLambdas = async (options: { runs?: number } = {}) => {
  const runs = options.runs ?? INIT_RUNS;
  const file = readServerlessFile();
  const buildOptions = esbuildOptionsOf(file);
  const outRoot = mkdtempSync(join(tmpdir(), 'bench-aws-lambdas-'));
  const baseEnv = {
    PATH: process.env.PATH ?? '',
    ...DUMMY_ENVIRONMENT,
    ...literalEnvironment(file.provider?.environment),
  };
  const functions: Record<string, unknown> = {};
  try {
    for (const fn of awsLambdaFunctions(file)) {
      if (!fn.entry) {
        functions[fn.name] = { handler: fn.handler, error: 'no source file for this handler' };
        continue;
      }
      const outdir = join(outRoot, fn.name);
      const result = await build({
        ...buildOptions,
        entryPoints: [fn.entry],
        outdir,
        metafile: true,
        logLevel: 'silent',
      });
      const bundlePath = join(outdir, `${basename(fn.entry).replace(/\.[jt]sx?$/, '')}.js`);
      const bundleBytes = fileBytes(bundlePath);
      const mapBytes = fileBytes(`${bundlePath}.map`);
      const unzippedBytes = bundleBytes + mapBytes;
      const env = {
        ...baseEnv,
        ...literalEnvironment(fn.environment),
        AWS_LAMBDA_FUNCTION_NAME: `marketplace-connector-bench-${fn.name}`,
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      };
      const sizes = {
        handler: fn.handler,
        bundleBytes,
        mapBytes,
        unzippedBytes,
        withinSizeGoal: unzippedBytes < SIZE_GOAL_BYTES,
        heaviestPackages: heaviestPackages(result.metafile),
      };
      try {
        const samples: number[] = [];
        let handlerType = '';
        for (let i = 0; i < runs; i += 1) {
          const sample = await initOnce(bundlePath, fn.exportName, env);
          samples.push(sample.ms);
          handlerType = sample.handler;
        }
        const initMsMedian = Number(median(samples).toFixed(1));
        const initMsMax = Number(Math.max(...samples).toFixed(1));
        const initMsMin = Number(Math.min(...samples).toFixed(1));
        functions[fn.name] = {
          ...sizes,
          initMsMedian,
          initMsMax,
          initMsMin,
          // The median: a shared machine's odd slow start is not the bundle's doing.
          withinInitGoal: initMsMedian < INIT_GOAL_MS,
          handlerExported: handlerType === 'function',
        };
      } catch (error) {
        // The child's stderr says which variable or module was missing.
        functions[fn.name] = {
          ...sizes,
          withinInitGoal: false,
          error: error instanceof Error ? error.message : String(error),
        };
      }
    }
  } finally {
    rmSync(outRoot, { recursive: true, force: true });
  }
  return {
    bench: 'aws-lambdas',
    goal: `under ${SIZE_GOAL_BYTES} bytes unzipped and ${INIT_GOAL_MS} ms median module init per function`,
    node: process.version,
    // Init times are CPU-bound: a busy machine (load above its CPU count) inflates them.
    loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
    esbuild: {
      ...buildOptions,
      plugins: (buildOptions.plugins ?? []).map((plugin) => plugin.name),
    },
    runsPerFunction: runs,
    functions,
  };
};
