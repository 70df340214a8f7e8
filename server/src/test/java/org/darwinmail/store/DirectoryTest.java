package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.darwinmail.DarwinMail;
import org.darwinmail.config.ServerConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirectoryTest {
  @TempDir
  static Path dir;
  static DarwinMail.Services s;
  static Directory d;

  @BeforeAll
  static void open() {
    s = DarwinMail.Services.open(ServerConfig.defaults(dir));
    d = s.directory();
    d.addDomain("example.test");
    d.addDomain("other.test");
    d.addAccount("alice@example.test", "pw".toCharArray());
    d.addAccount("bob@example.test", "pw".toCharArray());
  }

  @AfterAll
  static void close() {
    s.close();
  }

  private static List<String> accounts(String address) {
    return d.resolve(address).accounts().stream().map(Account::address).toList();
  }

  @Test
  void accountsResolveToThemselvesCaseInsensitively() {
    assertThat(accounts("ALICE@Example.Test")).containsExactly("alice@example.test");
    assertThat(d.resolve("nobody@example.test").isEmpty()).isTrue();
    assertThat(d.resolve("alice@unknown.test").isEmpty()).isTrue();
  }

  @Test
  void anAccountMadeWithAHashLogsInWithItsPasswordAndANonHashIsRefused() {
    d.addAccountWithHash("hashed@example.test", org.darwinmail.auth.Passwords.hash("pw-hashed".toCharArray()));
    assertThat(d.authenticate("hashed@example.test", "pw-hashed".toCharArray())).isPresent();
    assertThat(d.authenticate("hashed@example.test", "pw-other".toCharArray())).isEmpty();
    assertThat(accounts("hashed@example.test")).containsExactly("hashed@example.test");
    assertThatThrownBy(() -> d.addAccountWithHash("plain@example.test", "pw-plain"))
        .hasMessageContaining("not an Argon2id password hash");
    assertThat(d.account("plain@example.test")).isEmpty();
  }

  @Test
  void aliasesExpandToSeveralLocalAndRemoteTargets() {
    d.addAlias("team@example.test", List.of("alice@example.test", "bob@example.test", "carol@remote.test"));
    Directory.Resolution r = d.resolve("team@example.test");
    assertThat(r.accounts()).extracting(Account::address)
        .containsExactlyInAnyOrder("alice@example.test", "bob@example.test");
    assertThat(r.remote()).containsExactly("carol@remote.test");
    assertThat(d.aliasesOf("alice@example.test")).contains("team@example.test");
  }

  @Test
  void roleAddressesGoToTheConfiguredAdminMailboxElseTheFirstAccount() {
    Directory configured = new Directory(s.db(), s.mail(), "Bob@Example.Test");
    assertThat(configured.resolve("abuse@other.test").accounts()).extracting(Account::address)
        .containsExactly("bob@example.test");
    // configured as a role address with no account of its own: the account created first, not a loop
    Directory self = new Directory(s.db(), s.mail(), "postmaster@other.test");
    assertThat(self.resolve("postmaster@other.test").accounts()).extracting(Account::address)
        .containsExactly("alice@example.test");
    assertThat(accounts("PostMaster@other.test")).containsExactly("alice@example.test");
  }

  @Test
  void everyChangeIsSeenByTheNextResolutionThoughResolutionsAreCached() {
    assertThat(d.resolve("later@example.test").isEmpty()).isTrue();
    d.addAlias("later@example.test", List.of("alice@example.test"));
    assertThat(accounts("later@example.test")).containsExactly("alice@example.test");
    d.removeAlias("later@example.test", List.of());
    assertThat(d.resolve("later@example.test").isEmpty()).isTrue();

    d.addAccount("dora@example.test", "pw".toCharArray());
    assertThat(d.resolve("dora@example.test").accounts().getFirst().quotaBytes()).isZero();
    d.setQuota("dora@example.test", 5000);
    assertThat(d.resolve("dora@example.test").accounts().getFirst().quotaBytes()).isEqualTo(5000);
    long id = d.resolve("dora@example.test").accounts().getFirst().id();
    assertThat(s.mail().mailboxId(id, "inbox")).isPresent();
    d.removeAccount("dora@example.test");
    assertThat(d.resolve("dora@example.test").isEmpty()).isTrue();
    assertThat(s.mail().mailboxId(id, "INBOX")).isEmpty();

    assertThat(d.isLocalDomain("new.test")).isFalse();
    d.addDomain("new.test");
    assertThat(d.isLocalDomain("new.test")).isTrue();
    d.removeDomain("new.test");
    assertThat(d.isLocalDomain("new.test")).isFalse();
  }

  @Test
  void cachedMailboxIdsFollowCreateRenameAndDelete() {
    long alice = d.resolve("alice@example.test").accounts().getFirst().id();
    MailStore m = s.mail();
    assertThat(m.mailboxId(alice, "Lists")).isEmpty();
    long lists = m.createMailbox(alice, "Lists", null).id();
    assertThat(m.mailboxId(alice, "Lists")).contains(lists);
    m.renameMailbox(alice, "Lists", "Lists2");
    assertThat(m.mailboxId(alice, "Lists")).isEmpty();
    assertThat(m.mailboxId(alice, "Lists2")).contains(lists);
    m.deleteMailbox(lists);
    assertThat(m.mailboxId(alice, "Lists2")).isEmpty();
  }

  @Test
  void aliasLoopsEndAndDuplicatesCollapse() {
    d.addAlias("loop1@example.test", List.of("loop2@example.test", "alice@example.test"));
    d.addAlias("loop2@example.test", List.of("loop1@example.test", "alice@example.test"));
    assertThat(accounts("loop1@example.test")).containsExactly("alice@example.test");
  }

  @Test
  void catchAllAppliesOnlyToAddressesThatAreNeitherAccountNorAlias() {
    d.addAlias("@other.test", List.of("bob@example.test"));
    assertThat(accounts("anything@other.test")).containsExactly("bob@example.test");
    assertThat(accounts("alice@example.test")).containsExactly("alice@example.test");
  }

  @Test
  void aPasswordChangeTakesEffectAtOnceDespiteTheCredentialCache() {
    d.addAccount("pat@other.test", "old-password".toCharArray());
    assertThat(d.authenticate("pat@other.test", "old-password".toCharArray())).isPresent();
    assertThat(d.authenticate("pat@other.test", "old-password".toCharArray())).isPresent(); // from the cache
    d.setPassword("pat@other.test", "new-password".toCharArray());
    assertThat(d.authenticate("pat@other.test", "old-password".toCharArray())).isEmpty();
    assertThat(d.authenticate("pat@other.test", "new-password".toCharArray())).isPresent();
    d.removeAccount("pat@other.test");
    assertThat(d.authenticate("pat@other.test", "new-password".toCharArray())).isEmpty();
  }

  @Test
  void refusals() {
    assertThatThrownBy(() -> d.addDomain("example.test")).isInstanceOf(RefusedException.class);
    assertThatThrownBy(() -> d.addDomain("not a domain")).isInstanceOf(RefusedException.class);
    assertThatThrownBy(() -> d.addAccount("x@nowhere.test", "pw".toCharArray()))
        .isInstanceOf(RefusedException.class).hasMessageContaining("no such domain");
    assertThatThrownBy(() -> d.addAccount("alice@example.test", "pw".toCharArray()))
        .isInstanceOf(RefusedException.class).hasMessageContaining("exists");
    assertThatThrownBy(() -> d.removeDomain("example.test")).isInstanceOf(RefusedException.class)
        .hasMessageContaining("still has accounts");
    assertThatThrownBy(() -> d.addAlias("alice@example.test", List.of("bob@example.test")))
        .isInstanceOf(RefusedException.class);
  }
}
