import { awsSendByEpochMs, awsSendRefusal } from './usage-window';

const at = (iso: string) => Date.parse(iso);

describe('the AWS metering window at send time', () => {
  it.each([
    ['an hour still open', '2027-01-31T23:00:00Z', '2027-01-31T23:40:00Z', '2027-02-01T00:10:00Z'],
    [
      'an hour that just closed',
      '2027-01-31T23:00:00Z',
      '2027-02-01T00:00:00Z',
      '2027-02-01T00:10:00Z',
    ],
    [
      'an hour closed earlier',
      '2027-01-31T22:00:00Z',
      '2027-02-01T04:02:00Z',
      '2027-02-01T05:10:00Z',
    ],
  ])('sends %s by the run after it closes, or the next one', (_case, hour, now, sendBy) => {
    expect(awsSendByEpochMs(at(hour), at(now))).toBe(at(sendBy));
  });

  it.each([
    ['taken early on the 1st', '2027-02-01T04:30:00Z', null],
    ['taken when the run sends it after 06:00 on the 1st', '2027-02-01T05:30:00Z', 'month_closed'],
    ['taken later on the 1st', '2027-02-01T08:00:00Z', 'month_closed'],
  ])('takes the last hour of a month %s: %s', (_case, now, reason) => {
    expect(awsSendRefusal(at('2027-01-31T23:00:00Z'), at(now), null)?.reason ?? null).toBe(reason);
  });

  it('refuses no hour of the month the send is in', () => {
    expect(awsSendRefusal(at('2027-02-01T00:00:00Z'), at('2027-02-01T08:00:00Z'), null)).toBeNull();
  });

  it.each([
    ['in the hour it ended, early enough', '2027-02-03T10:30:00Z', '2027-02-03T10:50:00Z', null],
    ['an hour later', '2027-02-03T10:30:00Z', '2027-02-03T11:20:00Z', 'final_records_over'],
    [
      'when the next run is more than an hour after the end',
      '2027-02-03T10:02:00Z',
      '2027-02-03T10:20:00Z',
      'final_records_over',
    ],
  ])("takes an ended purchase's final usage %s: %s", (_case, ended, now, reason) => {
    expect(awsSendRefusal(at('2027-02-03T09:00:00Z'), at(now), at(ended))?.reason ?? null).toBe(
      reason,
    );
  });
});
