import { GoogleAuth, OAuth2Client } from 'google-auth-library';

const GOOGLE_API_HOST = /(^|\.)googleapis\.com$/;

/**
 * The credentials for a Google API at `baseUrl`: Application Default Credentials for Google's
 * own hosts, and a fixed placeholder token anywhere else (the simulator). Real credentials are
 * never sent to a host that is not Google's.
 */
export const authFor = (baseUrl: string): GoogleAuth | OAuth2Client => {
  if (GOOGLE_API_HOST.test(new URL(baseUrl).hostname)) {
    return new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
  }
  const local = new OAuth2Client();
  local.setCredentials({ access_token: 'local-simulator', expiry_date: Number.MAX_SAFE_INTEGER });
  return local;
};

/**
 * Retries for Google API calls: throttling, 5xx and dropped connections, with gaxios' jittered
 * exponential backoff. POSTs are included: every call we make is safe to repeat (an approval
 * that went through answers FAILED_PRECONDITION the second time, which the caller reconciles).
 */
export const GOOGLE_API_RETRY = {
  retry: 4,
  noResponseRetries: 2,
  retryDelay: 200,
  retryDelayMultiplier: 2,
  maxRetryDelay: 5_000,
  httpMethodsToRetry: ['GET', 'POST', 'PATCH'],
  statusCodesToRetry: [
    [429, 429],
    [500, 599],
  ],
};

/**
 * Options every Google API client here shares. The platform's own `fetch`: gaxios would
 * otherwise load `node-fetch` through a dynamic import, one more dependency at cold start (and
 * one that module sandboxes such as test runners cannot load).
 */
export const googleApiOptions = (baseUrl: string) => ({
  rootUrl: baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`,
  auth: authFor(baseUrl),
  retryConfig: GOOGLE_API_RETRY,
  fetchImplementation: fetch,
});
