/**
 * How AWS purchases and buyers are keyed. Notifications and the signup meet on these keys, so
 * both derive them here and nowhere else.
 */

/** The docs print license ARNs without `arn:`; ResolveCustomer returns them with it. */
export const normaliseLicenseArn = (arn: string): string =>
  arn.startsWith('arn:') ? arn : `arn:${arn}`;

export interface AwsBuyerIds {
  readonly licenseArn?: string | null;
  readonly customerIdentifier?: string | null;
  readonly customerAWSAccountId?: string | null;
  readonly productCode?: string | null;
}

/**
 * The key of an AWS entitlement: the LicenseArn, or for a legacy listing (SNS, no license)
 * `CustomerIdentifier:ProductCode`.
 */
export const awsEntitlementId = (ids: AwsBuyerIds): string | null =>
  ids.licenseArn
    ? normaliseLicenseArn(ids.licenseArn)
    : ids.customerIdentifier && ids.productCode
      ? `${ids.customerIdentifier}:${ids.productCode}`
      : null;

/**
 * The key of an AWS buyer account: the AWS account id where the purchase is a license, and for
 * a legacy listing the CustomerIdentifier, which is all its SNS messages name (ResolveCustomer
 * names both, so the rule must not depend on what a message happens to carry).
 */
export const awsAccountId = (ids: AwsBuyerIds): string | null =>
  (ids.licenseArn ? ids.customerAWSAccountId : ids.customerIdentifier) ??
  ids.customerAWSAccountId ??
  null;
