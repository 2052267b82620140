import { benchAwsLambdas } from './aws-lambdas';
import { benchAwsMetering } from './aws-metering';
import { benchGcpEvents } from './gcp-events';
import { benchStore } from './store';
import { benchUsageIngest } from './usage-ingest';

/** `npm run bench [name ...] [--seconds N]`: runs the benchmarks and prints one JSON document. */
const BENCHES: Record<string, (options: { seconds?: number }) => Promise<unknown>> = {
  store: benchStore,
  'gcp-events': () => benchGcpEvents(),
  'aws-metering': () => benchAwsMetering(),
  'aws-lambdas': () => benchAwsLambdas(),
  'usage-ingest': () => benchUsageIngest(),
};

const main = async (): Promise<void> => {
  const args = process.argv.slice(2);
  const secondsAt = args.indexOf('--seconds');
  const seconds = secondsAt >= 0 ? Number(args[secondsAt + 1]) : undefined;
  const names = args.filter(
    (arg, i) => !arg.startsWith('--') && (secondsAt < 0 || i !== secondsAt + 1),
  );
  const selected = names.length > 0 ? names : Object.keys(BENCHES);
  const results: Record<string, unknown> = {};
  for (const name of selected) {
    const bench = BENCHES[name];
    if (!bench)
      throw new Error(`unknown benchmark "${name}"; known: ${Object.keys(BENCHES).join(', ')}`);
    results[name] = await bench(seconds === undefined ? {} : { seconds });
  }
  console.log(
    JSON.stringify(
      {
        machine: { node: process.version, cpus: (await import('node:os')).cpus().length },
        results,
      },
      null,
      2,
    ),
  );
};

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
