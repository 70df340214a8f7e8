package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.darwinmail.testing.AtOnce;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What {@link Directory} relies on from a {@link DirectoryRepository}, run on each engine by a subclass: refusals
 * decided in the transaction of the change, the mailboxes of a new account created with it, and two nodes adding
 * the same name at once (one wins, the other is refused, nothing else escapes).
 */
abstract class DirectoryRepositoryContract {
  private static final List<String[]> FOLDERS = List.of(new String[] {Mailbox.INBOX, null},
      new String[] {"Sent", "Sent"});
  private Engine engine;
  private SqlRunner node;
  private DirectoryRepository d;

  abstract Engine engine();

  abstract DirectoryRepository repository(SqlRunner node);

  @BeforeEach
  void open() {
    engine = engine();
    node = engine.node();
    d = repository(node);
  }

  @AfterEach
  void close() throws Exception {
    engine.close();
  }

  private long mailboxes(long accountId) {
    return node.read(c -> {
      try (var ps = c.prepareStatement("SELECT COUNT(*) FROM mailboxes WHERE account_id = ?")) {
        ps.setLong(1, accountId);
        try (var rs = ps.executeQuery()) {
          rs.next();
          return rs.getLong(1);
        }
      }
    });
  }

  @Test
  void domainsAreListedSortedAndAddedOnce() {
    d.addDomain("b.test");
    d.addDomain("a.test");
    assertThat(d.domains()).containsExactly("a.test", "b.test");
    assertThat(d.domainExists("a.test")).isTrue();
    assertThat(d.domainExists("c.test")).isFalse();
    assertThatThrownBy(() -> d.addDomain("a.test")).isInstanceOf(RefusedException.class)
        .hasMessage("domain exists: a.test");
  }

  @Test
  void aDomainGoesWithItsAliasesOnlyOnceItHasNoAccount() {
    d.addDomain("a.test");
    d.addDomain("b.test");
    d.addAccount("alice@a.test", "h", FOLDERS);
    d.addAlias("team@b.test", List.of("alice@a.test"));
    d.addAlias("@b.test", List.of("alice@a.test"));
    d.addAlias("other@a.test", List.of("x@b.test"));
    assertThatThrownBy(() -> d.removeDomain("a.test")).isInstanceOf(RefusedException.class)
        .hasMessage("domain a.test still has accounts: remove them first");
    d.removeDomain("b.test");
    assertThat(d.domains()).containsExactly("a.test");
    assertThat(d.aliases()).containsOnlyKeys("other@a.test");
    assertThatThrownBy(() -> d.removeDomain("b.test")).isInstanceOf(RefusedException.class)
        .hasMessage("no such domain: b.test");
  }

  @Test
  void anAccountIsCreatedWithItsMailboxesAndFoundByAddressAndId() {
    d.addDomain("a.test");
    Account bob = d.addAccount("bob@a.test", "hash-b", FOLDERS);
    Account alice = d.addAccount("alice@a.test", "hash-a", FOLDERS);
    assertThat(bob).isEqualTo(new Account(bob.id(), "bob@a.test", "hash-b", 0));
    assertThat(d.account("bob@a.test")).contains(bob);
    assertThat(d.account(alice.id())).contains(alice);
    assertThat(d.account("nobody@a.test")).isEmpty();
    assertThat(d.accounts()).containsExactly(alice, bob);
    assertThat(d.firstAccount()).contains("bob@a.test");
    assertThat(mailboxes(bob.id())).isEqualTo(2);
  }

  @Test
  void anAccountNeedsItsDomainAndAnAddressNobodyHas() {
    assertThatThrownBy(() -> d.addAccount("bob@a.test", "h", FOLDERS)).isInstanceOf(RefusedException.class)
        .hasMessage("no such domain: a.test (add it first with: domain add a.test)");
    d.addDomain("a.test");
    d.addAccount("bob@a.test", "h", FOLDERS);
    assertThatThrownBy(() -> d.addAccount("bob@a.test", "h", FOLDERS)).isInstanceOf(RefusedException.class)
        .hasMessage("account exists: bob@a.test");
    d.addAlias("team@a.test", List.of("bob@a.test"));
    assertThatThrownBy(() -> d.addAccount("team@a.test", "h", FOLDERS)).isInstanceOf(RefusedException.class)
        .hasMessage("team@a.test is an alias: remove the alias first");
    assertThat(d.accounts()).hasSize(1);
    assertThat(d.firstAccount()).contains("bob@a.test");
  }

  /**
   * IMAP SETQUOTA (RFC 9208 §4.1.3, V012): the user's own limit is kept apart from the administrator's, may be set
   * up to it (any value when the administrator set none) and never above; the limit in force is the smaller.
   */
  @Test
  void theUsersOwnLimitStaysAtOrBelowTheAdministratorsAndLeavesItAsItIs() {
    d.addDomain("a.test");
    Account bob = d.addAccount("bob@a.test", "h", FOLDERS);
    assertThat(d.setUserQuota(bob.id(), 5_000_000)).isTrue(); // no administrator's limit: anything
    assertThat(d.account(bob.id()).orElseThrow().limitBytes()).isEqualTo(5_000_000);
    assertThat(d.setQuota("bob@a.test", 1_000_000)).isTrue(); // the administrator lowers theirs below it
    Account now = d.account(bob.id()).orElseThrow();
    assertThat(now.quotaBytes()).isEqualTo(1_000_000);
    assertThat(now.userQuotaBytes()).isEqualTo(5_000_000);
    assertThat(now.limitBytes()).isEqualTo(1_000_000);
    assertThat(d.setUserQuota(bob.id(), 1_000_001)).isFalse(); // above the administrator's: refused, unchanged
    assertThat(d.account(bob.id()).orElseThrow().userQuotaBytes()).isEqualTo(5_000_000);
    assertThat(d.setUserQuota(bob.id(), 1_000_000)).isTrue(); // up to it
    assertThat(d.setUserQuota(bob.id(), 2048)).isTrue();
    now = d.account(bob.id()).orElseThrow();
    assertThat(now).isEqualTo(new Account(bob.id(), "bob@a.test", "h", 1_000_000, 2048));
    assertThat(now.limitBytes()).isEqualTo(2048);
    assertThat(d.accounts()).containsExactly(now);
    assertThat(d.setUserQuota(bob.id(), 0)).isTrue(); // none of their own: the administrator's is in force
    assertThat(d.account(bob.id()).orElseThrow().limitBytes()).isEqualTo(1_000_000);
    assertThat(d.setUserQuota(bob.id() + 1000, 1)).isFalse(); // no such account
  }

  @Test
  void passwordQuotaAndRemovalSayWhetherTheAccountExisted() {
    d.addDomain("a.test");
    Account bob = d.addAccount("bob@a.test", "h", FOLDERS);
    assertThat(d.setPassword("bob@a.test", "h2")).isTrue();
    assertThat(d.setQuota("bob@a.test", 1000)).isTrue();
    assertThat(d.account(bob.id())).contains(new Account(bob.id(), "bob@a.test", "h2", 1000));
    assertThat(d.setPassword("nobody@a.test", "h")).isFalse();
    assertThat(d.setQuota("nobody@a.test", 1)).isFalse();
    d.removeAccount("bob@a.test");
    assertThat(d.account(bob.id())).isEmpty();
    assertThat(mailboxes(bob.id())).isZero();
    assertThat(d.firstAccount()).isEmpty();
    assertThatThrownBy(() -> d.removeAccount("bob@a.test")).isInstanceOf(RefusedException.class)
        .hasMessage("no such account: bob@a.test");
  }

  @Test
  void aliasTargetsAreAddedOnceAndRemovedAllOrSome() {
    d.addDomain("a.test");
    d.addAccount("bob@a.test", "h", FOLDERS);
    d.addAlias("team@a.test", List.of("bob@a.test", "x@remote.test"));
    d.addAlias("team@a.test", List.of("x@remote.test", "carol@a.test"));
    d.addAlias("all@a.test", List.of("bob@a.test"));
    assertThat(d.targets("team@a.test")).containsExactly("bob@a.test", "carol@a.test", "x@remote.test");
    assertThat(d.sourcesOf("bob@a.test")).containsExactly("all@a.test", "team@a.test");
    assertThat(d.aliases()).isEqualTo(Map.of("all@a.test", List.of("bob@a.test"), "team@a.test",
        List.of("bob@a.test", "carol@a.test", "x@remote.test")));
    assertThat(d.removeAlias("team@a.test", List.of("carol@a.test", "nobody@a.test"))).isEqualTo(1);
    assertThat(d.removeAlias("team@a.test", List.of())).isEqualTo(2);
    assertThat(d.removeAlias("team@a.test", List.of())).isZero();
    assertThat(d.targets("team@a.test")).isEmpty();
  }

  @Test
  void anAliasNeedsItsDomainAndCannotShadowAnAccount() {
    assertThatThrownBy(() -> d.addAlias("@a.test", List.of("x@remote.test"))).isInstanceOf(RefusedException.class)
        .hasMessage("no such domain: a.test (add it first with: domain add a.test)");
    d.addDomain("a.test");
    d.addAccount("bob@a.test", "h", FOLDERS);
    assertThatThrownBy(() -> d.addAlias("bob@a.test", List.of("x@remote.test")))
        .isInstanceOf(RefusedException.class).hasMessage("bob@a.test is an account: an alias cannot shadow it");
    d.addAlias("@a.test", List.of("bob@a.test"));
    assertThat(d.targets("@a.test")).containsExactly("bob@a.test");
  }

  /**
   * Two nodes (or two admin sessions) adding the same accounts and domains at once: each name is created once, and
   * the loser of each race is refused as if it had found the name, never failed with a storage error.
   */
  @Test
  void twoNodesAddingTheSameNamesTogetherGetOneEachAndARefusal() throws Exception {
    d.addDomain("a.test");
    DirectoryRepository other = repository(engine.node());
    int n = 30;
    List<Integer> refused = AtOnce.run(List.of(d, other), r -> {
      int lost = 0;
      for (int i = 0; i < n; i++) {
        try {
          r.addAccount("user" + i + "@a.test", "h", FOLDERS);
        } catch (RefusedException e) {
          lost++;
        }
        try {
          r.addDomain("d" + i + ".test");
        } catch (RefusedException e) {
          lost++;
        }
      }
      return lost;
    });
    assertThat(refused.get(0) + refused.get(1)).isEqualTo(2 * n);
    assertThat(d.accounts()).hasSize(n);
    assertThat(other.domains()).hasSize(n + 1);
    for (Account a : d.accounts()) {
      assertThat(mailboxes(a.id())).isEqualTo(2);
    }
  }
}
