// Kernel byte counters as the AP reports them → cumulative counters Poste can sum. Two things make
// them go down: a reboot (uptime goes down: everything restarts at 0, reported as the drop it is —
// the store counts from zero after a drop) and a 32-bit counter wrapping on older drivers
// (uptime still rising: 2^32 is added so the counter keeps rising). Never a negative delta.

const WRAP_32 = 2 ** 32;

export class UnwrappedCounter {
  #prevRaw: number | undefined;
  #offset = 0;
  wraps = 0;

  /** The cumulative value for this raw reading; `rebooted` restarts the count at the raw value. */
  update(raw: number, rebooted: boolean): number {
    if (rebooted || this.#prevRaw === undefined) {
      this.#offset = 0;
    } else if (raw < this.#prevRaw) {
      // A 32-bit counter wraps to a small value; a 64-bit one never wraps in practice, so a drop of
      // a value above 2^32 is a driver reset: keep counting from where it was.
      this.#offset += Math.max(WRAP_32, this.#prevRaw);
      this.wraps++;
    }
    this.#prevRaw = raw;
    return raw + this.#offset;
  }
}
