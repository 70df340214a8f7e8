package org.darwinmail.config;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Outbound abuse limits ({@code [guard.send]}): applied to every authenticated sender (submission), globally,
 * with per-account overrides and an allowlist of accounts that legitimately send in bulk.
 *
 * @param enabled     false turns rate limits and burst blocking off
 * @param limits      the global limits (the keys of {@link SendLimits}, written directly under [guard.send])
 * @param allowlist   accounts never limited nor blocked
 * @param postmaster  the admin mailbox: told of a block, and where postmaster@ and abuse@ of every local domain go
 *                    unless an account or alias has that name (store.Directory); "" = the account created first
 * @param accounts    per-account overrides, by address
 */
public record SendConfig(Boolean enabled, Integer messagesPerMinute, Integer messagesPerHour, Integer messagesPerDay,
    Integer recipientsPerMinute, Integer recipientsPerHour, Integer recipientsPerDay,
    Integer newRecipientsPerHour, Integer newRecipientsPerDay,
    Integer burstMessages, Integer burstRecipients, Integer burstWindowSeconds,
    List<String> allowlist, String postmaster, Map<String, SendLimits> accounts) {

  public SendConfig {
    enabled = enabled == null || enabled;
    SendLimits d = new SendLimits(messagesPerMinute, messagesPerHour, messagesPerDay, recipientsPerMinute,
        recipientsPerHour, recipientsPerDay, newRecipientsPerHour, newRecipientsPerDay, burstMessages,
        burstRecipients, burstWindowSeconds).over(SendLimits.defaults());
    messagesPerMinute = d.messagesPerMinute();
    messagesPerHour = d.messagesPerHour();
    messagesPerDay = d.messagesPerDay();
    recipientsPerMinute = d.recipientsPerMinute();
    recipientsPerHour = d.recipientsPerHour();
    recipientsPerDay = d.recipientsPerDay();
    newRecipientsPerHour = d.newRecipientsPerHour();
    newRecipientsPerDay = d.newRecipientsPerDay();
    burstMessages = d.burstMessages();
    burstRecipients = d.burstRecipients();
    burstWindowSeconds = d.burstWindowSeconds();
    allowlist = allowlist == null ? List.of()
        : allowlist.stream().map(a -> a.trim().toLowerCase(Locale.ROOT)).toList();
    postmaster = postmaster == null ? "" : postmaster.trim();
    if (!postmaster.isEmpty() && !postmaster.matches("[^@\\s]+@[^@\\s]+")) {
      throw new ConfigException("guard.send.postmaster: not an address: " + postmaster);
    }
    Map<String, SendLimits> m = new LinkedHashMap<>();
    if (accounts != null) {
      accounts.forEach((k, v) -> m.put(k.trim().toLowerCase(Locale.ROOT), v));
    }
    accounts = Map.copyOf(m);
  }

  public static SendConfig defaults() {
    return new SendConfig(null, null, null, null, null, null, null, null, null, null, null, null, null, null, null);
  }

  /** The global limits. */
  public SendLimits limits() {
    return new SendLimits(messagesPerMinute, messagesPerHour, messagesPerDay, recipientsPerMinute, recipientsPerHour,
        recipientsPerDay, newRecipientsPerHour, newRecipientsPerDay, burstMessages, burstRecipients,
        burstWindowSeconds);
  }

  /** The limits of one account: its overrides over the global limits. */
  public SendLimits limitsFor(String account) {
    SendLimits o = accounts.get(account.toLowerCase(Locale.ROOT));
    return o == null ? limits() : o.over(limits());
  }

  public boolean allowlisted(String account) {
    return allowlist.contains(account.toLowerCase(Locale.ROOT));
  }
}
