import { SimHttpError } from '../http/http-error';

/**
 * AWS JSON 1.1 errors: `{"__type":"<Name>","message":...}` with the `x-amzn-ErrorType` header.
 * The SDK v3 reads the name from either and raises the modelled exception class of that name
 * (`InvalidTokenException`, …); a name the model lacks (`ValidationException`) surfaces as the
 * service's base exception with that `name`.
 */
export const AWS_JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';

export const awsError = (status: number, type: string, message: string): SimHttpError =>
  new SimHttpError(
    status,
    { __type: type, message },
    {
      message: `${type}: ${message}`,
      headers: { 'content-type': AWS_JSON_CONTENT_TYPE, 'x-amzn-errortype': type },
    },
  );

/** A client error: HTTP 400, as every AWS JSON 1.1 client fault except a few. */
export const clientError = (type: string, message: string): SimHttpError =>
  awsError(400, type, message);

/**
 * What Coral-based services answer when input breaks a constraint of the model (a list too
 * long, a number out of range). Neither marketplace model declares it; the SDK raises its base
 * exception with `name === 'ValidationException'`.
 */
export const validationError = (message: string): SimHttpError =>
  clientError('ValidationException', message);

export const throttling = (): SimHttpError => clientError('ThrottlingException', 'Rate exceeded');

export const internalError = (message = 'An internal error has occurred (simulated fault).') =>
  awsError(500, 'InternalServiceErrorException', message);
