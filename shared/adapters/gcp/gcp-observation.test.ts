import { ValidationError } from '../../domain/errors';
import { loadFixture } from '../../test/fixtures';
import { observeAccount, observeEntitlement } from './gcp-observation';
import type { ProcurementEntitlement } from './procurement-client';

const entitlement = (overrides: Partial<ProcurementEntitlement> = {}): ProcurementEntitlement => ({
  ...loadFixture<ProcurementEntitlement>('gcp', 'procurement-entitlement-activation-requested'),
  ...overrides,
});

describe('Procurement resources in the cloud-neutral model', () => {
  it('maps an entitlement waiting for approval', () => {
    expect(observeEntitlement(entitlement())).toEqual({
      accountId: 'E-1234-5678-ABCD',
      productId: 'example-messaging-service.gcpmarketplace.example.com',
      status: 'pending_approval',
      awaiting: 'approval',
      plan: 'pro',
      pendingPlan: null,
      offer: {
        id: 'projects/123456789/services/example-messaging-service.gcpmarketplace.example.com/privateOffers/a1b2c3',
        startEpochMs: null,
        endEpochMs: null,
        duration: 'P2Y3M',
      },
      pendingOffer: null,
      usageReportingId: 'project_number:625643682501',
      snapshot: { updateTimeEpochMs: Date.parse('2026-11-22T10:05:00.000Z'), data: entitlement() },
    });
  });

  it.each([
    ['ENTITLEMENT_ACTIVE', 'active', null],
    ['ENTITLEMENT_PENDING_CANCELLATION', 'pending_cancellation', null],
    ['ENTITLEMENT_CANCELLED', 'cancelled', null],
    ['ENTITLEMENT_PENDING_PLAN_CHANGE', 'pending_plan_change', null],
    ['ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL', 'pending_plan_change', 'plan_change_approval'],
    ['ENTITLEMENT_SUSPENDED', 'suspended', null],
  ])('maps %s to %s', (state, status, awaiting) => {
    expect(observeEntitlement(entitlement({ state, newPendingPlan: 'enterprise' }))).toMatchObject({
      status,
      awaiting,
      pendingPlan: 'enterprise',
    });
  });

  it('keeps a pending private offer with its start and end', () => {
    const observed = observeEntitlement(
      entitlement({
        newPendingOffer: 'projects/1/services/s/privateOffers/next',
        newOfferStartTime: '2026-12-01T00:00:00Z',
        newOfferEndTime: '2027-12-01T00:00:00Z',
      }),
    );
    expect(observed.pendingOffer).toEqual({
      id: 'projects/1/services/s/privateOffers/next',
      startEpochMs: Date.parse('2026-12-01T00:00:00Z'),
      endEpochMs: Date.parse('2027-12-01T00:00:00Z'),
      duration: null,
    });
  });

  it('refuses an undocumented state and a resource without updateTime', () => {
    expect(() => observeEntitlement(entitlement({ state: 'ENTITLEMENT_SOMETHING_NEW' }))).toThrow(
      ValidationError,
    );
    expect(() => observeEntitlement(entitlement({ updateTime: null }))).toThrow(ValidationError);
  });

  it('reads an account as signed up only once its signup approval is APPROVED', () => {
    const account = (state: string) => ({
      name: 'providers/p/accounts/a',
      state: 'ACCOUNT_ACTIVE',
      approvals: [{ name: 'signup', state }],
      updateTime: '2026-11-22T10:00:00Z',
    });
    expect(observeAccount(account('PENDING')).status).toBe('pending_signup');
    expect(observeAccount(account('APPROVED')).status).toBe('active');
  });
});
