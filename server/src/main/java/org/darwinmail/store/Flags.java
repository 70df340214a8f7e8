package org.darwinmail.store;

import java.util.ArrayList;
import java.util.List;

/** IMAP system flags (RFC 3501 §2.3.2) stored as bits; \Recent is per session and never stored. */
public final class Flags {
  public static final int SEEN = 1;
  public static final int ANSWERED = 2;
  public static final int FLAGGED = 4;
  public static final int DELETED = 8;
  public static final int DRAFT = 16;

  private static final String[] NAMES = {"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"};

  private Flags() {}

  /** The bit of a system flag name (case-insensitive), or 0 when it is not one. */
  public static int bit(String name) {
    for (int i = 0; i < NAMES.length; i++) {
      if (NAMES[i].equalsIgnoreCase(name)) {
        return 1 << i;
      }
    }
    return 0;
  }

  public static List<String> names(int bits) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < NAMES.length; i++) {
      if ((bits & (1 << i)) != 0) {
        out.add(NAMES[i]);
      }
    }
    return out;
  }
}
