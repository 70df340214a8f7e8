package org.darwinmail.imap;

import java.util.ArrayList;
import java.util.List;

/**
 * A sequence set (RFC 3501 §9 sequence-set) of message numbers or UIDs; {@link #STAR} is "*", the largest number in
 * use. {@link #SAVED} is "$", the result saved by SEARCH (RFC 5182).
 */
public record SeqSet(List<long[]> ranges, boolean saved) {
  public static final long STAR = -1;
  public static final SeqSet SAVED = new SeqSet(List.of(), true);

  /** Does the set contain {@code n}, "*" being {@code max}? */
  public boolean contains(long n, long max) {
    for (long[] r : ranges) {
      long a = r[0] == STAR ? max : r[0];
      long b = r[1] == STAR ? max : r[1];
      if (n >= Math.min(a, b) && n <= Math.max(a, b)) {
        return true;
      }
    }
    return false;
  }

  /** The smallest and largest numbers named (for bounding work), "*" being {@code max}. */
  public long upper(long max) {
    long u = 0;
    for (long[] r : ranges) {
      u = Math.max(u, Math.max(r[0] == STAR ? max : r[0], r[1] == STAR ? max : r[1]));
    }
    return u;
  }

  /** The compact wire form of a sorted list of numbers: "1:3,7,9:10". */
  public static String format(List<Long> sorted) {
    StringBuilder sb = new StringBuilder();
    int i = 0;
    while (i < sorted.size()) {
      long a = sorted.get(i);
      int j = i;
      while (j + 1 < sorted.size() && sorted.get(j + 1) == sorted.get(j) + 1) {
        j++;
      }
      if (sb.length() > 0) {
        sb.append(',');
      }
      sb.append(a);
      if (j > i) {
        sb.append(':').append(sorted.get(j));
      }
      i = j + 1;
    }
    return sb.toString();
  }

  static final class Builder {
    private final List<long[]> ranges = new ArrayList<>();

    void add(long a, long b) {
      ranges.add(new long[] {a, b});
    }

    int size() {
      return ranges.size();
    }

    SeqSet build() {
      return new SeqSet(List.copyOf(ranges), false);
    }
  }
}
