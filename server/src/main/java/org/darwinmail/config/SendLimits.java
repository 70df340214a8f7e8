package org.darwinmail.config;

/**
 * Outbound limits of one account ({@code [guard.send.accounts."ADDRESS"]}): every key is optional and a missing
 * one takes the global value of {@code [guard.send]}. 0 means "no limit" for that figure.
 *
 * @param messagesPerMinute      messages accepted per minute (sliding window); beyond: 451 4.7.1
 * @param messagesPerHour        messages per hour
 * @param messagesPerDay         messages per day
 * @param recipientsPerMinute    recipients (envelope RCPT) per minute
 * @param recipientsPerHour      recipients per hour
 * @param recipientsPerDay       recipients per day
 * @param newRecipientsPerHour   recipients the account never wrote to before, per hour
 * @param newRecipientsPerDay    first-time recipients per day
 * @param burstMessages          messages within {@code burstWindowSeconds} that block the account
 * @param burstRecipients        recipients within {@code burstWindowSeconds} that block the account
 * @param burstWindowSeconds     the burst window
 */
public record SendLimits(Integer messagesPerMinute, Integer messagesPerHour, Integer messagesPerDay,
    Integer recipientsPerMinute, Integer recipientsPerHour, Integer recipientsPerDay,
    Integer newRecipientsPerHour, Integer newRecipientsPerDay,
    Integer burstMessages, Integer burstRecipients, Integer burstWindowSeconds) {

  public SendLimits {
    String p = "guard.send.";
    check(p + "messages_per_minute", messagesPerMinute);
    check(p + "messages_per_hour", messagesPerHour);
    check(p + "messages_per_day", messagesPerDay);
    check(p + "recipients_per_minute", recipientsPerMinute);
    check(p + "recipients_per_hour", recipientsPerHour);
    check(p + "recipients_per_day", recipientsPerDay);
    check(p + "new_recipients_per_hour", newRecipientsPerHour);
    check(p + "new_recipients_per_day", newRecipientsPerDay);
    check(p + "burst_messages", burstMessages);
    check(p + "burst_recipients", burstRecipients);
    if (burstWindowSeconds != null) {
      Checks.range(p + "burst_window_seconds", burstWindowSeconds, 10, 86_400);
    }
  }

  private static void check(String key, Integer v) {
    if (v != null) {
      Checks.range(key, v, 0, 10_000_000);
    }
  }

  /** The defaults: a small office (ARCHITECTURE.md, "The abuse guard and login throttling"). */
  public static SendLimits defaults() {
    return new SendLimits(60, 500, 2000, 300, 2000, 5000, 200, 1000, 300, 1000, 600);
  }

  /** These limits with every missing key taken from {@code base}. */
  public SendLimits over(SendLimits base) {
    return new SendLimits(or(messagesPerMinute, base.messagesPerMinute), or(messagesPerHour, base.messagesPerHour),
        or(messagesPerDay, base.messagesPerDay), or(recipientsPerMinute, base.recipientsPerMinute),
        or(recipientsPerHour, base.recipientsPerHour), or(recipientsPerDay, base.recipientsPerDay),
        or(newRecipientsPerHour, base.newRecipientsPerHour), or(newRecipientsPerDay, base.newRecipientsPerDay),
        or(burstMessages, base.burstMessages), or(burstRecipients, base.burstRecipients),
        or(burstWindowSeconds, base.burstWindowSeconds));
  }

  private static Integer or(Integer a, Integer b) {
    return a != null ? a : b;
  }
}
