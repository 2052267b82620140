/**
 * Makes a vendor API key: `npm run api-key -- --id billing --scopes read,usage:write`.
 *
 * Prints the key once, for the vendor's app to keep as a secret, and the `VENDOR_API_KEYS`
 * entry to deploy, which holds only the key's SHA-256: nothing deployed can reveal the key.
 * Scopes: `read`, `usage:write`, `admin`, each independent; give a key only those it needs.
 */
import { parseArgs } from 'node:util';
import { API_SCOPES } from '../../shared/config/vendor-config';
import type { ApiScope } from '../../shared/config/vendor-config';
import { newApiKey } from '../../shared/adapters/http/vendor-api/api-key';

const USAGE = `usage: npm run api-key -- --id <key id> --scopes <scope>[,<scope>...]
  --id      names the key in logs and the audit: 1 to 64 letters, digits, "." or "-"
  --scopes  ${API_SCOPES.join(', ')} (comma-separated; admin does not imply read)`;

const fail = (problem: string): never => {
  console.error(`api-key: ${problem}\n${USAGE}`);
  process.exit(2);
};

const args = (() => {
  try {
    return parseArgs({
      options: { id: { type: 'string' }, scopes: { type: 'string' } },
      strict: true,
    }).values;
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
})();

const keyId = args.id ?? fail('--id is required');
const scopes = (args.scopes ?? fail('--scopes is required'))
  .split(/[,+]/)
  .map((scope) => scope.trim())
  .filter(Boolean);
const unknown = scopes.filter((scope) => !(API_SCOPES as readonly string[]).includes(scope));
if (unknown.length > 0) fail(`unknown scope ${unknown.map((s) => `"${s}"`).join(', ')}`);

let made: { key: string; entry: string };
try {
  made = newApiKey(keyId, scopes as ApiScope[]);
} catch (error) {
  made = fail(error instanceof Error ? error.message : String(error));
}

console.log(`API key "${keyId}" (${scopes.join(', ')}), shown this once; keep it in your app's secrets:

  ${made.key}

Its VENDOR_API_KEYS entry (append it, comma-separated; it holds only the key's hash):

  ${made.entry}

Send the key as: Authorization: Bearer <key>`);
