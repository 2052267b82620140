import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { ValidationError } from '../../domain/errors';
import { loadFixture } from '../../test/fixtures';
import {
  MAX_REGISTRATION_BODY_BYTES,
  MAX_REGISTRATION_TOKEN_BYTES,
  parseRegistrationForm,
} from './registration-form';
import type { RegistrationRequest } from './registration-form';

const TOKEN = 'EXAMPLEtoken1a2b3c4d5e6f+g7h8/i9j0kLmNoPqRsTuVwXyZ==';
const URLENCODED = 'application/x-www-form-urlencoded';
const BOUNDARY = '----WebKitFormBoundary7MA4YWxkTrZu0gW';

const urlencoded = (fields: Array<[string, string]>, base64 = false): RegistrationRequest => {
  const body = new URLSearchParams(fields).toString();
  return {
    headers: { 'content-type': URLENCODED },
    body: base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: base64,
  };
};
const multipartBody = (parts: string[], boundary = BOUNDARY) =>
  [...parts.flatMap((part) => [`--${boundary}`, part]), `--${boundary}--`, ''].join('\r\n');
const field = (name: string, value: string) =>
  `Content-Disposition: form-data; name="${name}"\r\n\r\n${value}`;
const multipart = (
  body: string,
  contentType = `multipart/form-data; boundary=${BOUNDARY}`,
): RegistrationRequest => ({
  headers: { 'content-type': contentType },
  body: Buffer.from(body).toString('base64'),
  isBase64Encoded: true,
});

const failureOf = (request: unknown): ValidationError => {
  try {
    parseRegistrationForm(request as RegistrationRequest);
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
};

describe('AWS Marketplace registration form', () => {
  it('reads the token from a url-encoded POST', () => {
    const event = loadFixture<APIGatewayProxyEventV2>(
      'aws',
      'http-api-v2-post-registration-urlencoded',
    );
    expect(parseRegistrationForm(event)).toEqual({
      registrationToken: TOKEN,
      freeTrial: false,
      offerType: null,
    });
  });

  it('decodes a base64 body and reads the free-trial offer type', () => {
    const event = loadFixture<APIGatewayProxyEventV2>(
      'aws',
      'http-api-v2-post-registration-free-trial-base64',
    );
    expect(parseRegistrationForm(event)).toEqual({
      registrationToken: TOKEN,
      freeTrial: true,
      offerType: 'free-trial',
    });
  });

  it('reads a multipart/form-data POST', () => {
    const event = loadFixture<APIGatewayProxyEventV2>(
      'aws',
      'http-api-v2-post-registration-multipart',
    );
    expect(parseRegistrationForm(event)).toEqual({
      registrationToken: TOKEN,
      freeTrial: true,
      offerType: 'free-trial',
    });
  });

  it('reads the content type whatever the header case, with a charset', () => {
    const body = new URLSearchParams({ 'x-amzn-marketplace-token': TOKEN }).toString();
    const form = parseRegistrationForm({
      headers: { 'Content-Type': 'Application/X-WWW-Form-Urlencoded; charset=UTF-8' },
      body,
    });
    expect(form.registrationToken).toBe(TOKEN);
  });

  it('reads a body without content type as url-encoded', () => {
    const body = `x-amzn-marketplace-token=${encodeURIComponent(TOKEN)}`;
    expect(parseRegistrationForm({ body }).registrationToken).toBe(TOKEN);
  });

  it('keeps another offer type without calling it a free trial', () => {
    const form = parseRegistrationForm(
      urlencoded([
        ['x-amzn-marketplace-token', TOKEN],
        ['x-amzn-marketplace-offer-type', 'private'],
      ]),
    );
    expect(form).toMatchObject({ freeTrial: false, offerType: 'private' });
  });

  it('drops an offer type it cannot read rather than refusing the buyer', () => {
    const form = parseRegistrationForm(
      urlencoded([
        ['x-amzn-marketplace-token', TOKEN],
        ['x-amzn-marketplace-offer-type', 'free-trial\n'],
      ]),
    );
    expect(form).toMatchObject({ freeTrial: false, offerType: null });
  });

  it('accepts a token of exactly the maximum size', () => {
    const token = 'a'.repeat(MAX_REGISTRATION_TOKEN_BYTES);
    expect(
      parseRegistrationForm(urlencoded([['x-amzn-marketplace-token', token]])).registrationToken,
    ).toBe(token);
  });

  it.each<[string, RegistrationRequest]>([
    [
      'a quoted boundary',
      multipart(
        multipartBody([field('x-amzn-marketplace-token', TOKEN)], 'a b:c'),
        'multipart/form-data; boundary="a b:c"',
      ),
    ],
    [
      'a preamble and an epilogue',
      multipart(
        `this is a preamble\r\n${multipartBody([field('x-amzn-marketplace-token', TOKEN)])}epilogue`,
      ),
    ],
    [
      'transport padding after a delimiter',
      multipart(
        multipartBody([field('x-amzn-marketplace-token', TOKEN)]).replace(
          `--${BOUNDARY}\r\n`,
          `--${BOUNDARY}  \r\n`,
        ),
      ),
    ],
    [
      'a file part and more headers',
      multipart(
        multipartBody([
          'Content-Disposition: form-data; name="x-amzn-marketplace-token"; filename="t.txt"\r\nContent-Type: text/plain\r\n\r\nnot this one',
          `Content-Disposition: form-data; name=x-amzn-marketplace-token\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${TOKEN}`,
        ]),
      ),
    ],
    [
      'a plain (not base64) body',
      {
        headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
        body: multipartBody([field('x-amzn-marketplace-token', TOKEN)]),
        isBase64Encoded: false,
      },
    ],
  ])('reads multipart with %s', (_, request) => {
    expect(parseRegistrationForm(request).registrationToken).toBe(TOKEN);
  });

  it.each<[string, unknown, string]>([
    ['no request', null, 'request'],
    ['headers that are not a map', { headers: 'x', body: 'a=b' }, 'headers'],
    ['no body', { headers: { 'content-type': URLENCODED } }, 'body'],
    ['an empty body', { headers: { 'content-type': URLENCODED }, body: '' }, 'body'],
    [
      'a body over 64 KB',
      {
        headers: { 'content-type': URLENCODED },
        body: 'a'.repeat(MAX_REGISTRATION_BODY_BYTES + 1),
      },
      'body',
    ],
    [
      'a base64 body over 64 KB',
      {
        headers: { 'content-type': URLENCODED },
        body: Buffer.alloc(MAX_REGISTRATION_BODY_BYTES + 1, 97).toString('base64'),
        isBase64Encoded: true,
      },
      'body',
    ],
    [
      'a body marked base64 that is not',
      {
        headers: { 'content-type': URLENCODED },
        body: 'x-amzn-marketplace-token=abc',
        isBase64Encoded: true,
      },
      'body',
    ],
    ['no token', urlencoded([['other', 'x']]), 'body.x-amzn-marketplace-token'],
    [
      'an empty token',
      urlencoded([['x-amzn-marketplace-token', '']]),
      'body.x-amzn-marketplace-token',
    ],
    [
      'a token over 4 KB',
      urlencoded([['x-amzn-marketplace-token', 'a'.repeat(MAX_REGISTRATION_TOKEN_BYTES + 1)]]),
      'body.x-amzn-marketplace-token',
    ],
    [
      'a token sent twice',
      urlencoded([
        ['x-amzn-marketplace-token', TOKEN],
        ['x-amzn-marketplace-token', TOKEN],
      ]),
      'body.x-amzn-marketplace-token',
    ],
    [
      'a token with control characters',
      urlencoded([['x-amzn-marketplace-token', `${TOKEN}\u0000`]]),
      'body.x-amzn-marketplace-token',
    ],
    [
      'a JSON body',
      {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ 'x-amzn-marketplace-token': TOKEN }),
      },
      'headers.content-type',
    ],
    [
      'a text body',
      { headers: { 'content-type': 'text/plain' }, body: TOKEN },
      'headers.content-type',
    ],
    [
      'an empty content type',
      { headers: { 'content-type': '' }, body: 'a=b' },
      'headers.content-type',
    ],
    ['multipart without boundary', multipart('x', 'multipart/form-data'), 'headers.content-type'],
    [
      'multipart with a boundary over 70 characters',
      multipart('x', `multipart/form-data; boundary=${'b'.repeat(71)}`),
      'headers.content-type',
    ],
    [
      'multipart without a closing delimiter',
      multipart(`--${BOUNDARY}\r\n${field('x-amzn-marketplace-token', TOKEN)}\r\n`),
      'body',
    ],
    [
      'multipart with another boundary',
      multipart(multipartBody([field('x-amzn-marketplace-token', TOKEN)], 'other')),
      'body',
    ],
    [
      'a multipart part without a name',
      multipart(multipartBody([`Content-Disposition: form-data\r\n\r\n${TOKEN}`])),
      'body',
    ],
    [
      'a multipart part that is not form-data',
      multipart(multipartBody([`Content-Disposition: attachment; name="x"\r\n\r\n${TOKEN}`])),
      'body',
    ],
    [
      'a multipart header line without a name',
      multipart(multipartBody([`: form-data; name="x"\r\n\r\n${TOKEN}`])),
      'body',
    ],
    [
      'a multipart part without a blank line',
      multipart(multipartBody([`Content-Disposition: form-data; name="x-amzn-marketplace-token"`])),
      'body',
    ],
    [
      'a delimiter glued to its part',
      multipart(
        multipartBody([field('x-amzn-marketplace-token', TOKEN)]).replace(
          `--${BOUNDARY}\r\n`,
          `--${BOUNDARY}x`,
        ),
      ),
      'body',
    ],
    [
      'more than 32 multipart parts',
      multipart(multipartBody(Array.from({ length: 33 }, (_, index) => field(`f${index}`, 'v')))),
      'body',
    ],
    [
      'a multipart token sent twice',
      multipart(
        multipartBody([
          field('x-amzn-marketplace-token', TOKEN),
          field('x-amzn-marketplace-token', 'b'),
        ]),
      ),
      'body.x-amzn-marketplace-token',
    ],
  ])(
    'rejects %s with a ValidationError at its path, never quoting the token',
    (_, request, path) => {
      const error = failureOf(request);
      expect(error.path).toBe(path);
      expect(error.retryable).toBe(false);
      expect(error.message).not.toContain(TOKEN);
      expect(error.message).not.toContain(encodeURIComponent(TOKEN));
    },
  );
});
