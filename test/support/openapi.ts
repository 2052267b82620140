import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import type { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { load } from 'js-yaml';

/** The vendor API's OpenAPI document, as published. */
export const VENDOR_API_DOCUMENT_PATH = join(
  __dirname,
  '..',
  '..',
  'docs',
  'vendor-api.openapi.yaml',
);

export type OpenApiDocument = Record<string, unknown> & {
  readonly paths: Record<string, Record<string, Operation>>;
  readonly components: { readonly responses: Record<string, ResponseObject> };
};

interface ResponseObject {
  readonly $ref?: string;
  readonly headers?: Record<string, { readonly required?: boolean }>;
  readonly content?: Record<string, { readonly schema?: unknown }>;
}

interface Operation {
  readonly responses: Record<string, ResponseObject>;
}

export const loadVendorApiDocument = (): OpenApiDocument =>
  load(readFileSync(VENDOR_API_DOCUMENT_PATH, 'utf8')) as OpenApiDocument;

/** What a test saw of one response. */
export interface ObservedResponse {
  /** `get`, `post`, ...; with `route`, which operation of the document answered. */
  readonly method: string;
  /**
   * The document's path template (`/v1/entitlements/{id}`), or `null` for a request the
   * document has no operation for (an unknown route, a method a route does not take): then the
   * shared response of its status is the one that applies.
   */
  readonly route: string | null;
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

const DOCUMENT_ID = 'https://marketplace-connector.dev/vendor-api.openapi.json';

/** For an answer no operation lists: unknown routes (404) and methods a route lacks (405). */
const SHARED_RESPONSES: Readonly<Record<number, string>> = {
  401: 'Unauthorized',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  413: 'PayloadTooLarge',
};

const pointer = (...parts: string[]): string =>
  `#/${parts.map((part) => part.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`;

/**
 * The Functions Framework's own error pages: the document lists them where the framework
 * answers before the function, which happens on Google Cloud only.
 */
const FRAMEWORK_PAGE = 'text/html';

/**
 * Checks responses against the document: the status must be one the operation lists, the
 * content type one the response lists (an HTML page only on Google Cloud, where the Functions
 * Framework answers it), the body valid against its schema (JSON Schema 2020-12, formats
 * included) and every required header present.
 *
 * @param platform - where the responses come from.
 */
export const createOpenApiResponseValidator = (
  platform: 'aws' | 'gcp',
  document: OpenApiDocument = loadVendorApiDocument(),
) => {
  // OpenAPI keywords beside the schemas (`description` on a $ref, the document's own fields) are
  // not JSON Schema: strict mode would refuse the document as a whole.
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(document, DOCUMENT_ID);
  const compiled = new Map<string, ValidateFunction>();

  const schemaAt = (ref: string): ValidateFunction => {
    let validate = compiled.get(ref);
    if (!validate) {
      validate = ajv.compile({ $ref: `${DOCUMENT_ID}${ref}` });
      compiled.set(ref, validate);
    }
    return validate;
  };

  /** The response object for the status, and where it sits in the document. */
  const responseFor = (
    observed: ObservedResponse,
  ): { response: ResponseObject; at: string[] } | string => {
    if (observed.route === null) {
      const name = SHARED_RESPONSES[observed.status];
      if (!name) return `no shared response for status ${observed.status}`;
      return {
        response: document.components.responses[name]!,
        at: ['components', 'responses', name],
      };
    }
    const operation = document.paths[observed.route]?.[observed.method.toLowerCase()];
    if (!operation) return `the document has no operation ${observed.method} ${observed.route}`;
    const status = String(observed.status);
    const listed = operation.responses[status] ?? operation.responses.default;
    if (!listed) return `${observed.method} ${observed.route} does not list status ${status}`;
    if (listed.$ref) {
      const name = listed.$ref.split('/').pop()!;
      return {
        response: document.components.responses[name]!,
        at: ['components', 'responses', name],
      };
    }
    return {
      response: listed,
      at: ['paths', observed.route, observed.method.toLowerCase(), 'responses', status],
    };
  };

  /** The problems found; empty when the response is as documented. */
  const problemsOf = (observed: ObservedResponse): string[] => {
    const found = responseFor(observed);
    if (typeof found === 'string') return [found];
    const { response, at } = found;
    const problems: string[] = [];
    for (const [name, header] of Object.entries(response.headers ?? {})) {
      if (header.required && !observed.headers.has(name))
        problems.push(`header ${name} is missing`);
    }
    const contentType = (observed.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const media = response.content?.[contentType];
    if (contentType === FRAMEWORK_PAGE && platform !== 'gcp') {
      problems.push(`an HTML page for status ${observed.status} comes only from Google Cloud`);
      return problems;
    }
    if (!media) {
      problems.push(
        `content type "${contentType}" is not documented for status ${observed.status}`,
      );
      return problems;
    }
    if (media.schema === undefined) return problems;
    let value: unknown = observed.body;
    if (contentType === 'application/json') {
      try {
        value = JSON.parse(observed.body);
      } catch {
        return [...problems, 'the body is not JSON'];
      }
    }
    const validate = schemaAt(pointer(...at, 'content', contentType, 'schema'));
    if (!validate(value)) {
      problems.push(
        ...(validate.errors ?? []).map(
          (error) => `body${error.instancePath} ${error.message ?? 'is invalid'}`,
        ),
      );
    }
    return problems;
  };

  return {
    problemsOf,
    /** @throws Error naming every way the response differs from the document. */
    assertDocumented: (observed: ObservedResponse): void => {
      const problems = problemsOf(observed);
      if (problems.length > 0) {
        throw new Error(
          `${observed.method.toUpperCase()} ${observed.route ?? '(no route)'} ${observed.status} is not as documented:\n  ${problems.join('\n  ')}\n${observed.body.slice(0, 2_000)}`,
        );
      }
    },
  };
};

export type OpenApiResponseValidator = ReturnType<typeof createOpenApiResponseValidator>;
