import { rfc3339 } from '../clock';
import type { Entitlement } from './entitlements-api';
import { entitlementsOf } from './entitlements-api';
import type { ContractValue, License, LicenseStatus, NotificationStyle } from './model';

/** A license as `/_sim/aws/*` and the test handle show it, times in RFC 3339. */
export interface LicenseView {
  readonly licenseArn: string;
  readonly agreementId: string;
  readonly productCode: string;
  readonly customerAWSAccountId: string;
  /** Legacy products only. */
  readonly customerIdentifier: string | null;
  readonly legacy: boolean;
  readonly style: NotificationStyle;
  readonly offerId: string;
  readonly freeTrial: boolean;
  readonly cppo: boolean;
  readonly status: LicenseStatus;
  readonly contract: Readonly<Record<string, ContractValue>>;
  readonly contractExpiresAt: string;
  readonly createdAt: string;
  readonly subscribedAt?: string;
  readonly unsubscribeRequestedAt?: string;
  readonly endedAt?: string;
  /** What GetEntitlements answers for it now. */
  readonly entitlements: readonly Entitlement[];
}

export const licenseView = (license: License): LicenseView => ({
  licenseArn: license.arn,
  agreementId: license.agreementId,
  productCode: license.productCode,
  customerAWSAccountId: license.customerAWSAccountId,
  customerIdentifier: license.customerIdentifier ?? null,
  legacy: license.legacy,
  style: license.style,
  offerId: license.offerId,
  freeTrial: license.freeTrial,
  cppo: license.cppo,
  status: license.status,
  contract: { ...license.contract },
  contractExpiresAt: rfc3339(license.contractExpiresAtMs),
  createdAt: rfc3339(license.createdAtMs),
  ...(license.subscribedAtMs !== undefined
    ? { subscribedAt: rfc3339(license.subscribedAtMs) }
    : {}),
  ...(license.unsubscribeRequestedAtMs !== undefined
    ? { unsubscribeRequestedAt: rfc3339(license.unsubscribeRequestedAtMs) }
    : {}),
  ...(license.endedAtMs !== undefined ? { endedAt: rfc3339(license.endedAtMs) } : {}),
  entitlements: entitlementsOf(license),
});
