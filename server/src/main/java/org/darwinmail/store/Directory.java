package org.darwinmail.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
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
 * or "@domain" for a catch-all; its targets are local or remote addresses, and may be aliases themselves.
 */
public final class Directory {
  /** Alias chains deeper than this are a configuration loop and resolve to nothing more. */
  private static final int MAX_ALIAS_DEPTH = 10;
  /** An alias never expands to more addresses than this. */
  private static final int MAX_EXPANSION = 1000;

  private final Database db;
  private final MailStore mail;
  private final GenerationCache<Boolean, Set<String>> domains = new GenerationCache<>(1);
  /** Resolutions by normalized address (RCPT TO costs no query on a busy MX); emptied by every change. */
  private final GenerationCache<String, Resolution> resolutions = new GenerationCache<>(10_000);
  /** Aliases an account may send as, by address (each submission checks its sender); emptied by every change. */
  private final GenerationCache<String, List<String>> sendAs = new GenerationCache<>(10_000);
  private final CredentialCache credentials = new CredentialCache();

  /** The admin mailbox's address as configured ({@code guard.send.postmaster}), normalized; "" = not configured. */
  private final String admin;

  public Directory(Database db, MailStore mail) {
    this(db, mail, "");
  }

  /**
   * @param admin where postmaster@ and abuse@ of every local domain go when no account or alias has that name;
   *              "" = the account created first (the appliance's first boot creates postmaster@ its domain)
   */
  public Directory(Database db, MailStore mail, String admin) {
    this.db = db;
    this.mail = mail;
    String a = admin == null || admin.isBlank() ? null : Addresses.normalize(admin);
    this.admin = a == null ? "" : a;
  }

  // ---- domains ----------------------------------------------------------------------------------------------

  public void addDomain(String name) {
    String d = Addresses.validDomain(name);
    db.tx(c -> {
      if (exists(c, "SELECT 1 FROM domains WHERE name = ?", d)) {
        throw new RefusedException("domain exists: " + d);
      }
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO domains (name, created_at) VALUES (?, ?)")) {
        ps.setString(1, d);
        ps.setTimestamp(2, Timestamp.from(Instant.now()));
        ps.executeUpdate();
      }
      return null;
    });
    changed();
  }

  /** Removes a domain that has no accounts left. */
  public void removeDomain(String name) {
    String d = requireDomain(name);
    db.tx(c -> {
      if (!exists(c, "SELECT 1 FROM domains WHERE name = ?", d)) {
        throw new RefusedException("no such domain: " + d);
      }
      if (exists(c, "SELECT 1 FROM accounts a JOIN domains d ON a.domain_id = d.id WHERE d.name = ?", d)) {
        throw new RefusedException("domain " + d + " still has accounts: remove them first");
      }
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM aliases WHERE source LIKE ?")) {
        ps.setString(1, "%@" + d);
        ps.executeUpdate();
      }
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM domains WHERE name = ?")) {
        ps.setString(1, d);
        ps.executeUpdate();
      }
      return null;
    });
    changed();
  }

  public List<String> domains() {
    return db.read(c -> strings(c, "SELECT name FROM domains ORDER BY name"));
  }

  public boolean isLocalDomain(String domain) {
    String d = Addresses.domain(domain);
    return d != null && domains.get(true, k -> Set.copyOf(domains())).contains(d);
  }

  // ---- accounts ---------------------------------------------------------------------------------------------

  /** Creates an account with INBOX and the special-use folders (Sent, Drafts, Trash, Junk, Archive). */
  public Account addAccount(String address, char[] password) {
    String a = Addresses.validAddress(address);
    String hash = Passwords.hash(password);
    Account created = db.tx(c -> {
      long domainId = domainId(c, Addresses.domainOf(a));
      if (exists(c, "SELECT 1 FROM accounts WHERE address = ?", a)) {
        throw new RefusedException("account exists: " + a);
      }
      if (exists(c, "SELECT 1 FROM aliases WHERE source = ?", a)) {
        throw new RefusedException(a + " is an alias: remove the alias first");
      }
      long id;
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO accounts (domain_id, address, password_hash,"
          + " quota_bytes, created_at) VALUES (?, ?, ?, 0, ?)", Statement.RETURN_GENERATED_KEYS)) {
        ps.setLong(1, domainId);
        ps.setString(2, a);
        ps.setString(3, hash);
        ps.setTimestamp(4, Timestamp.from(Instant.now()));
        ps.executeUpdate();
        try (ResultSet rs = ps.getGeneratedKeys()) {
          rs.next();
          id = rs.getLong(1);
        }
      }
      for (String[] f : MailStore.DEFAULT_FOLDERS) {
        mail.createMailbox(c, id, f[0], f[1]);
      }
      return new Account(id, a, hash, 0);
    });
    changed();
    return created;
  }

  public Optional<Account> account(String address) {
    String a = Addresses.normalize(address);
    if (a == null) {
      return Optional.empty();
    }
    return db.read(c -> accountWhere(c, "address = ?", a));
  }

  public Optional<Account> account(long id) {
    return db.read(c -> accountWhere(c, "id = ?", id));
  }

  private static Optional<Account> accountWhere(Connection c, String where, Object arg) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT id, address, password_hash, quota_bytes FROM accounts WHERE " + where)) {
      ps.setObject(1, arg);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next()
            ? Optional.of(new Account(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getLong(4)))
            : Optional.empty();
      }
    }
  }

  public List<Account> accounts() {
    return db.read(c -> {
      List<Account> out = new ArrayList<>();
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
          "SELECT id, address, password_hash, quota_bytes FROM accounts ORDER BY address")) {
        while (rs.next()) {
          out.add(new Account(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getLong(4)));
        }
      }
      return out;
    });
  }

  /** Removes an account with its mailboxes and messages (their blobs are collected: {@link BlobCollector}). */
  public void removeAccount(String address) {
    String a = requireAddress(address);
    db.tx(c -> {
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM accounts WHERE address = ?")) {
        ps.setString(1, a);
        if (ps.executeUpdate() == 0) {
          throw new RefusedException("no such account: " + a);
        }
      }
      return null;
    });
    changed();
  }

  public void setPassword(String address, char[] password) {
    String a = requireAddress(address);
    String hash = Passwords.hash(password);
    update("UPDATE accounts SET password_hash = ? WHERE address = ?", hash, a, "no such account: " + a);
  }

  public void setQuota(String address, long bytes) {
    String a = requireAddress(address);
    if (bytes < 0) {
      throw new RefusedException("a quota is 0 (none) or a positive number of bytes");
    }
    update("UPDATE accounts SET quota_bytes = ? WHERE address = ?", bytes, a, "no such account: " + a);
  }

  private void update(String sql, Object v, String a, String notFound) {
    db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement(sql)) {
        ps.setObject(1, v);
        ps.setString(2, a);
        if (ps.executeUpdate() == 0) {
          throw new RefusedException(notFound);
        }
      }
      return null;
    });
    changed();
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
    db.tx(c -> {
      domainId(c, Addresses.domainOf(s.startsWith("@") ? "x" + s : s));
      if (exists(c, "SELECT 1 FROM accounts WHERE address = ?", s)) {
        throw new RefusedException(s + " is an account: an alias cannot shadow it");
      }
      for (String t : ts) {
        if (exists2(c, "SELECT 1 FROM aliases WHERE source = ? AND target = ?", s, t)) {
          continue;
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO aliases (source, target) VALUES (?, ?)")) {
          ps.setString(1, s);
          ps.setString(2, t);
          ps.executeUpdate();
        }
      }
      return null;
    });
    changed();
  }

  /** Removes an alias (all targets), or only the given targets. */
  public void removeAlias(String source, List<String> targets) {
    String s = requireAliasSource(source);
    db.tx(c -> {
      int n = 0;
      if (targets.isEmpty()) {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM aliases WHERE source = ?")) {
          ps.setString(1, s);
          n = ps.executeUpdate();
        }
      } else {
        for (String t : targets) {
          try (PreparedStatement ps = c.prepareStatement("DELETE FROM aliases WHERE source = ? AND target = ?")) {
            ps.setString(1, s);
            ps.setString(2, requireAddress(t));
            n += ps.executeUpdate();
          }
        }
      }
      if (n == 0) {
        List<String> now = targets(c, s);
        throw new RefusedException(now.isEmpty() ? "no such alias: " + s
            : "alias " + s + " does not point at " + String.join(", ", targets) + " (its targets: "
                + String.join(", ", now) + ")");
      }
      return null;
    });
    changed();
  }

  /** Every alias with its targets, by source. */
  public Map<String, List<String>> aliases() {
    return db.read(c -> {
      Map<String, List<String>> out = new LinkedHashMap<>();
      try (Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT source, target FROM aliases ORDER BY source, target")) {
        while (rs.next()) {
          out.computeIfAbsent(rs.getString(1), k -> new ArrayList<>()).add(rs.getString(2));
        }
      }
      return out;
    });
  }

  /** Aliases whose targets include {@code address} (directly): addresses the account may send as. */
  public List<String> aliasesOf(String address) {
    String a = Addresses.normalize(address);
    return a == null ? List.of() : sendAs.get(a, this::loadAliasesOf);
  }

  private List<String> loadAliasesOf(String a) {
    return db.read(c -> {
      List<String> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT source FROM aliases WHERE target = ? ORDER BY source")) {
        ps.setString(1, a);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(rs.getString(1));
          }
        }
      }
      return List.copyOf(out);
    });
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
    String[] folder = {null};
    Resolution r = db.read(c -> {
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
        Optional<Account> acc = accountWhere(c, "address = ?", a);
        if (acc.isPresent()) {
          accounts.put(acc.get().id(), acc.get());
          continue;
        }
        String domain = Addresses.domainOf(a);
        if (!exists(c, "SELECT 1 FROM domains WHERE name = ?", domain)) {
          if (depth > 0) {
            remote.add(a);
          }
          continue;
        }
        List<String> targets = targets(c, a);
        String local = Addresses.localPartOf(a);
        if (targets.isEmpty() && ROLES.contains(local)) {
          String admin = admin(c, a);
          targets = admin == null ? List.of() : List.of(admin);
        }
        if (targets.isEmpty() && detail(local) != null) {
          if (depth == 0) {
            folder[0] = detail(local);
          }
          targets = List.of(withoutDetail(a));
        }
        if (targets.isEmpty()) {
          targets = targets(c, "@" + domain);
        }
        if (depth >= MAX_ALIAS_DEPTH) {
          continue;
        }
        for (String t : targets) {
          work.add(new Object[] {t, depth + 1});
        }
      }
      return new Resolution(List.copyOf(accounts.values()), List.copyOf(remote));
    });
    return folder[0] == null ? r : new Resolution(r.accounts(), r.remote(), folder[0]);
  }

  /**
   * The admin mailbox, for a role address with no account or alias of its own: the configured address (unless it
   * is this very address), else the account created first; null when there is no account at all.
   */
  private String admin(Connection c, String role) throws SQLException {
    if (!admin.isEmpty() && !admin.equals(role)) {
      return admin;
    }
    List<String> first = strings(c, "SELECT address FROM accounts ORDER BY id FETCH FIRST 1 ROWS ONLY");
    return first.isEmpty() ? null : first.getFirst();
  }

  private static List<String> targets(Connection c, String source) throws SQLException {
    List<String> out = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT target FROM aliases WHERE source = ? ORDER BY target")) {
      ps.setString(1, source);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
      }
    }
    return out;
  }

  // ---- helpers ----------------------------------------------------------------------------------------------

  /** After a committed change of domains, accounts or aliases: cached answers are stale. */
  private void changed() {
    domains.invalidate();
    resolutions.invalidate();
    sendAs.invalidate();
    mail.mailboxesChanged();
  }

  private static long domainId(Connection c, String domain) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT id FROM domains WHERE name = ?")) {
      ps.setString(1, domain);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw new RefusedException("no such domain: " + domain + " (add it first with: domain add " + domain + ")");
        }
        return rs.getLong(1);
      }
    }
  }

  private static boolean exists(Connection c, String sql, String arg) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, arg);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  private static boolean exists2(Connection c, String sql, String a, String b) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, a);
      ps.setString(2, b);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  private static List<String> strings(Connection c, String sql) throws SQLException {
    List<String> out = new ArrayList<>();
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
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
