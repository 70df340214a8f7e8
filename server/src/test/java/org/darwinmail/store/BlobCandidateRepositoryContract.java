package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What {@link BlobCollector} relies on from a {@link BlobCandidateRepository}, run on each engine by a subclass:
 * every deletion of a message (an expunge, a mailbox removed by cascade) records its blob, one candidate per blob,
 * and settling one leaves a row recorded after it was read.
 */
abstract class BlobCandidateRepositoryContract {
  private static final String BLOB_A = "aa".repeat(32);
  private static final String BLOB_B = "bb".repeat(32);
  private Engine engine;
  private SqlRunner node;
  private MessageRepository mail;
  private BlobCandidateRepository r;
  private long account;

  abstract Engine engine();

  abstract BlobCandidateRepository repository(SqlRunner node);

  @BeforeEach
  void open() {
    engine = engine();
    node = engine.node();
    r = repository(node);
    mail = new SqlMessageRepository(node);
    DirectoryRepository d = new SqlDirectoryRepository(node);
    d.addDomain("a.test");
    account = d.addAccount("alice@a.test", "h", List.of()).id();
  }

  @AfterEach
  void close() throws Exception {
    engine.close();
  }

  private void add(long mailbox, String blob) {
    mail.append(List.of(new MessageRepository.NewMessage(mailbox, new BlobRef(blob, 1), Instant.now(), 0, Set.of())));
  }

  @Test
  void deletedMessagesMakeOneCandidatePerBlobAndSettlingKeepsLaterRows() {
    Mailbox inbox = mail.createMailbox(account, Mailbox.INBOX, null);
    Mailbox other = mail.createMailbox(account, "other", null);
    assertThat(r.candidates(10)).isEmpty();
    add(inbox.id(), BLOB_A);
    add(inbox.id(), BLOB_A);
    add(other.id(), BLOB_B);
    add(other.id(), BLOB_A);
    mail.expunge(inbox.id(), List.of(1L, 2L));
    mail.deleteMailbox(other.id()); // by cascade
    List<BlobCandidateRepository.Candidate> found = r.candidates(10);
    assertThat(found).extracting(BlobCandidateRepository.Candidate::hash).containsExactlyInAnyOrder(BLOB_A, BLOB_B);
    assertThat(r.candidates(1)).hasSize(1);
    add(inbox.id(), BLOB_A);
    mail.expunge(inbox.id(), List.of(3L)); // recorded after the read: stays
    r.settled(found); // the collector's pass: all in one transaction
    List<BlobCandidateRepository.Candidate> left = r.candidates(10);
    assertThat(left).extracting(BlobCandidateRepository.Candidate::hash).containsExactly(BLOB_A);
    r.settled(left.getFirst());
    assertThat(r.candidates(10)).isEmpty();
  }

  /**
   * A POP3 QUIT or an EXPUNGE of many messages deletes each run of neighbouring messages in one statement, not one
   * statement per message: the statement trigger (V007) adds one row per blob per statement, so 450 messages sharing
   * a body, deleted around two that stay, make three rows (450 with the old per-message statements).
   */
  @Test
  void anExpungeOfManyMessagesDeletesThemInFewStatements() {
    Mailbox inbox = mail.createMailbox(account, Mailbox.INBOX, null);
    List<MessageRepository.NewMessage> many = new ArrayList<>();
    for (int i = 0; i < 452; i++) {
      many.add(new MessageRepository.NewMessage(inbox.id(), new BlobRef(BLOB_A, 1), Instant.now(), 0, Set.of()));
    }
    mail.append(many);
    List<Long> all = mail.messages(inbox.id()).stream().map(MessageRow::uid).toList();
    List<Long> kept = List.of(all.get(100), all.get(300));
    List<Long> uids = all.stream().filter(u -> !kept.contains(u)).toList();
    List<Long> asked = new ArrayList<>(uids);
    asked.add(all.getLast() + 1000); // not there: not reported
    MessageRepository.Changes<Long> removed = mail.expunge(inbox.id(), asked);
    assertThat(removed.items()).containsExactlyElementsOf(uids);
    assertThat(mail.messages(inbox.id())).extracting(MessageRow::uid).containsExactlyElementsOf(kept);
    assertThat(mail.expungedSince(inbox.id(), removed.modseq() - 1)).containsExactlyInAnyOrderElementsOf(uids);
    long rows = node.read(c -> {
      try (var ps = c.prepareStatement("SELECT COUNT(*) FROM blob_candidates"); var rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    });
    assertThat(rows).isEqualTo(3);
    assertThat(mail.expunge(inbox.id(), uids).items()).isEmpty();
  }
}
