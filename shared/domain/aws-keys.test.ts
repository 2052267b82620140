import { awsAccountId, awsEntitlementId, normaliseLicenseArn } from './aws-keys';

const LICENSE = 'arn:aws:license-manager:us-east-1:123456789012:l-e52ca6f38bf84d0fafb8802ca15ac11x';

describe('AWS entitlement keys', () => {
  it('prefers the license ARN, normalised', () => {
    expect(
      awsEntitlementId({ licenseArn: LICENSE.slice(4), customerIdentifier: 'c', productCode: 'p' }),
    ).toBe(LICENSE);
  });

  it('falls back to CustomerIdentifier:ProductCode for a legacy listing, else null', () => {
    expect(awsEntitlementId({ customerIdentifier: 'c', productCode: 'p' })).toBe('c:p');
    expect(awsEntitlementId({ customerIdentifier: 'c' })).toBeNull();
  });

  it('adds arn: only where it is missing', () => {
    expect(normaliseLicenseArn('aws:license-manager::1:license:l-1')).toBe(
      'arn:aws:license-manager::1:license:l-1',
    );
    expect(normaliseLicenseArn('arn:aws:license-manager::1:license:l-1')).toBe(
      'arn:aws:license-manager::1:license:l-1',
    );
  });
});

describe('AWS account keys', () => {
  it('keys a license buyer on the AWS account id', () => {
    expect(awsAccountId({ licenseArn: LICENSE, customerAWSAccountId: '111122223333' })).toBe(
      '111122223333',
    );
  });

  it('keys a legacy buyer on the CustomerIdentifier, even when the account id is known too', () => {
    // ResolveCustomer names both for a legacy listing; its SNS messages only the identifier.
    expect(awsAccountId({ customerIdentifier: 'X01', customerAWSAccountId: '111122223333' })).toBe(
      'X01',
    );
  });

  it('falls back to whichever id there is, else null', () => {
    expect(awsAccountId({ customerAWSAccountId: '111122223333' })).toBe('111122223333');
    expect(awsAccountId({})).toBeNull();
  });
});
