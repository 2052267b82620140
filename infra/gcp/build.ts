import { build } from 'esbuild';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { GCP_FUNCTIONS } from '../../functions/gcp/manifest';
import type { GcpFunctionSpec } from '../../functions/gcp/manifest';

const REPO_ROOT = resolve(__dirname, '..', '..');

/**
 * The runtime starts a Node function through the Functions Framework, which `require`s our bundle
 * and looks the entry point up in its own registry. The bundle must therefore load the installed
 * framework, not a private copy: a bundled copy would register into a registry nobody reads.
 */
export const FUNCTIONS_FRAMEWORK = '@google-cloud/functions-framework';

export interface BuildGcpFunctionsOptions {
  readonly functions: readonly Pick<GcpFunctionSpec, 'name' | 'source'>[];
  /** Each function lands in `<outDir>/<name>/` (Terraform zips `dist/gcp/<name>`). */
  readonly outDir: string;
  /** What `source` paths are relative to; the repository root by default. */
  readonly rootDir?: string;
  /** Version range of the framework in the bundle's package.json; the root package.json's by default. */
  readonly functionsFrameworkVersion?: string;
}

export interface BuiltGcpFunction {
  readonly name: string;
  readonly dir: string;
  readonly bundleBytes: number;
}

/** The version range the root package.json asks for, so the deployed framework matches the tested one. */
export const rootFunctionsFrameworkVersion = (rootDir = REPO_ROOT): string => {
  const pkg = JSON.parse(readFileSync(join(rootDir, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const version = pkg.dependencies?.[FUNCTIONS_FRAMEWORK];
  if (!version) throw new Error(`${FUNCTIONS_FRAMEWORK} is not a dependency in package.json`);
  return version;
};

/** The package.json Cloud Run's Node.js buildpack installs and starts (`main`) the function from. */
export const bundlePackageJson = (name: string, functionsFrameworkVersion: string) => ({
  // A distinct name per bundle: tools that index package.json files (jest's haste map) reject twins.
  name: `marketplace-connector-gcp-${name}`,
  private: true,
  main: 'index.js',
  engines: { node: '22' },
  dependencies: { [FUNCTIONS_FRAMEWORK]: functionsFrameworkVersion },
});

/**
 * Bundles each function into `<outDir>/<name>/index.js` (+ source map) with a package.json whose
 * only dependency is the Functions Framework. Every source is checked before anything is built,
 * so a missing file fails the whole build with its path instead of leaving half a `dist/`.
 *
 * @throws Error naming every missing source, or esbuild's error for the function that failed.
 */
export const buildGcpFunctions = async ({
  functions,
  outDir,
  rootDir = REPO_ROOT,
  functionsFrameworkVersion = rootFunctionsFrameworkVersion(),
}: BuildGcpFunctionsOptions): Promise<BuiltGcpFunction[]> => {
  const missing = functions.filter((fn) => !existsSync(join(rootDir, fn.source)));
  if (missing.length > 0) {
    const list = missing.map((fn) => `${fn.source} (function "${fn.name}")`).join(', ');
    throw new Error(`Cannot build the Google Cloud functions: missing source ${list}`);
  }

  const built: BuiltGcpFunction[] = [];
  for (const fn of functions) {
    const dir = join(outDir, fn.name);
    // Start clean: a file left from an earlier build would be zipped and deployed too.
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const outfile = join(dir, 'index.js');
    await build({
      entryPoints: [join(rootDir, fn.source)],
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node22',
      format: 'cjs',
      minify: true,
      sourcemap: true,
      external: [FUNCTIONS_FRAMEWORK],
      // Resolve packages from this repository even when the source lives elsewhere (tests).
      nodePaths: [join(REPO_ROOT, 'node_modules')],
      logLevel: 'silent',
    });
    writeFileSync(
      join(dir, 'package.json'),
      `${JSON.stringify(bundlePackageJson(fn.name, functionsFrameworkVersion), null, 2)}\n`,
    );
    built.push({ name: fn.name, dir, bundleBytes: statSync(outfile).size });
  }
  return built;
};

const main = async (): Promise<void> => {
  const outDir = join(REPO_ROOT, 'dist', 'gcp');
  const built = await buildGcpFunctions({ functions: GCP_FUNCTIONS, outDir });
  for (const fn of built) {
    const kib = Math.round(fn.bundleBytes / 1024);
    console.log(`built ${fn.name}: ${relative(REPO_ROOT, fn.dir)}/index.js (${kib} KiB)`);
  }
};

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
