import { createVerify, X509Certificate } from 'node:crypto';
import { MarketplaceApiError, UnauthorizedError, ValidationError } from '../../domain/errors';
import { byteLength } from '../../domain/limits';
import type { Clock } from '../../ports/clock';
import { snsEnvelopeSchema, stringToSign } from './sns-envelope';
import type { SnsEnvelope } from './sns-envelope';

/**
 * SignatureVersion 1 is SHA1withRSA, 2 is SHA256withRSA; SNS documents no other. A Map, not
 * an object literal, so that a value such as `constructor` finds nothing.
 */
const ALGORITHMS: ReadonlyMap<string, string> = new Map([
  ['1', 'RSA-SHA1'],
  ['2', 'RSA-SHA256'],
]);
const DEFAULT_TIMEOUT_MS = 5_000;
/** An SNS certificate is about 2 KB; a PEM chain stays well under this. */
const MAX_CERTIFICATE_BYTES = 32 * 1024;
/** SNS signs with few certificates at a time; bounded so odd URLs cannot grow the cache. */
const MAX_CACHED_CERTIFICATES = 16;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The DNS suffix of each partition SNS signs in; others need `certificateHost`. */
const PARTITION_SUFFIXES: ReadonlyMap<string, string> = new Map([
  ['aws', 'amazonaws.com'],
  ['aws-us-gov', 'amazonaws.com'],
  ['aws-cn', 'amazonaws.com.cn'],
]);

export interface SnsVerifierOptions {
  /** The only topics whose messages are accepted: the marketplace's topics for the product. */
  readonly topicArns: readonly string[];
  /**
   * Where signing certificates may come from. Unset (production): only
   * `sns.<region of the topic>.amazonaws.com` over https, and the certificate must be issued
   * to SNS. Set (the local simulator, for example `127.0.0.1:4010`): that host only, over http
   * or https, with any certificate subject. Never set it in production.
   */
  readonly certificateHost?: string;
  readonly fetch?: typeof fetch;
  readonly clock: Clock;
  /** How long a certificate download may take; 5 s unless given. */
  readonly timeoutMs?: number;
}

const unauthorized = (reason: string, cause?: unknown): UnauthorizedError =>
  new UnauthorizedError(reason, cause === undefined ? {} : { cause });

const unavailable = (message: string, options: { cause?: unknown; status?: number }) =>
  new MarketplaceApiError(message, {
    ...options,
    retryable: true,
    code: 'SnsCertificateUnavailable',
  });

/** `sns.us-east-1.amazonaws.com` for a topic in us-east-1, or null for an unknown partition. */
const snsHostOf = (topicArn: string): string | null => {
  const [prefix, partition = '', service, region = ''] = topicArn.split(':');
  const suffix = PARTITION_SUFFIXES.get(partition);
  if (prefix !== 'arn' || service !== 'sns' || !suffix || !/^[a-z0-9-]+$/.test(region)) {
    return null;
  }
  return `sns.${region}.${suffix}`;
};

/** Accepts `host` or `host:port` only, as `URL` would write it. */
const normaliseHost = (host: string): string => {
  let parsed: URL | undefined;
  try {
    parsed = new URL(`http://${host}`);
  } catch {
    parsed = undefined;
  }
  if (!parsed || parsed.host !== host.toLowerCase() || parsed.username || parsed.password) {
    throw new ValidationError('certificateHost must be a host or host:port', {
      path: 'certificateHost',
    });
  }
  return parsed.host;
};

/**
 * The certificate URL, if it may be fetched: parsed with `URL` (so what is checked is what is
 * fetched), no credentials, the exact expected host and port, a `.pem` path, no query.
 */
const trustedCertificateUrl = (raw: string, host: string, allowHttp: boolean): URL => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (error) {
    throw unauthorized('SNS SigningCertURL is not a URL', error);
  }
  if (url.username || url.password) throw unauthorized('SNS SigningCertURL carries credentials');
  if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) {
    throw unauthorized(`SNS SigningCertURL uses ${url.protocol} instead of https:`);
  }
  if (url.host !== host) {
    throw unauthorized(`SNS SigningCertURL host ${url.host} is not the trusted ${host}`);
  }
  if (!url.pathname.endsWith('.pem') || url.search || url.hash) {
    throw unauthorized('SNS SigningCertURL does not name a .pem file');
  }
  return url;
};

const isWithinValidity = (certificate: X509Certificate, nowMs: number): boolean =>
  Date.parse(certificate.validFrom) <= nowMs && nowMs <= Date.parse(certificate.validTo);

/**
 * Verifies the signature of an SNS message as AWS documents it: the string to sign from the
 * signed keys; the certificate from `SigningCertURL`, accepted only from the SNS host of the
 * topic's region over https (see `certificateHost`), within its validity period and issued to
 * SNS; RSA with SHA1 (SignatureVersion 1) or SHA256 (2); and a TopicArn on the allow-list.
 * Certificates are cached by URL.
 *
 * The certificate chain is not walked: SNS serves the leaf only, and it is trusted because TLS
 * authenticated the exact AWS host it came from, as AWS's own validators do.
 *
 * @throws UnauthorizedError with a reason that is safe to log.
 * @throws MarketplaceApiError (retryable) when the certificate could not be downloaded.
 */
export const createSnsVerifier = (options: SnsVerifierOptions) => {
  if (options.topicArns.length === 0) {
    throw new ValidationError('an SNS verifier needs at least one topic ARN', {
      path: 'topicArns',
    });
  }
  const topics = new Set(options.topicArns);
  const localHost =
    options.certificateHost === undefined ? undefined : normaliseHost(options.certificateHost);
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const cache = new Map<string, Promise<X509Certificate>>();

  const download = async (url: URL): Promise<X509Certificate> => {
    let text: string;
    try {
      // A redirect would lead away from the host just checked.
      const response = await doFetch(url.href, {
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (response.status >= 500 || response.status === 429) {
        throw unavailable(`SNS signing certificate answered HTTP ${response.status}`, {
          status: response.status,
        });
      }
      if (!response.ok) {
        throw unauthorized(`SNS signing certificate answered HTTP ${response.status}`);
      }
      if (Number(response.headers.get('content-length') ?? 0) > MAX_CERTIFICATE_BYTES) {
        throw unauthorized('SNS signing certificate is too large');
      }
      text = await response.text();
    } catch (error) {
      if (error instanceof UnauthorizedError || error instanceof MarketplaceApiError) throw error;
      throw unavailable('SNS signing certificate could not be downloaded', { cause: error });
    }
    if (byteLength(text) > MAX_CERTIFICATE_BYTES) {
      throw unauthorized('SNS signing certificate is too large');
    }
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(text);
    } catch (error) {
      throw unauthorized('SNS signing certificate is not a PEM certificate', error);
    }
    if (certificate.publicKey.asymmetricKeyType !== 'rsa') {
      throw unauthorized('SNS signing certificate does not hold an RSA key');
    }
    return certificate;
  };

  const certificateAt = (url: URL): Promise<X509Certificate> => {
    const cached = cache.get(url.href);
    if (cached) return cached;
    const loading = download(url);
    cache.set(url.href, loading);
    // A failed download is not remembered: the next message tries again.
    loading.catch(() => {
      if (cache.get(url.href) === loading) cache.delete(url.href);
    });
    if (cache.size > MAX_CACHED_CERTIFICATES) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    return loading;
  };

  const verify = async (envelope: SnsEnvelope): Promise<void> => {
    const parsed = snsEnvelopeSchema.safeParse(envelope);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw unauthorized(`SNS message is malformed (${issue?.path.join('.') || 'envelope'})`);
    }
    const message = parsed.data;
    const algorithm = ALGORITHMS.get(message.SignatureVersion);
    if (!algorithm) {
      throw unauthorized(`SNS SignatureVersion ${message.SignatureVersion} is not supported`);
    }
    if (!topics.has(message.TopicArn)) {
      throw unauthorized(`SNS message is from an unexpected topic ${message.TopicArn}`);
    }
    const snsHost = localHost ?? snsHostOf(message.TopicArn);
    if (snsHost === null) {
      throw unauthorized(`no SNS certificate host is known for the topic ${message.TopicArn}`);
    }
    const url = trustedCertificateUrl(message.SigningCertURL, snsHost, localHost !== undefined);
    if (!BASE64.test(message.Signature)) throw unauthorized('SNS Signature is not base64');

    const certificate = await certificateAt(url);
    if (!isWithinValidity(certificate, options.clock.now())) {
      cache.delete(url.href);
      throw unauthorized('SNS signing certificate is expired or not yet valid');
    }
    if (localHost === undefined) {
      // Issued to SNS itself (CN or SAN): `sns.amazonaws.com`, or the partition's or region's
      // own SNS name.
      const suffix = snsHost.slice(snsHost.indexOf('.', 'sns.'.length) + 1);
      const names = ['sns.amazonaws.com', `sns.${suffix}`, snsHost];
      if (!names.some((name) => certificate.checkHost(name) !== undefined)) {
        throw unauthorized('SNS signing certificate is not issued to SNS');
      }
    }
    let valid = false;
    try {
      valid = createVerify(algorithm)
        .update(stringToSign(message), 'utf8')
        .verify(certificate.publicKey, Buffer.from(message.Signature, 'base64'));
    } catch (error) {
      throw unauthorized('SNS signature could not be checked', error);
    }
    if (!valid) throw unauthorized('SNS signature does not match the message');
  };

  return verify;
};
