package org.darwinmail.imap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Set;
import org.darwinmail.imap.ImapCommand.Notify;
import org.darwinmail.imap.ImapCommand.NotifyFilter;
import org.darwinmail.imap.ImapCommand.NotifyGroup;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The NOTIFY grammar (RFC 5465 §8) on the RFC's own examples (§3.1, as corrected by erratum 1804: each event list in
 * parentheses) and the BAD rules of §5 and §6; no I/O. Fuzzing: ImapParserFuzzTest's notify_* inputs.
 */
class NotifyParserTest {
  static Notify parse(String line) {
    return (Notify) ImapParser.parse(List.of(line), false);
  }

  @Test
  void rfcExampleWithStatusAndAFetchAttList() {
    Notify n = parse("b notify set status (selected (MessageNew (uid body.peek[header.fields (from to subject)])"
        + " MessageExpunge)) (subtree Lists (MessageNew MessageExpunge))");
    assertThat(n.tag()).isEqualTo("b");
    assertThat(n.status()).isTrue();
    assertThat(n.groups()).hasSize(2);
    NotifyGroup sel = n.groups().get(0);
    assertThat(sel.filter()).isEqualTo(NotifyFilter.SELECTED);
    assertThat(sel.events()).isEqualTo(Set.of("MessageNew", "MessageExpunge"));
    assertThat(sel.newItems()).hasSize(2);
    assertThat(sel.newItems().get(0)).isInstanceOf(FetchItem.Uid.class);
    FetchItem.Section h = (FetchItem.Section) sel.newItems().get(1);
    assertThat(h.peek()).isTrue();
    assertThat(h.spec()).isEqualTo(FetchItem.Spec.HEADER_FIELDS);
    assertThat(h.fields()).containsExactly("FROM", "TO", "SUBJECT");
    NotifyGroup sub = n.groups().get(1);
    assertThat(sub.filter()).isEqualTo(NotifyFilter.SUBTREE);
    assertThat(sub.mailboxes()).containsExactly("Lists");
    assertThat(sub.newItems()).isEmpty();
  }

  @Test
  void bodyInMessageNewIsAPeekAndMailboxListsAndNoneParse() {
    Notify n = parse("e NOTIFY SET (selected-delayed (MessageNew (BODY[HEADER.FIELDS (SUBJECT)]) MessageExpunge))"
        + " (mailboxes (INBOX \"Other box\" misc) NONE) (mailboxes misc (messagenew MESSAGEEXPUNGE flagchange))"
        + " (personal (MailboxName SubscriptionChange)) (inboxes (MessageNew MessageExpunge)) (subscribed NONE)");
    assertThat(n.status()).isFalse();
    assertThat(n.groups()).extracting(NotifyGroup::filter).containsExactly(NotifyFilter.SELECTED_DELAYED,
        NotifyFilter.MAILBOXES, NotifyFilter.MAILBOXES, NotifyFilter.PERSONAL, NotifyFilter.INBOXES,
        NotifyFilter.SUBSCRIBED);
    assertThat(((FetchItem.Section) n.groups().get(0).newItems().get(0)).peek()).isTrue();
    assertThat(n.groups().get(1).mailboxes()).containsExactly("INBOX", "Other box", "misc");
    assertThat(n.groups().get(1).events()).isNull();
    assertThat(n.groups().get(2).events()).isEqualTo(Set.of("MessageNew", "MessageExpunge", "FlagChange"));
    assertThat(n.groups().get(5).events()).isNull();
  }

  @Test
  void noneAndUnknownEventsParse() {
    assertThat(parse("a NOTIFY NONE").groups()).isEmpty();
    // an event the server does not know is the handler's NO [BADEVENT], not a syntax error (§8 event-ext = atom)
    assertThat(parse("a NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange Whatever))").groups()
        .get(0).events()).contains("AnnotationChange", "Whatever");
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "a NOTIFY",
      "a NOTIFY SET",
      "a NOTIFY SET STATUS",
      "a NOTIFY ALL",
      "a NOTIFY NONE (personal NONE)",
      "a NOTIFY SET personal (MessageNew MessageExpunge)",
      "a NOTIFY SET ()",
      "a NOTIFY SET (personal)",
      "a NOTIFY SET (personal ())",
      "a NOTIFY SET (personal (MessageNew MessageExpunge)",
      "a NOTIFY SET (personal (MessageNew MessageExpunge))  (inboxes NONE)",
      "a NOTIFY SET (nobody (MessageNew MessageExpunge))",
      "a NOTIFY SET (subtree (MessageNew MessageExpunge))",
      "a NOTIFY SET (mailboxes () (MessageNew MessageExpunge))",
      "a NOTIFY SET (selected (MessageNew () MessageExpunge))",
      "a NOTIFY SET (selected (MessageNew (FROB) MessageExpunge))",
      // §5: MessageNew and MessageExpunge together; FlagChange and AnnotationChange only with both
      "a NOTIFY SET (selected (MessageNew))",
      "a NOTIFY SET (personal (MessageExpunge))",
      "a NOTIFY SET (personal (FlagChange))",
      "a NOTIFY SET (personal (MessageNew FlagChange))",
      // §6.1, §6.2: only message events for the selected mailbox; one selected filter
      "a NOTIFY SET (selected (MessageNew MessageExpunge MailboxName))",
      "a NOTIFY SET (selected-delayed (SubscriptionChange))",
      "a NOTIFY SET (selected (MessageNew MessageExpunge)) (selected-delayed (MessageNew MessageExpunge))",
      "a NOTIFY SET (selected NONE) (selected NONE)",
  })
  void malformedOrForbiddenIsBad(String line) {
    assertThatThrownBy(() -> parse(line)).isInstanceOfSatisfying(ImapException.class,
        e -> assertThat(e.kind()).isEqualTo(ImapException.Kind.BAD));
  }

  @Test
  void theNumberOfNamesIsBounded() {
    StringBuilder many = new StringBuilder("a NOTIFY SET (mailboxes (");
    for (int i = 0; i <= ImapParser.MAX_NOTIFY_NAMES; i++) {
      many.append(i == 0 ? "" : " ").append("b").append(i);
    }
    many.append(") (MessageNew MessageExpunge))");
    assertThatThrownBy(() -> parse(many.toString())).isInstanceOf(ImapException.class)
        .hasMessageContaining("Too many");
    StringBuilder groups = new StringBuilder("a NOTIFY SET");
    for (int i = 0; i <= ImapParser.MAX_NOTIFY_NAMES; i++) {
      groups.append(" (inboxes NONE)");
    }
    assertThatThrownBy(() -> parse(groups.toString())).isInstanceOf(ImapException.class)
        .hasMessageContaining("Too many");
  }
}
