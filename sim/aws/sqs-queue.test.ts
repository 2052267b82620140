import { failedItems } from './sqs-queue';

const IDS = ['m-1', 'm-2', 'm-3'];
const ok = (text: string, status = 200) => failedItems({ status, text }, undefined, IDS);

describe('failedItems: Lambda’s partial-batch rules', () => {
  it.each([
    ['an empty body', ''],
    ['null', 'null'],
    ['an empty object', '{}'],
    ['an empty list', '{"batchItemFailures":[]}'],
    ['a null list', '{"batchItemFailures":null}'],
  ])('takes %s as a complete success', (_, text) => {
    expect([...ok(text).failed]).toEqual([]);
  });

  it('fails only the listed items', () => {
    const result = ok('{"batchItemFailures":[{"itemIdentifier":"m-2"}]}');
    expect([...result.failed]).toEqual(['m-2']);
    expect(result.reason).toBe('listed in batchItemFailures');
  });

  it.each([
    ['an HTTP error', () => failedItems({ status: 502, text: '' }, undefined, IDS), /HTTP 502/],
    ['no answer', () => failedItems(undefined, 'ECONNREFUSED', IDS), /ECONNREFUSED/],
    ['invalid JSON', () => ok('OK'), /not JSON/],
    ['a JSON string', () => ok('"done"'), /not a partial-batch response/],
    ['a list that is not one', () => ok('{"batchItemFailures":"m-1"}'), /not a list/],
    ['an unknown id', () => ok('{"batchItemFailures":[{"itemIdentifier":"m-9"}]}'), /m-9/],
    ['an empty id', () => ok('{"batchItemFailures":[{"itemIdentifier":""}]}'), /not a message/],
    ['a misspelt key', () => ok('{"batchItemFailures":[{"itemId":"m-1"}]}'), /undefined/],
  ])('fails the whole batch on %s', (_, run, reason) => {
    const result = run();
    expect([...result.failed]).toEqual(IDS);
    expect(result.reason).toMatch(reason);
  });
});
