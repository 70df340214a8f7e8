package org.darwinmail.store;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Domains, accounts and aliases as stored (tables domains, accounts, aliases, migration V001). Arguments are
 * already normalised and validated by {@link Directory}, which keeps the caches and the alias expansion; a
 * refusal that depends on what is stored (a name that exists, a domain still in use) is a {@link RefusedException}
 * decided in the same transaction as the change. {@link SqlDirectoryRepository} is the implementation on both
 * engines (its SQL is portable).
 */
public interface DirectoryRepository {
  /** Whether other nodes change these tables too (a shared PostgreSQL): caches over them then expire. */
  default boolean shared() {
    return false;
  }

  /** Adds a domain; refused when it exists. */
  void addDomain(String domain);

  /** Removes a domain and the aliases of its addresses; refused when it does not exist or still has accounts. */
  void removeDomain(String domain);

  /** Every domain, sorted. */
  List<String> domains();

  boolean domainExists(String domain);

  /**
   * Adds an account with quota 0 and, in the same transaction, its mailboxes ({@code folders}: name and RFC 6154
   * special use, or null). Refused when its domain does not exist, or an account or an alias has its address.
   */
  Account addAccount(String address, String passwordHash, List<String[]> folders);

  Optional<Account> account(String address);

  Optional<Account> account(long id);

  /** Every account, by address. */
  List<Account> accounts();

  /** The address of the account created first, if there is any account. */
  Optional<String> firstAccount();

  /** Removes an account (its mailboxes and messages go by cascade); refused when there is none. */
  void removeAccount(String address);

  /** False when there is no such account. */
  boolean setPassword(String address, String passwordHash);

  /** False when there is no such account. */
  boolean setQuota(String address, long bytes);

  /**
   * Sets the account's own limit (0: none), in one statement that keeps it at or below the administrator's quota
   * when that is set. False when there is no such account or {@code bytes} is above that quota.
   */
  boolean setUserQuota(long accountId, long bytes);

  /**
   * Adds targets to an alias (those it has already are skipped). Refused when the source's domain does not exist
   * ("@domain" for a catch-all) or an account has the source's address.
   */
  void addAlias(String source, List<String> targets);

  /** Removes all targets of an alias (none given) or the given ones; returns how many rows went. */
  int removeAlias(String source, List<String> targets);

  /** Every alias with its targets, by source, targets sorted. */
  Map<String, List<String>> aliases();

  /** The targets of one alias source, sorted. */
  List<String> targets(String source);

  /** The sources of the aliases whose targets include {@code target}, sorted. */
  List<String> sourcesOf(String target);
}
