/**
 * The rules a change set must meet as a whole, on top of each change's own rules. Pure: the caller reads what ARM
 * holds (`CurrentState`, every backend of each scope the set deletes from or builds pools in) and passes it in.
 *
 * - One change per backend: two changes to one backend would make the order, and the undo, ambiguous.
 * - A pool member must exist already or be created (or updated) by the set, and must not be a pool.
 * - A backend the set deletes must not stay a member of a pool the set leaves in place.
 * - The dependencies must not form a cycle (only possible with pools listing pools, which ARM refuses too).
 */
import type { ChangeRequest } from './contract/change-request';
import type { ErrorDetail } from './contract/error-response';
import {
  backendKey,
  isPoolAfter,
  listedMemberIds,
  memberKey,
  membersAfter,
  scopeKey,
  type CurrentState,
} from './set-graph';
import { dependencies, stableTopologicalOrder } from './set-order';

const memberPath = (index: number, position: number): string =>
  `changes[${index}].body.properties.pool.services[${position}].id`;

/** The problems of a set as a whole; empty when it may be applied. Paths name the change (`changes[2].target`). */
export function setProblems(changes: readonly ChangeRequest[], current: CurrentState): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const indexOf = new Map<string, number>();
  changes.forEach((change, index) => {
    const key = backendKey(change.target);
    const first = indexOf.get(key);
    if (first === undefined) indexOf.set(key, index);
    else {
      problems.push({
        code: 'DuplicateTarget',
        target: `changes[${index}].target`,
        message: `changes[${first}] already changes this backend; a set holds one change per backend.`,
      });
    }
  });
  if (problems.length > 0) return problems; // the other rules assume one change per backend

  const changeOf = (key: string): ChangeRequest | undefined => {
    const index = indexOf.get(key);
    return index === undefined ? undefined : changes[index];
  };

  // Members listed by the set's own pools.
  changes.forEach((change, index) => {
    listedMemberIds(change).forEach((id, position) => {
      const key = id === undefined ? undefined : memberKey(change.target, id);
      if (key === undefined) return; // the change's own rules report a malformed id
      const other = changeOf(key);
      const now = current.backends.get(key);
      if (other?.operation === 'delete') {
        problems.push({
          code: 'MemberDeleted',
          target: memberPath(index, position),
          message: `This set deletes the member (changes[${indexOf.get(key)}]).`,
        });
      } else if (isPoolAfter(other, now)) {
        problems.push({
          code: 'MemberIsPool',
          target: memberPath(index, position),
          message: 'A pool member must be a single backend, not a pool.',
        });
      } else if (other === undefined && now === undefined && current.scopes.has(scopeKey(change.target))) {
        problems.push({
          code: 'MemberNotFound',
          target: memberPath(index, position),
          message: 'The member does not exist and this set does not create it.',
        });
      }
    });
  });

  // Deleted backends still listed by a pool the set leaves in place (pools the set writes are reported above).
  changes.forEach((change, index) => {
    if (change.operation !== 'delete') return;
    const deleted = backendKey(change.target);
    for (const [pool, now] of current.backends) {
      if (pool === deleted || !now.members.includes(deleted)) continue;
      const poolChange = changeOf(pool);
      if (!membersAfter(poolChange, now).includes(deleted)) continue;
      if (poolChange !== undefined && membersAfter(poolChange, undefined).includes(deleted)) continue;
      problems.push({
        code: 'MemberOfPool',
        target: `changes[${index}].target`,
        message:
          `The backend is a member of pool '${pool.slice(pool.lastIndexOf('/') + 1)}', which this set leaves in ` +
          'place; remove it from the pool in the same set.',
      });
    }
  });

  if (problems.length === 0) {
    const ordered = stableTopologicalOrder(changes.length, dependencies(changes, current));
    if (!ordered.ok) {
      for (const index of ordered.cycle) {
        problems.push({
          code: 'DependencyCycle',
          target: `changes[${index}]`,
          message: 'This change depends, through pool membership, on a change that depends on it.',
        });
      }
    }
  }
  return problems;
}

/** The scopes (keys) a set needs read before it can be checked: where it deletes, and where it writes pools. */
export function scopesToRead(changes: readonly ChangeRequest[]): ChangeRequest['target'][] {
  const out = new Map<string, ChangeRequest['target']>();
  for (const change of changes) {
    const needs = change.operation === 'delete' || listedMemberIds(change).length > 0;
    if (needs) out.set(scopeKey(change.target), change.target);
  }
  return [...out.values()];
}
