// A clock tests move by hand.
export class FakeClock {
  constructor(public now = 1_000_000) {}
  advance(ms: number): number {
    this.now += ms;
    return this.now;
  }
}
