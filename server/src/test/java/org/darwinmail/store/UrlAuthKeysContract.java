package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.darwinmail.testing.AtOnce;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What IMAP URLAUTH (RFC 4467 §3) relies on from {@link UrlAuthKeys} and its table ({@code urlauth_keys}, V014, one
 * portable script for both engines): one key per mailbox, the same on every node, made once even when two nodes make
 * it at the same instant; RESETKEY of one mailbox or of all the account's; a mailbox's deletion takes its key with
 * it. Run on each engine by a subclass.
 */
abstract class UrlAuthKeysContract {
  private Engine engine;
  private SqlRunner node;
  private MessageRepository mail;
  private long alice;
  private long bob;

  abstract Engine engine();

  @BeforeEach
  void open() {
    engine = engine();
    node = engine.node();
    mail = new SqlMessageRepository(node);
    DirectoryRepository d = new SqlDirectoryRepository(node);
    d.addDomain("keys.test");
    alice = d.addAccount("alice@keys.test", "h", List.of()).id();
    bob = d.addAccount("bob@keys.test", "h", List.of()).id();
  }

  @AfterEach
  void close() throws Exception {
    engine.close();
  }

  @Test
  void aKeyIsMadeOnFirstUseAndIsTheSameOnEveryNode() {
    long box = mail.createMailbox(alice, "Drafts", "Drafts").id();
    UrlAuthKeys keys = new UrlAuthKeys(node);
    assertThat(keys.existing(box)).isNull();
    byte[] k = keys.key(box);
    assertThat(k).hasSize(32); // 256 random bits
    assertThat(keys.key(box)).isEqualTo(k);
    assertThat(keys.existing(box)).isEqualTo(k);
    UrlAuthKeys other = new UrlAuthKeys(engine.node());
    assertThat(other.existing(box)).isEqualTo(k);
    assertThat(other.key(box)).isEqualTo(k);
    long sent = mail.createMailbox(alice, "Sent", "Sent").id();
    assertThat(keys.key(sent)).isNotEqualTo(k); // one key per mailbox
  }

  @Test
  void resetOfOneMailboxRemovesItsKeyAndTheNextKeyIsANewOne() {
    long box = mail.createMailbox(alice, "Drafts", "Drafts").id();
    long sent = mail.createMailbox(alice, "Sent", "Sent").id();
    UrlAuthKeys keys = new UrlAuthKeys(node);
    byte[] k = keys.key(box);
    byte[] s = keys.key(sent);
    new UrlAuthKeys(engine.node()).reset(box);
    assertThat(keys.existing(box)).isNull();
    assertThat(keys.existing(sent)).isEqualTo(s);
    byte[] fresh = keys.key(box);
    assertThat(fresh).hasSize(32).isNotEqualTo(k);
    keys.reset(box);
    keys.reset(box); // a second reset of a mailbox without a key is no error
    assertThat(keys.existing(box)).isNull();
  }

  @Test
  void resetOfAllTakesEveryKeyOfTheAccountAndNoOtherAccounts() {
    long a1 = mail.createMailbox(alice, "INBOX", null).id();
    long a2 = mail.createMailbox(alice, "Drafts", "Drafts").id();
    long b1 = mail.createMailbox(bob, "INBOX", null).id();
    UrlAuthKeys keys = new UrlAuthKeys(node);
    keys.key(a1);
    keys.key(a2);
    byte[] b = keys.key(b1);
    keys.resetAll(alice);
    assertThat(keys.existing(a1)).isNull();
    assertThat(keys.existing(a2)).isNull();
    assertThat(keys.existing(b1)).isEqualTo(b);
  }

  @Test
  void aDeletedMailboxTakesItsKeyAndOneMadeAgainUnderItsNameHasNone() {
    long box = mail.createMailbox(alice, "Drafts", "Drafts").id();
    UrlAuthKeys keys = new UrlAuthKeys(node);
    byte[] k = keys.key(box);
    mail.deleteMailbox(box); // ON DELETE CASCADE
    assertThat(keys.existing(box)).isNull();
    long again = mail.createMailbox(alice, "Drafts", "Drafts").id();
    assertThat(again).isNotEqualTo(box);
    assertThat(keys.existing(again)).isNull();
    assertThat(keys.key(again)).isNotEqualTo(k);
  }

  @Test
  void twoNodesMakingTheFirstKeyAtOnceGetTheSameOne() throws Exception {
    UrlAuthKeys one = new UrlAuthKeys(node);
    UrlAuthKeys two = new UrlAuthKeys(engine.node());
    for (int i = 0; i < 10; i++) {
      long box = mail.createMailbox(alice, "race" + i, null).id();
      List<byte[]> made = new ArrayList<>(AtOnce.run(List.of(one, two), k -> k.key(box)));
      assertThat(made.get(0)).as("mailbox " + i).isEqualTo(made.get(1)).isEqualTo(one.existing(box));
    }
  }
}
