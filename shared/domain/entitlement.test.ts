import { InvalidTransitionError, ValidationError } from './errors';
import {
  LIFECYCLE_EVENTS,
  LifecycleEvent,
  TRANSITIONS,
  billsUsageAt,
  isUsable,
  newEntitlement,
  nextStatus,
  pathBetween,
  transition,
} from './entitlement';
import { ENTITLEMENT_STATUSES } from './model';
import { anEntitlement, T0 } from '../test/builders';

const everyPair = ENTITLEMENT_STATUSES.flatMap((status) =>
  LIFECYCLE_EVENTS.map((event) => [status, event, TRANSITIONS[status][event] ?? null] as const),
);

describe('entitlement state machine', () => {
  it.each(everyPair)('from %s on %s leads to %s', (status, event, expected) => {
    // Arrange
    const entitlement = anEntitlement({ status, pendingPlan: 'enterprise' });
    // Act
    const act = () => transition(entitlement, event, T0 + 1);
    // Assert
    if (expected === null) {
      expect(act).toThrow(InvalidTransitionError);
    } else {
      const next = act();
      expect(next.status).toBe(expected);
      expect(next.updatedAtEpochMs).toBe(T0 + 1);
      expect(next.version).toBe(entitlement.version);
    }
  });

  it('names the illegal pair in the error', () => {
    const error = (() => {
      try {
        transition(anEntitlement({ status: 'deleted' }), 'activated', T0);
      } catch (e) {
        return e as InvalidTransitionError;
      }
    })();
    expect(error).toMatchObject({ from: 'deleted', event: 'activated', retryable: false });
  });

  it('has no way out of deleted', () => {
    expect(Object.keys(TRANSITIONS.deleted)).toEqual([]);
  });

  it('applies a requested plan change only with the plan it asks for', () => {
    const active = anEntitlement({ status: 'active', plan: 'pro', pendingPlan: null });
    expect(() => transition(active, 'plan_change_requested', T0)).toThrow(ValidationError);
    const pending = transition(active, 'plan_change_requested', T0, { pendingPlan: 'enterprise' });
    expect(pending).toMatchObject({
      status: 'pending_plan_change',
      plan: 'pro',
      pendingPlan: 'enterprise',
    });
  });

  it('moves the pending plan into place when the change takes effect', () => {
    const pending = anEntitlement({
      status: 'pending_plan_change',
      plan: 'pro',
      pendingPlan: 'enterprise',
    });
    expect(transition(pending, 'plan_changed', T0)).toMatchObject({
      status: 'active',
      plan: 'enterprise',
      pendingPlan: null,
    });
    expect(transition(pending, 'plan_changed', T0, { plan: 'team' })).toMatchObject({
      plan: 'team',
      pendingPlan: null,
    });
  });

  it('keeps the old plan when the change is cancelled', () => {
    const pending = anEntitlement({
      status: 'pending_plan_change',
      plan: 'pro',
      pendingPlan: 'enterprise',
    });
    expect(transition(pending, 'plan_change_cancelled', T0)).toMatchObject({
      status: 'active',
      plan: 'pro',
      pendingPlan: null,
    });
  });

  it('applies the data an event carries', () => {
    const offer = { id: 'o-2', startEpochMs: T0, endEpochMs: T0 + 1, duration: null };
    expect(transition(anEntitlement(), 'renewed', T0, { offer }).offer).toEqual(offer);
  });

  it.each([
    ['pending_approval', 'active', ['activated']],
    ['pending_approval', 'pending_cancellation', ['activated', 'cancellation_scheduled']],
    ['pending_approval', 'pending_plan_change', ['activated', 'plan_change_requested']],
    ['active', 'active', []],
    ['pending_cancellation', 'active', ['cancellation_reverted']],
    ['suspended', 'active', ['reinstated']],
    ['active', 'deleted', ['deleted']],
    ['cancelled', 'pending_cancellation', ['activated', 'cancellation_scheduled']],
    ['deleted', 'active', null],
  ] as const)('finds the path from %s to %s', (from, to, path) => {
    expect(pathBetween(from, to)).toEqual(path);
  });

  it('finds a path between every pair of statuses except out of deleted and back to pending', () => {
    for (const from of ENTITLEMENT_STATUSES) {
      for (const to of ENTITLEMENT_STATUSES) {
        const path = pathBetween(from, to);
        const unreachable = (from === 'deleted' || to === 'pending_approval') && from !== to;
        if (unreachable) {
          expect(path).toBeNull();
          continue;
        }
        expect(path).not.toBeNull();
        const end = path!.reduce((status, event) => nextStatus(status, event)!, from);
        expect(end).toBe(to);
      }
    }
  });

  it('creates a new entitlement at version 0 with empty data', () => {
    const created = newEntitlement(
      { cloud: 'aws', id: 'arn:x' },
      { accountId: '1', productId: 'p', status: 'active' },
      T0,
    );
    expect(created).toMatchObject({
      cloud: 'aws',
      id: 'arn:x',
      status: 'active',
      version: 0,
      plan: null,
      contract: [],
      freeTrial: false,
      createdAtEpochMs: T0,
    });
  });

  it('remembers when a purchase first ended, and forgets it when it comes back', () => {
    const live = newEntitlement(
      { cloud: 'aws', id: 'arn:x' },
      { accountId: '1', productId: 'p', status: 'active' },
      T0,
    );
    expect(live.endedAtEpochMs).toBeNull();
    const cancelled = transition(live, LifecycleEvent.cancelled, T0 + 1_000);
    expect(cancelled.endedAtEpochMs).toBe(T0 + 1_000);
    // Later writes to an ended purchase do not move its end.
    expect(transition(cancelled, LifecycleEvent.updated, T0 + 2_000).endedAtEpochMs).toBe(
      T0 + 1_000,
    );
    expect(transition(cancelled, LifecycleEvent.deleted, T0 + 3_000).endedAtEpochMs).toBe(
      T0 + 1_000,
    );
    // A legacy AWS listing's buyer who subscribes again makes the same purchase live.
    expect(transition(cancelled, LifecycleEvent.activated, T0 + 4_000).endedAtEpochMs).toBeNull();
    const firstSeenEnded = newEntitlement(
      { cloud: 'gcp', id: 'e' },
      { accountId: '1', productId: 'p', status: 'cancelled' },
      T0,
    );
    expect(firstSeenEnded.endedAtEpochMs).toBe(T0);
  });

  it('bills usage of a live purchase at any time, of an ended one only before its end', () => {
    const live = anEntitlement({ status: 'active' });
    expect(billsUsageAt(live, T0 + 10 * 3_600_000)).toBe(true);
    const ended = anEntitlement({ status: 'cancelled', endedAtEpochMs: T0 });
    expect(billsUsageAt(ended, T0 - 1)).toBe(true);
    expect(billsUsageAt(ended, T0)).toBe(false);
    expect(billsUsageAt(anEntitlement({ status: 'deleted', endedAtEpochMs: null }), T0 - 1)).toBe(
      false,
    );
    expect(billsUsageAt(anEntitlement({ status: 'pending_approval' }), T0)).toBe(false);
  });

  it.each(ENTITLEMENT_STATUSES)('says whether %s may be used and billed', (status) => {
    expect(isUsable(status)).toBe(
      ['active', 'pending_plan_change', 'pending_cancellation'].includes(status),
    );
  });
});
