import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { GCP_FUNCTIONS } from '../../functions/gcp/manifest';
import {
  FUNCTIONS_FRAMEWORK,
  buildGcpFunctions,
  bundlePackageJson,
  rootFunctionsFrameworkVersion,
} from './build';

const repoRoot = resolve(__dirname, '..', '..');

/** A function shaped like ours: registers an HTTP entry point and imports a sibling module. */
const FIXTURE_FUNCTION = `
import { http } from '@google-cloud/functions-framework';
import { greeting } from './lib/greeting';

http('fixtureHello', (_req, res) => {
  res.status(200).send(greeting('bundle'));
});
`;
const FIXTURE_LIB = `export const greeting = (who: string): string => \`hello from the \${who}\`;\n`;

/**
 * Loads the bundle the way the runtime does (the installed framework requires it, then serves the
 * entry point by name) in a separate process, so jest's module registry cannot stand in for Node's.
 */
const LOAD_AND_CALL = `
const { getTestServer } = require('@google-cloud/functions-framework/testing');
require(process.argv[1]);
const server = getTestServer(process.argv[2]).listen(0, async () => {
  const response = await fetch('http://127.0.0.1:' + server.address().port + '/');
  console.log(JSON.stringify({ status: response.status, body: await response.text() }));
  server.close();
});
`;

describe('buildGcpFunctions', () => {
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'gcp-build-'));
    mkdirSync(join(root, 'functions', 'lib'), { recursive: true });
    writeFileSync(join(root, 'functions', 'hello.ts'), FIXTURE_FUNCTION);
    writeFileSync(join(root, 'functions', 'lib', 'greeting.ts'), FIXTURE_LIB);
    // The bundle leaves the framework external, as on Cloud Run where npm installs it.
    symlinkSync(join(repoRoot, 'node_modules'), join(root, 'node_modules'), 'dir');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const fixture = [{ name: 'hello', source: 'functions/hello.ts' }];

  it('bundles a function into <outDir>/<name>/index.js with a source map', async () => {
    const outDir = join(root, 'dist', 'gcp');
    const built = await buildGcpFunctions({ functions: fixture, outDir, rootDir: root });

    expect(built).toEqual([
      { name: 'hello', dir: join(outDir, 'hello'), bundleBytes: expect.any(Number) },
    ]);
    const bundle = readFileSync(join(outDir, 'hello', 'index.js'), 'utf8');
    expect(bundle).toContain('hello from the');
    expect(bundle).toContain(`require("${FUNCTIONS_FRAMEWORK}")`);
    expect(existsSync(join(outDir, 'hello', 'index.js.map'))).toBe(true);
  });

  it('writes a package.json whose only dependency is the Functions Framework at the root version', async () => {
    const outDir = join(root, 'dist', 'gcp');
    await buildGcpFunctions({ functions: fixture, outDir, rootDir: root });

    const pkg = JSON.parse(readFileSync(join(outDir, 'hello', 'package.json'), 'utf8'));
    expect(pkg).toEqual(bundlePackageJson('hello', rootFunctionsFrameworkVersion()));
    expect(pkg.main).toBe('index.js');
    expect(pkg.engines).toEqual({ node: '22' });
    expect(pkg.dependencies).toEqual({ [FUNCTIONS_FRAMEWORK]: rootFunctionsFrameworkVersion() });
  });

  it('produces a bundle the Functions Framework serves under its entry point', async () => {
    const outDir = join(root, 'dist', 'gcp');
    await buildGcpFunctions({ functions: fixture, outDir, rootDir: root });

    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['-e', LOAD_AND_CALL, join(outDir, 'hello', 'index.js'), 'fixtureHello'],
      { cwd: root, timeout: 30_000 },
    );
    expect(JSON.parse(stdout)).toEqual({ status: 200, body: 'hello from the bundle' });
  });

  it('removes files left in the function folder by an earlier build', async () => {
    const outDir = join(root, 'dist', 'gcp');
    mkdirSync(join(outDir, 'hello'), { recursive: true });
    writeFileSync(join(outDir, 'hello', 'stale.js'), 'old');

    await buildGcpFunctions({ functions: fixture, outDir, rootDir: root });

    expect(existsSync(join(outDir, 'hello', 'stale.js'))).toBe(false);
  });

  it('fails before building anything, naming every missing source', async () => {
    const outDir = join(root, 'dist', 'gcp');
    const functions = [
      ...fixture,
      { name: 'ghost', source: 'functions/ghost.ts' },
      { name: 'phantom', source: 'functions/phantom.ts' },
    ];

    const build = buildGcpFunctions({ functions, outDir, rootDir: root });

    await expect(build).rejects.toThrow(
      'Cannot build the Google Cloud functions: missing source functions/ghost.ts (function "ghost"), functions/phantom.ts (function "phantom")',
    );
    expect(existsSync(join(outDir, 'hello'))).toBe(false);
  });

  it('builds every manifest function from its own folder name', () => {
    // Terraform zips dist/gcp/<name>: the names must be usable as folder and resource names.
    for (const fn of GCP_FUNCTIONS) expect(fn.name).toMatch(/^[a-z][a-z0-9-]*$/);
    expect(new Set(GCP_FUNCTIONS.map((fn) => fn.name)).size).toBe(GCP_FUNCTIONS.length);
  });
});
