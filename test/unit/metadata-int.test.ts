import { metadataInt } from '../../functions/message-body';

describe('metadataInt (deliveryCount as the host may hand it)', () => {
  it.each([
    [3, 3],
    ['3', 3],
    [{ low: 3, high: 0, unsigned: false }, 3],
    [{ low: -1, high: 0 }, 4294967295],
    [BigInt(7), 7],
  ])('reads %p as %p', (input, expected) => {
    expect(metadataInt(input)).toBe(expected);
  });

  it.each([[undefined], [null], ['three'], [{}], [Number.NaN]])('gives undefined for %p', (input) => {
    expect(metadataInt(input)).toBeUndefined();
  });
});
