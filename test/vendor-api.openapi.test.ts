import { validate } from '@readme/openapi-parser';
import { UsageRejection } from '../shared/app/ingest-usage';
import { ApiErrorCode } from '../shared/adapters/http/vendor-api/api-error';
import { VENDOR_API_ROUTES } from '../shared/adapters/http/vendor-api/router';
import { ENTITLEMENT_STATUSES } from '../shared/domain/model';
import { createOpenApiResponseValidator, loadVendorApiDocument } from './support/openapi';

type Json = Record<string, unknown>;

const document = loadVendorApiDocument();
const paths = document.paths as unknown as Record<string, Record<string, Json>>;
const schemas = (document.components as unknown as { schemas: Record<string, Json> }).schemas;
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

const operations = Object.entries(paths).flatMap(([path, item]) =>
  Object.entries(item)
    .filter(([method]) => METHODS.includes(method))
    .map(([method, operation]) => ({ path, method, operation })),
);

describe('the vendor API reference (docs/vendor-api.openapi.yaml)', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    expect(document.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(document) as never);
    expect(result.valid ? [] : result.errors.map((error) => error.message)).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('documents every route, and nothing the API does not serve', () => {
    expect(operations.map((o) => `${o.method.toUpperCase()} ${o.path}`).sort()).toEqual(
      VENDOR_API_ROUTES.map((route) => `${route.method} ${route.path.template}`).sort(),
    );
  });

  it('names the scope each route checks, and the bearer scheme', () => {
    for (const route of VENDOR_API_ROUTES) {
      const operation = paths[route.path.template]![route.method.toLowerCase()]!;
      expect([route.path.template, operation.security]).toEqual([
        route.path.template,
        [{ apiKey: [route.scope] }],
      ]);
    }
    const scheme = (document.components as unknown as { securitySchemes: Record<string, Json> })
      .securitySchemes.apiKey!;
    expect(scheme).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const scope of ['read', 'usage:write', 'admin']) {
      expect(scheme.description).toContain(`\`${scope}\``);
    }
  });

  it('lists the errors every operation can answer, and 404 where a record is named', () => {
    for (const { path, method, operation } of operations) {
      const statuses = Object.keys(operation.responses as Json);
      expect([path, method, statuses]).toEqual([
        path,
        method,
        expect.arrayContaining(['400', '401', '403', '413', '415', '500', '503']),
      ]);
      if (path.includes('{id}') || path.includes('{accountId}')) {
        expect([path, method, statuses]).toEqual([path, method, expect.arrayContaining(['404'])]);
      }
    }
  });

  it('lists the codes the code answers', () => {
    const error = (schemas.Error!.properties as Record<string, Json>).error!;
    const code = (error.properties as Record<string, Json>).code!;
    expect([...(code.enum as string[])].sort()).toEqual(Object.values(ApiErrorCode).sort());
    const result = schemas.UsageRecordResult!.properties as Record<string, Json>;
    expect([...(result.code!.enum as string[])].sort()).toEqual(
      Object.values(UsageRejection).sort(),
    );
    expect(schemas.EntitlementStatus!.enum).toEqual(ENTITLEMENT_STATUSES);
  });

  it('catches a response that strays from it', () => {
    const validator = createOpenApiResponseValidator('aws', document);
    const json = new Headers({ 'content-type': 'application/json; charset=utf-8' });
    const observed = (status: number, body: unknown, headers = json) => ({
      method: 'GET',
      route: '/v1/entitlements',
      status,
      headers,
      body: JSON.stringify(body),
    });
    expect(validator.problemsOf(observed(200, { items: [], nextCursor: null }))).toEqual([]);
    expect(
      validator.problemsOf(observed(200, { items: [{ id: 'x' }], nextCursor: null })),
    ).not.toEqual([]);
    expect(
      validator.problemsOf(observed(200, { items: [], nextCursor: null, extra: 1 })),
    ).not.toEqual([]);
    expect(
      validator.problemsOf(observed(404, { error: { code: 'not_found', message: 'x' } })),
    ).toEqual(['GET /v1/entitlements does not list status 404']);
    expect(
      validator.problemsOf(observed(401, { error: { code: 'unauthorized', message: 'x' } })),
    ).toEqual(['header WWW-Authenticate is missing']);
    expect(
      validator.problemsOf(observed(400, '<html>', new Headers({ 'content-type': 'text/plain' }))),
    ).toEqual(['content type "text/plain" is not documented for status 400']);
  });

  it("takes the Functions Framework's HTML pages from Google Cloud only, where it answers them", () => {
    const page = {
      method: 'POST',
      route: '/v1/usage',
      headers: new Headers({ 'content-type': 'text/html; charset=utf-8' }),
      body: '<!DOCTYPE html><html><body><pre>Bad Request</pre></body></html>',
    };
    const gcp = createOpenApiResponseValidator('gcp', document);
    const aws = createOpenApiResponseValidator('aws', document);
    for (const status of [400, 413, 415]) {
      expect(gcp.problemsOf({ ...page, status })).toEqual([]);
      expect(aws.problemsOf({ ...page, status })).toEqual([
        `an HTML page for status ${status} comes only from Google Cloud`,
      ]);
    }
    expect(gcp.problemsOf({ ...page, status: 403 })).toContain(
      'content type "text/html" is not documented for status 403',
    );
  });

  it('holds a rejected usage record to its code and message, and the others to neither', () => {
    const validator = createOpenApiResponseValidator('aws', document);
    const answer = (result: Record<string, unknown>) =>
      validator.problemsOf({
        method: 'POST',
        route: '/v1/usage',
        status: 200,
        headers: new Headers({ 'content-type': 'application/json' }),
        body: JSON.stringify({ results: [result], accepted: 0, duplicates: 0, rejected: 1 }),
      });
    expect(
      answer({ usageId: 'u1', status: 'rejected', code: 'outside_window', message: 'too old' }),
    ).toEqual([]);
    expect(answer({ usageId: 'u1', status: 'duplicate' })).toEqual([]);
    expect(answer({ usageId: 'u1', status: 'rejected', message: 'too old' })).not.toEqual([]);
    expect(answer({ usageId: 'u1', status: 'rejected', code: 'outside_window' })).not.toEqual([]);
    expect(answer({ usageId: 'u1', status: 'accepted', code: 'outside_window' })).not.toEqual([]);
  });
});
