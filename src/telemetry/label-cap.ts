/** Caps distinct values per label so a misbehaving agent cannot explode metric cardinality. */
export const OVERFLOW = '_OTHER';

export class LabelCap {
  private seen = new Map<string, Set<string>>();
  constructor(private readonly maxValues: number) {}

  value(label: string, v: string): string {
    let set = this.seen.get(label);
    if (!set) this.seen.set(label, (set = new Set()));
    if (set.has(v)) return v;
    if (set.size >= this.maxValues) return OVERFLOW;
    set.add(v);
    return v;
  }
}
