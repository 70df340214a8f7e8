package org.darwinmail.delivery;

import java.util.List;
import org.darwinmail.store.BlobRef;

/** Where mail for remote recipients goes: the durable outbound queue. */
public interface Outbound {
  /**
   * Queues {@code blob} (already durable) from {@code sender} ("" for the null sender) to remote {@code recipients}.
   * When this returns the queue entry is durable too: the caller may answer 250.
   *
   * @param account the authenticated account that submitted it, or null (mail relayed by an alias)
   */
  void enqueue(String sender, List<String> recipients, BlobRef blob, boolean smtputf8, String account);
}
