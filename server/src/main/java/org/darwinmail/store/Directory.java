package org.darwinmail.store;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.darwinmail.auth.CredentialCache;
import org.darwinmail.auth.Passwords;

/**
 * Domains, accounts and aliases. Addresses are normalised with {@link Addresses}. An alias source is an address,
 * or "@domain" for a catch-all; its targets are local or remote addresses, and may be aliases themselves. What
 * is stored goes through a {@link DirectoryRepository}; this class validates, expands aliases and caches.
 */
public final class Directory {
  /** Alias chains deeper than this are a configuration loop and resolve to nothing more. */
  private static final int MAX_ALIAS_DEPTH = 10;
  /** An alias never expands to more addresses than this. */
  private static final int MAX_EXPANSION = 1000;

  private final DirectoryRepository repo;
  private final MailStore mail;
  /*
   * The caches below are emptied by every change made through this object; on a database shared by several nodes
   * (PostgreSQL) another node's change does not reach them, so there they also expire after SqlRunner.STALE_AFTER
   * (one second) until change notification across nodes exists (ARCHITECTURE.md, "Several nodes").
   */
  private final GenerationCache<Boolean, Set<String>> domains;
  /** Resolutions by normalized address (RCPT TO costs no query on a busy MX); emptied by every change. */
  private final GenerationCache<String, Resolution> resolutions;
  /** Aliases an account may send as, by address (each submission checks its sender); emptied by every change. */
  private final GenerationCache<String, List<String>> sendAs;
  private final CredentialCache credentials = new CredentialCache();

  /** The admin mailbox's address as configured ({@code guard.send.postmaster}), normalized; "" = not configured. */
  private final String admin;

  /** A directory on {@code db}'s tables (tests and tools; the server's is made in {@code DarwinMail.Services}). */
  public Directory(SqlRunner db, MailStore mail) {
    this(new SqlDirectoryRepository(db), mail, "");
  }

  public Directory(SqlRunner db, MailStore mail, String admin) {
    this(new SqlDirectoryRepository(db), mail, admin);
  }

  /**
   * @param admin where postmaster@ and abuse@ of every local domain go when no account or alias has that name;
   *              "" = the account created first (the appliance's first boot creates postmaster@ its domain)
   */
  public Directory(DirectoryRepository repo, MailStore mail, String admin) {
    this.repo = repo;
    this.mail = mail;
    this.domains = GenerationCache.of(1, repo.shared());
    this.resolutions = GenerationCache.of(10_000, repo.shared());
    this.sendAs = GenerationCache.of(10_000, repo.shared());
    String a = admin == null || admin.isBlank() ? null : Addresses.normalize(admin);
    this.admin = a == null ? "" : a;
  }

  // ---- domains ----------------------------------------------------------------------------------------------

  public void addDomain(String name) {
    repo.addDomain(Addresses.validDomain(name));
    changed();
  }

  /** Removes a domain that has no accounts left. */
  public void removeDomain(String name) {
    repo.removeDomain(requireDomain(name));
    changed();
  }

  public List<String> domains() {
    return repo.domains();
  }

  public boolean isLocalDomain(String domain) {
    String d = Addresses.domain(domain);
    return d != null && domains.get(true, k -> Set.copyOf(domains())).contains(d);
  }

  // ---- accounts ---------------------------------------------------------------------------------------------

  /** Creates an account with INBOX and the special-use folders (Sent, Drafts, Trash, Junk, Archive). */
  public Account addAccount(String address, char[] password) {
    String a = Addresses.validAddress(address);
    Account created = repo.addAccount(a, Passwords.hash(password), MailStore.DEFAULT_FOLDERS);
    changed();
    return created;
  }

  /**
   * Creates an account as {@link #addAccount} does, with a password already hashed ({@link Passwords#hash}'s PHC
   * string, made here or by another server that uses the same scheme): nothing is derived.
   */
  public Account addAccountWithHash(String address, String passwordHash) {
    if (passwordHash == null || !passwordHash.startsWith("$argon2id$")) {
      throw new RefusedException("not an Argon2id password hash");
    }
    String a = Addresses.validAddress(address);
    Account created = repo.addAccount(a, passwordHash, MailStore.DEFAULT_FOLDERS);
    changed();
    return created;
  }

  public Optional<Account> account(String address) {
    String a = Addresses.normalize(address);
    return a == null ? Optional.empty() : repo.account(a);
  }

  public Optional<Account> account(long id) {
    return repo.account(id);
  }

  public List<Account> accounts() {
    return repo.accounts();
  }

  /** Removes an account with its mailboxes and messages (their blobs are collected: {@link BlobCollector}). */
  public void removeAccount(String address) {
    repo.removeAccount(requireAddress(address));
    changed();
  }

  public void setPassword(String address, char[] password) {
    String a = requireAddress(address);
    String hash = Passwords.hash(password);
    if (!repo.setPassword(a, hash)) {
      throw new RefusedException("no such account: " + a);
    }
    changed();
  }

  public void setQuota(String address, long bytes) {
    String a = requireAddress(address);
    if (bytes < 0) {
      throw new RefusedException("a quota is 0 (none) or a positive number of bytes");
    }
    if (!repo.setQuota(a, bytes)) {
      throw new RefusedException("no such account: " + a);
    }
    changed();
  }

  /**
   * The user's own limit (IMAP SETQUOTA, RFC 9208 §4.1.3): 0 (none) or up to the administrator's quota when one is
   * set; the administrator's quota itself stays as {@link #setQuota} put it. False when refused (above that quota,
   * or no such account).
   */
  public boolean setUserQuota(long accountId, long bytes) {
    if (bytes < 0) {
      throw new RefusedException("a quota is 0 (none) or a positive number of bytes");
    }
    if (!repo.setUserQuota(accountId, bytes)) {
      return false;
    }
    changed();
    return true;
  }

  /** The account when {@code password} is right; empty otherwise (same cost whether or not it exists). */
  public Optional<Account> authenticate(String address, char[] password) {
    Optional<Account> acc = account(address);
    if (acc.isPresent() && credentials.matches(acc.get().address(), acc.get().passwordHash(), password)) {
      return acc;
    }
    boolean ok = Passwords.verify(password, acc.map(Account::passwordHash).orElse(null));
    if (ok) {
      credentials.remember(acc.get().address(), acc.get().passwordHash(), password);
    }
    return ok ? acc : Optional.empty();
  }

  // ---- aliases ----------------------------------------------------------------------------------------------

  /** Adds targets to an alias (creating it). The source is an address or "@domain" of a local domain. */
  public void addAlias(String source, List<String> targets) {
    String s = source != null && source.startsWith("@") ? "@" + Addresses.validDomain(source.substring(1))
        : Addresses.validAddress(source);
    if (targets.isEmpty()) {
      throw new RefusedException("an alias needs at least one target");
    }
    List<String> ts = new ArrayList<>();
    for (String t : targets) {
      ts.add(Addresses.validAddress(t));
    }
    repo.addAlias(s, ts);
    changed();
  }

  /** Removes an alias (all targets), or only the given targets. */
  public void removeAlias(String source, List<String> targets) {
    String s = requireAliasSource(source);
    List<String> ts = new ArrayList<>();
    for (String t : targets) {
      ts.add(requireAddress(t));
    }
    if (repo.removeAlias(s, ts) == 0) {
      List<String> now = repo.targets(s);
      throw new RefusedException(now.isEmpty() ? "no such alias: " + s
          : "alias " + s + " does not point at " + String.join(", ", targets) + " (its targets: "
              + String.join(", ", now) + ")");
    }
    changed();
  }

  /** Every alias with its targets, by source. */
  public Map<String, List<String>> aliases() {
    return repo.aliases();
  }

  /** Aliases whose targets include {@code address} (directly): addresses the account may send as. */
  public List<String> aliasesOf(String address) {
    String a = Addresses.normalize(address);
    return a == null ? List.of() : sendAs.get(a, repo::sourcesOf);
  }

  /** Where mail to an address goes: local accounts and remote addresses; both empty when nobody is there. */
  /**
   * @param folder the mailbox a sub-address names ("user+folder@domain", RFC 5233), delivered into when the account
   *               has one by that name (INBOX otherwise); null = INBOX
   */
  public record Resolution(List<Account> accounts, List<String> remote, String folder) {
    public Resolution(List<Account> accounts, List<String> remote) {
      this(accounts, remote, null);
    }

    public boolean isEmpty() {
      return accounts.isEmpty() && remote.isEmpty();
    }
  }

  /** RFC 2142 / RFC 5321 §4.5.1: names every local domain answers to, routed to the admin mailbox by default. */
  private static final Set<String> ROLES = Set.of("postmaster", "abuse");

  /**
   * Expands aliases (recursively, with a depth limit against loops) down to accounts and remote addresses. For an
   * address of a local domain, in order: an account; an alias; postmaster@ and abuse@ go to the admin mailbox
   * (RFC 5321 §4.5.1, RFC 2142); "user+tag" is "user" (RFC 5233) with the tag as the folder; the catch-all
   * ("@domain"). So an account or alias whose name holds a '+' wins over the sub-address.
   */
  public Resolution resolve(String address) {
    String start = Addresses.normalize(address);
    if (start == null) {
      return new Resolution(List.of(), List.of());
    }
    return resolutions.get(start, this::load);
  }

  /**
   * The resolution {@link #resolve} would return when it and {@link #isLocalDomain} can answer for this address
   * without reading the database (both cached); empty otherwise.
   */
  public Optional<Resolution> cachedResolution(String address) {
    String start = Addresses.normalize(address);
    if (start == null || domains.peek(true) == null) {
      return Optional.empty();
    }
    return Optional.ofNullable(resolutions.peek(start));
  }

  /** The sub-address of a local part ("tag" of "user+tag", RFC 5233 §1), or null. */
  public static String detail(String localPart) {
    int plus = localPart.indexOf('+');
    return plus <= 0 ? null : localPart.substring(plus + 1);
  }

  /** "user@domain" for "user+tag@domain"; the address itself when it has no sub-address. */
  public static String withoutDetail(String normalizedAddress) {
    String local = Addresses.localPartOf(normalizedAddress);
    return detail(local) == null ? normalizedAddress
        : local.substring(0, local.indexOf('+')) + "@" + Addresses.domainOf(normalizedAddress);
  }

  private Resolution load(String start) {
    String folder = null;
    Map<Long, Account> accounts = new LinkedHashMap<>();
    Set<String> remote = new LinkedHashSet<>();
    Set<String> seen = new LinkedHashSet<>();
    Deque<Object[]> work = new ArrayDeque<>();
    work.add(new Object[] {start, 0});
    while (!work.isEmpty() && seen.size() < MAX_EXPANSION) {
      Object[] item = work.poll();
      String a = (String) item[0];
      int depth = (Integer) item[1];
      if (!seen.add(a)) {
        continue;
      }
      Optional<Account> acc = repo.account(a);
      if (acc.isPresent()) {
        accounts.put(acc.get().id(), acc.get());
        continue;
      }
      String domain = Addresses.domainOf(a);
      if (!repo.domainExists(domain)) {
        if (depth > 0) {
          remote.add(a);
        }
        continue;
      }
      List<String> targets = repo.targets(a);
      String local = Addresses.localPartOf(a);
      if (targets.isEmpty() && ROLES.contains(local)) {
        String admin = admin(a);
        targets = admin == null ? List.of() : List.of(admin);
      }
      if (targets.isEmpty() && detail(local) != null) {
        if (depth == 0) {
          folder = detail(local);
        }
        targets = List.of(withoutDetail(a));
      }
      if (targets.isEmpty()) {
        targets = repo.targets("@" + domain);
      }
      if (depth >= MAX_ALIAS_DEPTH) {
        continue;
      }
      for (String t : targets) {
        work.add(new Object[] {t, depth + 1});
      }
    }
    return new Resolution(List.copyOf(accounts.values()), List.copyOf(remote), folder);
  }

  /**
   * The admin mailbox, for a role address with no account or alias of its own: the configured address (unless it
   * is this very address), else the account created first; null when there is no account at all.
   */
  private String admin(String role) {
    if (!admin.isEmpty() && !admin.equals(role)) {
      return admin;
    }
    return repo.firstAccount().orElse(null);
  }

  // ---- helpers ----------------------------------------------------------------------------------------------

  /**
   * Empties the caches when another node changes domains, accounts or aliases, or when this node may have missed
   * such a change (the cluster event channel reconnected): ARCHITECTURE.md, "The cluster event channel".
   */
  public void listen(ClusterEvents cluster) {
    cluster.subscribe(ClusterEvents.Topic.DIRECTORY, key -> changed());
  }

  /** After a committed change of domains, accounts or aliases: cached answers are stale. */
  private void changed() {
    domains.invalidate();
    resolutions.invalidate();
    sendAs.invalidate();
    mail.mailboxesChanged();
  }

  private static String requireDomain(String name) {
    String d = Addresses.domain(name);
    if (d == null || !d.contains(".") && !d.equals("localhost") || d.startsWith("@")) {
      throw new RefusedException("not a domain name: " + name);
    }
    return d;
  }

  private static String requireAddress(String address) {
    String a = Addresses.normalize(address);
    if (a == null || a.length() > 320 || Addresses.localPartOf(a).length() > 64) {
      throw new RefusedException("not a mail address: " + address);
    }
    return a;
  }

  private static String requireAliasSource(String source) {
    if (source != null && source.startsWith("@")) {
      return "@" + requireDomain(source.substring(1));
    }
    return requireAddress(source);
  }
}
