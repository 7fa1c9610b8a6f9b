/**
 * Primary inference calls this node has accepted and not yet answered.
 * Shadow mirroring reads it to start shadow runs only in the gaps between
 * primaries (docs/shadows.md); one counter for the whole node, so a read
 * is a field access.
 */
export class PrimaryInFlight {
  private count = 0;

  get value(): number {
    return this.count;
  }

  enter(): void {
    this.count++;
  }

  leave(): void {
    this.count--;
  }
}
