/**
 * Fingerprints are stored in ledgers: a retried request is recognised only if it gets the very same value. These
 * were computed by the implementation that wrote the production records (before the one-pass serializer and the
 * one-shot HMAC), for keyed (a short and a long, hashed key) and legacy (scrypt) fingerprints; every rewrite must
 * reproduce them byte for byte.
 */
import { createFingerprinter } from '../../shared/domain/fingerprint';
import { pinnedCases } from '../support/fingerprint-cases';

const KEY = 'pinned-fingerprint-key-0123456789abcdef';
/** Longer than SHA-256's block (64 bytes), so HMAC hashes it first; and not ASCII. */
const LONG_KEY = 'L'.repeat(100) + 'é';

/** [keyed with KEY, keyed with LONG_KEY, legacy] per case. */
const PINNED: Record<string, readonly [string, string, string]> = {
  'full request, target object': [
    'ded11a0e9fbaffa377a4964a9dfbba79857f49ac14c45010f07bd69e41b971d9.k-0fe84b65.a3e2b510720fa62efccc85b55ccd1a8eab104fe855e153eed51afdb45048f2a1',
    'ded11a0e9fbaffa377a4964a9dfbba79857f49ac14c45010f07bd69e41b971d9.k-b2c2797c.038a1f7e11ad07b00507f0e3b23f09eba3f1178f5f392f409c0f1fd7e4798bea',
    'ded11a0e9fbaffa377a4964a9dfbba79857f49ac14c45010f07bd69e41b971d9.5d8b8e6426dce226df87410c198c0b88d827e60e82d59632d81ee6ed64cb676f',
  ],
  'full request, target id string': [
    'ded11a0e9fbaffa377a4964a9dfbba79857f49ac14c45010f07bd69e41b971d9.k-0fe84b65.a3e2b510720fa62efccc85b55ccd1a8eab104fe855e153eed51afdb45048f2a1',
    'ded11a0e9fbaffa377a4964a9dfbba79857f49ac14c45010f07bd69e41b971d9.k-b2c2797c.038a1f7e11ad07b00507f0e3b23f09eba3f1178f5f392f409c0f1fd7e4798bea',
    'ded11a0e9fbaffa377a4964a9dfbba79857f49ac14c45010f07bd69e41b971d9.5d8b8e6426dce226df87410c198c0b88d827e60e82d59632d81ee6ed64cb676f',
  ],
  'full request, another secret': [
    'e7f646b6764b40437aff71299890446cb17cb5d975853226478a5bf00db45d36.k-0fe84b65.997d5e1937a4766850ed8c3b3985b29216dc364f05a2361ef9d678ff91ff0919',
    'e7f646b6764b40437aff71299890446cb17cb5d975853226478a5bf00db45d36.k-b2c2797c.ab43dffe011bd592a080ee25d03955ac0b6dd5bfbfb0027a05a0fdb345561387',
    'e7f646b6764b40437aff71299890446cb17cb5d975853226478a5bf00db45d36.d0712a5dc2e0375cd868f4904798165bd80a943ce5d31f6c6a5bb21990f6d051',
  ],
  'workspace target, string target not a backend': [
    '66afa5f230b1513fc167642f7566c7aa1e1707efacfaf1dc7a48fa15df034dcc.k-0fe84b65.9a6ed75dcede7225d905e463bde094adb1ab2fe111d585da2d561d0c7a8b3b03',
    '66afa5f230b1513fc167642f7566c7aa1e1707efacfaf1dc7a48fa15df034dcc.k-b2c2797c.70407c74d5a49c15c54de3c71cc95b3fbf08009ac6bf874b5de4ad325cac699d',
    '66afa5f230b1513fc167642f7566c7aa1e1707efacfaf1dc7a48fa15df034dcc.f9465b07f9a388b05ab4ffaa5da148a4db4cbc5ffc2562590b5be059ac91ed9b',
  ],
  'unparseable target string': [
    '5d454770c65cc3dd7598b386b7eb005b734f7d229859bd363e31959b1a886214',
    '5d454770c65cc3dd7598b386b7eb005b734f7d229859bd363e31959b1a886214',
    '5d454770c65cc3dd7598b386b7eb005b734f7d229859bd363e31959b1a886214',
  ],
  'no secrets': [
    '70606bfcbb24907ea96274b8148c0ea127d66472aa35dd905b8365996e70a9a7',
    '70606bfcbb24907ea96274b8148c0ea127d66472aa35dd905b8365996e70a9a7',
    '70606bfcbb24907ea96274b8148c0ea127d66472aa35dd905b8365996e70a9a7',
  ],
  'odd keys and values': [
    '6de28ca34259db043450031974ad68b64507166ccc11daad7892f40218f7878c',
    '6de28ca34259db043450031974ad68b64507166ccc11daad7892f40218f7878c',
    '6de28ca34259db043450031974ad68b64507166ccc11daad7892f40218f7878c',
  ],
  'secrets of other types and in nested places': [
    '167011f5e783d4f372bd90d5e6aa2bb869ad99b8bd484d99ee2012036da6e525.k-0fe84b65.6d82e385eae90bace83d096b567007c9ef66ed23b3b7f75aecbc49815aa57ea0',
    '167011f5e783d4f372bd90d5e6aa2bb869ad99b8bd484d99ee2012036da6e525.k-b2c2797c.e3e89cd517dcec7ecb6f42370bf4e2c1df197316820273bcb16f4e4689480b44',
    '167011f5e783d4f372bd90d5e6aa2bb869ad99b8bd484d99ee2012036da6e525.0ec3d5aa003c777e50e90f785a27e07924693b24085fe660708fdcc328d3de83',
  ],
  'an array': [
    '9b666bf322c5c14d0ffd210a6acef5c4131853f8cbb2c19acf06cefea9c31c3f.k-0fe84b65.7cddcd49e5e1f300651d395953e78b459c2746080438f93a73e68ce6a6df37b8',
    '9b666bf322c5c14d0ffd210a6acef5c4131853f8cbb2c19acf06cefea9c31c3f.k-b2c2797c.3068713aabf71ef43c86a49de79adbe6a4be3213dae41c218d6837d44f9edee5',
    '9b666bf322c5c14d0ffd210a6acef5c4131853f8cbb2c19acf06cefea9c31c3f.22913f72fa2f94db45ff5e71c0d5a1819384776f7e0fb7049e18da73a380c4a4',
  ],
  'a string': [
    '945603a8f587786b463c3f94fce115c0fae88fac2728cc96ddf5981cf7f61741',
    '945603a8f587786b463c3f94fce115c0fae88fac2728cc96ddf5981cf7f61741',
    '945603a8f587786b463c3f94fce115c0fae88fac2728cc96ddf5981cf7f61741',
  ],
  null: [
    '74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b',
    '74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b',
    '74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b',
  ],
  undefined: [
    '74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b',
    '74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b',
    '74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b',
  ],
  'a change set': [
    'fa94627d61b27f74a95ac8d78fd05d5604f0edc4b2b6b9e0f6dbe35535393119.k-0fe84b65.c9b2c02dd58af8ed815717bf0665e7473916ebd886c57d0b46158efdd33eefe3',
    'fa94627d61b27f74a95ac8d78fd05d5604f0edc4b2b6b9e0f6dbe35535393119.k-b2c2797c.892cbebbf0af289fca4146fb9c3e8ce8835fc26a0f19306a18458bd89be15b05',
    'fa94627d61b27f74a95ac8d78fd05d5604f0edc4b2b6b9e0f6dbe35535393119.a711420b05109123ac9c4016f082d32f24807c3c7a6394946231cc00478d1db6',
  ],
  'an invalid request': [
    '4348cf357a7066c4a82db7c22d4f15de6d8719c5812b8fdc0c03911e36f5b391',
    '4348cf357a7066c4a82db7c22d4f15de6d8719c5812b8fdc0c03911e36f5b391',
    '4348cf357a7066c4a82db7c22d4f15de6d8719c5812b8fdc0c03911e36f5b391',
  ],
};

describe('pinned fingerprints (stored in ledgers)', () => {
  const keyed = createFingerprinter({ current: KEY });
  const longKeyed = createFingerprinter({ current: LONG_KEY });
  const legacy = createFingerprinter();
  const cases = pinnedCases();

  it('cover every pinned case', () => {
    expect(cases.map((c) => c.name).sort()).toEqual(Object.keys(PINNED).sort());
  });

  it.each(cases.map((c) => [c.name, c.request] as const))('are unchanged: %s', (name, request) => {
    const [withKey, withLongKey, withoutKey] = PINNED[name]!;
    expect(keyed.of(request).value).toBe(withKey);
    expect(longKeyed.of(request).value).toBe(withLongKey);
    expect(legacy.of(request).value).toBe(withoutKey);
  });

  it.each(cases.map((c) => [c.name, c.request] as const))(
    'are recognised after a rotation and after setting a key: %s',
    (name, request) => {
      const [withKey, withLongKey, withoutKey] = PINNED[name]!;
      const rotated = createFingerprinter({
        current: 'another-fingerprint-key-0123456789abc',
        previous: [KEY, LONG_KEY],
      });
      const now = rotated.of(request);
      expect(now.matches(withKey)).toBe(true);
      expect(now.matches(withLongKey)).toBe(true);
      expect(now.matches(withoutKey)).toBe(true);
      // Under an unknown key a request with secrets is another request; one without secrets has no keyed part.
      const hasSecrets = withKey.includes('.');
      expect(
        createFingerprinter({ current: 'unrelated-fingerprint-key-0123456789' }).of(request).matches(withKey),
      ).toBe(!hasSecrets);
    },
  );
});
