import { createJsonLogger, redact } from './json-logger';

const capture = () => {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createJsonLogger({
    level: 'info',
    write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
    now: () => Date.UTC(2026, 10, 22),
  });
  return { lines, logger };
};

describe('json logger', () => {
  it('prints one JSON object per line with level, severity, time and fields', () => {
    const { lines, logger } = capture();
    logger.info('event handled', { outcome: 'applied' });
    expect(lines).toEqual([
      {
        outcome: 'applied',
        level: 'info',
        severity: 'INFO',
        message: 'event handled',
        time: '2026-11-22T00:00:00.000Z',
      },
    ]);
  });

  it('carries the correlation id of a child into every line', () => {
    const { lines, logger } = capture();
    const child = logger.child({ correlationId: 'c-1' }).child({ eventId: 'e-1' });
    child.warn('lost a race');
    expect(lines[0]).toMatchObject({ correlationId: 'c-1', eventId: 'e-1', severity: 'WARNING' });
  });

  it('drops lines below the configured level', () => {
    const { lines, logger } = capture();
    logger.debug('noise');
    expect(lines).toEqual([]);
  });

  it('redacts secrets by key and personal data and tokens by shape', () => {
    const { lines, logger } = capture();
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl';
    logger.error(`signup failed for buyer@example.com with ${jwt}`, {
      token: 'x-amzn-marketplace-token-value',
      headers: { Authorization: 'Bearer abc.def', 'x-api-key': 'k' },
      nested: { note: `contact ops@vendor.example`, list: [jwt] },
      userIdentity: 'obfuscated',
    });
    const text = JSON.stringify(lines[0]);
    expect(text).not.toMatch(
      /buyer@example\.com|ops@vendor|eyJ|abc\.def|x-amzn-marketplace-token-value|obfuscated/,
    );
    expect(lines[0]).toMatchObject({
      message: 'signup failed for [email] with [jwt]',
      token: '[redacted]',
      headers: { Authorization: '[redacted]', 'x-api-key': '[redacted]' },
      nested: { note: 'contact [email]', list: ['[jwt]'] },
    });
  });

  it('redacts inside errors and stops at depth', () => {
    expect(redact(new Error('for a@b.co'))).toEqual({ name: 'Error', message: 'for [email]' });
    const deep = { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } };
    expect(JSON.stringify(redact(deep))).toContain('[truncated]');
    expect(redact('Basic dXNlcjpwYXNz')).toBe('Basic [redacted]');
  });
});
