import type { BrokerSender, OutgoingDelivery } from './rhea-internals';

/** How a client receiver settles: chosen by the settle modes on its attach. */
export type ReceiveMode = 'peekLock' | 'receiveAndDelete';

/** AMQP message format of a plain (non-batch) message. */
const PLAIN_FORMAT = 0;

/**
 * A client receiver attached to an entity: the broker's sending link plus exact credit accounting.
 *
 * rhea only decrements `credit` when a delivery is actually transmitted (on the next tick), so several
 * sends in one tick would all see the old credit. We count our own not-yet-transmitted deliveries so a
 * message is only taken (and locked) when the receiver really has credit for it.
 */
export class Consumer {
  readonly mode: ReceiveMode;
  /** The session this receiver holds, on a session-enabled entity (set when the lock is granted). */
  sessionId: string | undefined;
  private readonly untransmitted: OutgoingDelivery[] = [];
  private untransmittedHead = 0;

  constructor(readonly link: BrokerSender) {
    // The SDK attaches peekLock receivers as snd-settle-mode unsettled and receiveAndDelete as settled.
    this.mode = link.remote.attach?.snd_settle_mode === 1 ? 'receiveAndDelete' : 'peekLock';
    patchDrain(link);
  }

  /** How many more messages may be sent now. */
  capacity(): number {
    if (!this.link.is_open()) return 0;
    const nextToTransmit = this.link.session.outgoing.next_pending_delivery;
    while (this.untransmittedHead < this.untransmitted.length) {
      const head = this.untransmitted[this.untransmittedHead] as OutgoingDelivery;
      if (head.id >= nextToTransmit) break;
      this.untransmittedHead++;
    }
    if (this.untransmittedHead === this.untransmitted.length) {
      this.untransmitted.length = 0;
      this.untransmittedHead = 0;
    }
    const pending = this.untransmitted.length - this.untransmittedHead;
    return Math.min(this.link.credit - pending, this.link.session.outgoing.available());
  }

  /** Sends one encoded message. Call only when {@link capacity} is positive. */
  send(payload: Buffer, tag: Buffer): OutgoingDelivery {
    const delivery = this.link.send(payload, tag, PLAIN_FORMAT);
    this.untransmitted.push(delivery);
    return delivery;
  }

  /** After a flow: if the receiver asked to drain, everything sendable has been sent, so give up the rest. */
  completeDrainIfRequested(): void {
    if (this.link._draining) this.link.set_drained(true);
  }
}

/**
 * rhea answers a drain only while the link still has credit. When in-flight messages used it all up, the
 * receiver still waits for a flow with drain=true, so answer it with zero credit too.
 */
function patchDrain(link: BrokerSender): void {
  link._get_drain = function (this: BrokerSender): boolean {
    if (!this._draining || !this._drained) return false;
    this.delivery_count += this.credit;
    this.credit = 0;
    return true;
  };
}
