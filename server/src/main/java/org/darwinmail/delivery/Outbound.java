package org.darwinmail.delivery;

import java.util.List;
import org.darwinmail.store.BlobRef;

/** Where mail for remote recipients goes: the durable outbound queue. */
public interface Outbound {
  /**
   * Where a message came from, for the delivery trace: the SMTP client's address ("" for mail the server wrote) and
   * the message's Message-ID as written ("" when none).
   */
  record Origin(String client, String messageId) {
    public static final Origin NONE = new Origin("", "");
  }

  /**
   * Queues {@code blob} (already durable) from {@code sender} ("" for the null sender) to remote {@code recipients}.
   * When this returns the queue entry is durable too: the caller may answer 250.
   *
   * @param account the authenticated account that submitted it, or null (mail relayed by an alias)
   */
  void enqueue(String sender, List<String> recipients, BlobRef blob, boolean smtputf8, String account);

  /** {@link #enqueue}, recording in the delivery trace where it came from (the queue's own does, same transaction). */
  default void enqueue(String sender, List<String> recipients, BlobRef blob, boolean smtputf8, String account,
      Origin origin) {
    enqueue(sender, recipients, blob, smtputf8, account);
  }
}
