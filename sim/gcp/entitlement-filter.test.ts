import type { FilterableEntitlement } from './entitlement-filter';
import { compileEntitlementFilter, FilterSyntaxError, parseFilter } from './entitlement-filter';

const entitlement = (overrides: Partial<FilterableEntitlement> = {}): FilterableEntitlement => ({
  accountId: 'E-1234',
  accountName: 'providers/DEMO-local/accounts/E-1234',
  customerBillingAccount: 'billingAccounts/0A1B2C-3D4E5F-6A7B8C',
  productExternalName: 'demo.example.com',
  offer: 'projects/1/services/demo.example.com/privateOffers/offer-1',
  plan: 'pro',
  state: 'ENTITLEMENT_ACTIVE',
  consumerProjects: ['projects/123'],
  offerHistory: ['projects/1/services/demo.example.com/standardOffers/std-1'],
  ...overrides,
});

const matches = (filter: string, e: FilterableEntitlement = entitlement()): boolean =>
  compileEntitlementFilter(filter)(e);

describe('parseFilter', () => {
  it('reads an empty or blank filter as no filter', () => {
    expect(parseFilter('')).toBeUndefined();
    expect(parseFilter('   ')).toBeUndefined();
  });

  it('reads a restriction with each comparator', () => {
    expect(parseFilter('plan=pro')).toEqual({
      kind: 'compare',
      field: 'plan',
      comparator: '=',
      value: 'pro',
    });
    expect(parseFilter('plan!=pro')).toMatchObject({ comparator: '!=' });
    expect(parseFilter('consumers.project:projects/1')).toMatchObject({
      field: 'consumers.project',
      comparator: ':',
      value: 'projects/1',
    });
  });

  it('reads a space as AND', () => {
    expect(parseFilter('account=E-1234 state=active')).toEqual(
      parseFilter('account=E-1234 AND state=active'),
    );
  });

  it('binds OR tighter than AND, as Google filters do', () => {
    expect(parseFilter('a=1 AND b=2 OR c=3')).toEqual({
      kind: 'and',
      nodes: [
        { kind: 'compare', field: 'a', comparator: '=', value: '1' },
        {
          kind: 'or',
          nodes: [
            { kind: 'compare', field: 'b', comparator: '=', value: '2' },
            { kind: 'compare', field: 'c', comparator: '=', value: '3' },
          ],
        },
      ],
    });
  });

  it('reads double-quoted values with escapes and special characters', () => {
    expect(parseFilter('product="providerId:productId"')).toMatchObject({
      value: 'providerId:productId',
    });
    expect(parseFilter('plan="a \\"b\\" (c)"')).toMatchObject({ value: 'a "b" (c)' });
  });

  it.each([
    ['plan=', /expected a value/],
    ['=pro', /expected an attribute/],
    ['plan pro', /expected "=", "!=" or ":"/],
    ['(plan=pro', /expected "\)"/],
    ['plan=pro)', /unexpected "\)"/],
    ['plan="pro', /unterminated string/],
    ['plan!pro', /unexpected "!"/],
    ['plan=pro and state=active', /expected "=", "!=" or ":" after "and"/],
    ['NOT', /expected an attribute/],
    ['plan=pro OR', /expected an attribute/],
  ])('refuses %j', (filter, message) => {
    expect(() => parseFilter(filter)).toThrow(FilterSyntaxError);
    expect(() => parseFilter(filter)).toThrow(message);
  });
});

describe('compileEntitlementFilter', () => {
  it.each([
    ['', true],
    ['plan=pro', true],
    ['plan=basic', false],
    ['plan!=basic', true],
    ['account=E-1234', true],
    ['account="providers/DEMO-local/accounts/E-1234"', true],
    ['account=E-9999', false],
    ['customer_billing_account="billingAccounts/0A1B2C-3D4E5F-6A7B8C"', true],
    ['product_external_name=demo.example.com', true],
    ['product="demo.example.com"', true],
    ['quote_external_name=q-1', false],
    ['quote_external_name!=q-1', true],
    ['offer="projects/1/services/demo.example.com/privateOffers/offer-1"', true],
    ['offer=offer-1', true],
    ['new_pending_offer=offer-2', false],
    ['consumers.project:projects/123', true],
    ['consumers.project:projects/999', false],
    ['change_history.new_offer:std-1', true],
    ['NOT plan=pro', false],
    ['NOT (plan=basic OR plan=free)', true],
    ['state=active AND (account=E-1234 OR account=5678) AND NOT (product=foo-product)', true],
    ['plan=basic OR plan=pro', true],
    ['plan=basic plan=pro', false],
  ])('%j matches: %s', (filter, expected) => {
    expect(matches(filter)).toBe(expected);
  });

  it.each([
    'state=active',
    'state=ACTIVE',
    'state=Entitlement_Active',
    'state=ENTITLEMENT_ACTIVE',
    'state:active',
  ])('matches the state case-insensitively with an optional prefix: %j', (filter) => {
    expect(matches(filter)).toBe(true);
    expect(matches(filter, entitlement({ state: 'ENTITLEMENT_CANCELLED' }))).toBe(false);
  });

  it('matches the pending plan under both spellings', () => {
    const pending = entitlement({
      state: 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL',
      newPendingPlan: 'max',
    });
    expect(matches('newPendingPlan=max', pending)).toBe(true);
    expect(matches('new_pending_plan=max', pending)).toBe(true);
    expect(matches('new_pending_plan=max')).toBe(false);
  });

  it('refuses equality on a repeated attribute', () => {
    expect(() => compileEntitlementFilter('consumers.project=projects/123')).toThrow(/membership/);
  });

  it('refuses an unknown attribute, naming the supported ones', () => {
    expect(() => compileEntitlementFilter('colour=red')).toThrow(
      /unsupported attribute "colour".*account/,
    );
  });
});
