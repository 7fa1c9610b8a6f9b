import test from 'ava';
import { silentLogger } from '@switchyard/core/logging';
import { waitFor } from '@switchyard/testkit';
import type { Leadership } from '../src/leader-election.js';
import { LeaderLoop, type LeaderHeld } from '../src/leader-loop.js';

// The loop the rollout controller and the placer share, with a leadership the test flips.
class FlippableLeadership implements Leadership {
  #listeners = new Set<(leader: boolean) => void>();
  constructor(public isLeader: boolean) {}
  onChange(listener: (leader: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  set(leader: boolean): void {
    this.isLeader = leader;
    for (const listener of this.#listeners) listener(leader);
  }
}

class Held implements LeaderHeld {
  opened = 0;
  closed = 0;
  isOpen = false;
  open(): void {
    if (this.isOpen) return;
    this.isOpen = true;
    this.opened++;
  }
  close(): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.closed++;
  }
}

test('a wake that comes while a pass runs is not lost: another pass follows at once', async (t) => {
  const leadership = new FlippableLeadership(true);
  let passes = 0;
  let release: (() => void) | undefined;
  const loop = new LeaderLoop({
    leadership,
    intervalMs: 600_000,
    logger: silentLogger(),
    failureMessage: 'failed',
    pass: async () => {
      passes++;
      if (passes === 1) await new Promise<void>((resolve) => (release = resolve));
    },
  });
  loop.start();
  t.teardown(() => loop.stop());
  await waitFor(() => release !== undefined, { message: 'the first pass runs' });
  loop.wake();
  release!();
  await waitFor(() => passes === 2, { message: 'a second pass without waiting for the interval' });
  t.is(passes, 2);
});

test('what it holds is open while leading and closed while following; a failing pass is logged and the loop goes on', async (t) => {
  const leadership = new FlippableLeadership(false);
  const held = new Held();
  let passes = 0;
  let following = 0;
  const loop = new LeaderLoop({
    leadership,
    intervalMs: 600_000,
    held: [held],
    logger: silentLogger(),
    failureMessage: 'failed',
    whileFollowing: () => following++,
    pass: async () => {
      passes++;
      throw new Error('etcd is down');
    },
  });
  loop.start();
  await waitFor(() => following === 1, { message: 'a follower turn' });
  t.false(held.isOpen);
  t.is(passes, 0);

  leadership.set(true);
  await waitFor(() => passes === 1, { message: 'the change of leadership woke it' });
  t.true(held.isOpen);
  loop.wake();
  await waitFor(() => passes === 2, { message: 'the failed pass did not end the loop' });

  leadership.set(false);
  await waitFor(() => following === 2 && !held.isOpen, { message: 'closed on losing leadership' });
  await loop.stop();
  t.is(held.opened, 1);
  t.is(held.closed, 1);
  t.true(loop.stopped);
});
