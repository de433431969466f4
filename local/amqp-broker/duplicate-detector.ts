/** Service Bus's default duplicate-detection history window. */
export const DUPLICATE_DETECTION_WINDOW_MS = 10 * 60 * 1000;

/**
 * Remembers message ids accepted by one queue or topic within a time window. Entries are kept in
 * acceptance order, so forgetting old ones only ever looks at the oldest: O(1) amortized per message.
 */
export class DuplicateDetector {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly now: () => number,
    private readonly windowMs = DUPLICATE_DETECTION_WINDOW_MS,
  ) {}

  /** True when `messageId` was already accepted within the window; otherwise records it and returns false. */
  isDuplicate(messageId: string): boolean {
    const now = this.now();
    for (const [id, acceptedAt] of this.seen) {
      if (now - acceptedAt < this.windowMs) break;
      this.seen.delete(id);
    }
    if (this.seen.has(messageId)) return true;
    this.seen.set(messageId, now);
    return false;
  }
}
