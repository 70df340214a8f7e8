package org.darwinmail.store;

/**
 * A mail account; {@code address} is normalised (see {@link Addresses}). {@code quotaBytes} is the administrator's
 * limit (console, CLI), {@code userQuotaBytes} the one the user set for themselves with IMAP SETQUOTA (RFC 9208
 * §4.1.3, column {@code user_quota_bytes}, V012), never above the administrator's; 0 means none for either.
 */
public record Account(long id, String address, String passwordHash, long quotaBytes, long userQuotaBytes) {
  /** An account whose user set no limit of their own. */
  public Account(long id, String address, String passwordHash, long quotaBytes) {
    this(id, address, passwordHash, quotaBytes, 0);
  }

  /** The limit in force: the smaller of the two that are set; 0 when neither is. */
  public long limitBytes() {
    if (quotaBytes <= 0) {
      return Math.max(userQuotaBytes, 0);
    }
    return userQuotaBytes > 0 ? Math.min(quotaBytes, userQuotaBytes) : quotaBytes;
  }
}
