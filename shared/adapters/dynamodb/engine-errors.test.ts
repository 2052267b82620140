import {
  ConcurrencyConflictError,
  StoreUnavailableError,
  ValidationError,
} from '../../domain/errors';
import { cancellationReasons, conditionFailureItem, toStoreError } from './engine-errors';

const serviceError = (name: string, httpStatusCode: number, fault: 'client' | 'server') =>
  Object.assign(new Error(`${name}: key ACCT#gcp#secret`), {
    name,
    $fault: fault,
    $metadata: { httpStatusCode, attempts: 3 },
  });

describe('toStoreError', () => {
  it.each([
    ['throttling', serviceError('ThrottlingException', 400, 'client')],
    ['exhausted capacity', serviceError('ProvisionedThroughputExceededException', 400, 'client')],
    ['a 5xx', serviceError('InternalServerError', 500, 'server')],
    ['a missing table', serviceError('ResourceNotFoundException', 400, 'client')],
    [
      'a refused connection',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', $metadata: {} }),
    ],
    ['a timeout', Object.assign(new Error('socket hang up'), { name: 'TimeoutError' })],
  ])('makes %s a retryable StoreUnavailableError that keeps the cause', (_, error) => {
    const mapped = toStoreError(error, 'get account');
    expect(mapped).toBeInstanceOf(StoreUnavailableError);
    expect((mapped as StoreUnavailableError).retryable).toBe(true);
    expect(mapped.cause).toBe(error);
    expect(mapped.message).not.toContain('secret');
  });

  it('makes a refused request shape a ValidationError', () => {
    const mapped = toStoreError(serviceError('ValidationException', 400, 'client'), 'put');
    expect(mapped).toBeInstanceOf(ValidationError);
    expect(mapped.message).not.toContain('secret');
  });

  it("passes the project's own errors and programming errors through", () => {
    const conflict = new ConcurrencyConflictError('moved', null);
    expect(toStoreError(conflict, 'put')).toBe(conflict);
    const bug = new TypeError('x is undefined');
    expect(toStoreError(bug, 'put')).toBe(bug);
  });
});

describe('items carried by engine errors', () => {
  it('come back as plain data, never AttributeValues', () => {
    const Item = {
      pk: { S: 'ENT#gcp#e' },
      version: { N: '3' },
      contract: { L: [{ M: { value: { BOOL: true }, none: { NULL: true } } }] },
    };
    expect(conditionFailureItem({ name: 'ConditionalCheckFailedException', Item })).toEqual({
      pk: 'ENT#gcp#e',
      version: 3,
      contract: [{ value: true, none: null }],
    });
    expect(
      cancellationReasons({ CancellationReasons: [{ Code: 'None' }, { Code: 'X', Item }] }),
    ).toEqual([
      { code: 'None', item: undefined },
      { code: 'X', item: { pk: 'ENT#gcp#e', version: 3, contract: [{ value: true, none: null }] } },
    ]);
  });
});
