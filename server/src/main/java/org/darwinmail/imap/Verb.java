package org.darwinmail.imap;

import java.util.EnumSet;
import java.util.Set;
import org.darwinmail.imap.ImapCommand.*;

/**
 * The command table (RFC 3501 §6, RFC 9051 §6): for each command, the states that allow it and how the connection
 * can refuse it; checked once before dispatch ({@code ImapSession.allowed}). {@link #of} is an exhaustive switch: a
 * command without a row does not compile. CAPABILITY is built from the same table ({@link Capability}).
 */
enum Verb {
  // any state (§6.1)
  CAPABILITY(States.ANY),
  NOOP(States.ANY),
  LOGOUT(States.ANY),
  ID(States.ANY),
  // not authenticated (§6.2)
  STARTTLS(States.NOT_AUTH, Refusal.ONCE_TLS),
  AUTHENTICATE(States.NOT_AUTH, Refusal.BEFORE_TLS),
  LOGIN(States.NOT_AUTH, Refusal.BEFORE_TLS),
  // authenticated (§6.3), also in the selected state
  ENABLE(States.AUTH),
  SELECT(States.AUTH),
  CREATE(States.AUTH),
  DELETE(States.AUTH),
  RENAME(States.AUTH),
  SUBSCRIBE(States.AUTH),
  LIST(States.AUTH),
  NAMESPACE(States.AUTH),
  STATUS(States.AUTH),
  APPEND(States.AUTH),
  IDLE(States.AUTH),
  NOTIFY(States.AUTH),
  GETQUOTA(States.AUTH),
  GETQUOTAROOT(States.AUTH),
  SETQUOTA(States.AUTH),
  COMPRESS(States.AUTH),
  RESETKEY(States.AUTH), // RFC 4467 §6
  GENURLAUTH(States.AUTH),
  URLFETCH(States.AUTH),
  // selected (§6.4)
  CHECK(States.SELECTED),
  CLOSE(States.SELECTED),
  UNSELECT(States.SELECTED),
  EXPUNGE(States.SELECTED),
  SEARCH(States.SELECTED),
  SORT(States.SELECTED),
  THREAD(States.SELECTED),
  CANCELUPDATE(States.SELECTED),
  FETCH(States.SELECTED),
  STORE(States.SELECTED),
  COPY(States.SELECTED),
  REPLACE(States.SELECTED);

  /** When the connection refuses a command its state allows, and the reply it gets then. */
  enum Refusal {
    /** Never. */
    NONE(null),
    /** Once TLS is active (STARTTLS). */
    ONCE_TLS("BAD TLS already active"),
    /** While a password may not travel in the clear (RFC 9051 §6.2.3 LOGINDISABLED). */
    BEFORE_TLS("NO [PRIVACYREQUIRED] Log in after STARTTLS");

    final String reply;

    Refusal(String reply) {
      this.reply = reply;
    }
  }

  final Set<State> states;
  final Refusal refusal;

  Verb(Set<State> states) {
    this(states, Refusal.NONE);
  }

  Verb(Set<State> states, Refusal refusal) {
    this.states = states;
    this.refusal = refusal;
  }

  static Verb of(ImapCommand c) {
    return switch (c) {
      case ImapCommand.Capability x -> CAPABILITY;
      case Noop x -> NOOP;
      case Logout x -> LOGOUT;
      case Id x -> ID;
      case StartTls x -> STARTTLS;
      case Authenticate x -> AUTHENTICATE;
      case Login x -> LOGIN;
      case Enable x -> ENABLE;
      case Select x -> SELECT;
      case Create x -> CREATE;
      case Delete x -> DELETE;
      case Rename x -> RENAME;
      case Subscribe x -> SUBSCRIBE;
      case ListMailboxes x -> LIST;
      case Namespace x -> NAMESPACE;
      case Status x -> STATUS;
      case Append x -> APPEND;
      case Idle x -> IDLE;
      case Notify x -> NOTIFY;
      case GetQuota x -> GETQUOTA;
      case GetQuotaRoot x -> GETQUOTAROOT;
      case SetQuota x -> SETQUOTA;
      case Compress x -> COMPRESS;
      case ResetKey x -> RESETKEY;
      case GenUrlAuth x -> GENURLAUTH;
      case UrlFetch x -> URLFETCH;
      case Check x -> CHECK;
      case Close x -> CLOSE;
      case Unselect x -> UNSELECT;
      case Expunge x -> EXPUNGE;
      case Search x -> SEARCH;
      case Sort x -> SORT;
      case ThreadMessages x -> THREAD;
      case CancelUpdate x -> CANCELUPDATE;
      case Fetch x -> FETCH;
      case Store x -> STORE;
      case Copy x -> COPY;
      case Replace x -> REPLACE;
    };
  }

  /** Whether the connection refuses this command (its state allowing it) given TLS and the login rule. */
  boolean refused(boolean tls, boolean loginDisabled) {
    return switch (refusal) {
      case NONE -> false;
      case ONCE_TLS -> tls;
      case BEFORE_TLS -> loginDisabled;
    };
  }

  /** The sets of states the rows use (a class of their own: an enum's constructor cannot read its statics). */
  static final class States {
    static final Set<State> ANY = EnumSet.of(State.NOT_AUTHENTICATED, State.AUTHENTICATED, State.SELECTED);
    static final Set<State> NOT_AUTH = EnumSet.of(State.NOT_AUTHENTICATED);
    static final Set<State> AUTH = EnumSet.of(State.AUTHENTICATED, State.SELECTED);
    static final Set<State> SELECTED = EnumSet.of(State.SELECTED);

    private States() {}
  }

  /** When a capability is announced. */
  enum Offer {
    /** In every state: the server has the extension. */
    ALWAYS,
    /** While its command is allowed in the state and not refused (STARTTLS, AUTH=PLAIN). */
    WHILE_USABLE,
    /** While its command is allowed in the state but refused (LOGINDISABLED, RFC 9051 §6.2.3). */
    WHILE_REFUSED
  }

  /**
   * The CAPABILITY atoms (RFC 9051 §7.2.2), in the order announced, each with the command it belongs to: the one it
   * extends, or CAPABILITY for what concerns the whole protocol.
   */
  enum Capability {
    IMAP4REV1("IMAP4rev1", Verb.CAPABILITY, Offer.ALWAYS),
    IMAP4REV2("IMAP4rev2", Verb.CAPABILITY, Offer.ALWAYS),
    STARTTLS("STARTTLS", Verb.STARTTLS, Offer.WHILE_USABLE),
    LOGINDISABLED("LOGINDISABLED", Verb.LOGIN, Offer.WHILE_REFUSED),
    AUTH_PLAIN("AUTH=PLAIN", Verb.AUTHENTICATE, Offer.WHILE_USABLE),
    SASL_IR("SASL-IR", Verb.AUTHENTICATE, Offer.ALWAYS), // RFC 4959
    LITERAL_PLUS("LITERAL+", Verb.CAPABILITY, Offer.ALWAYS), // RFC 7888, in ImapFramer
    ID("ID", Verb.ID, Offer.ALWAYS), // RFC 2971
    ENABLE("ENABLE", Verb.ENABLE, Offer.ALWAYS), // RFC 5161
    IDLE("IDLE", Verb.IDLE, Offer.ALWAYS), // RFC 2177
    NAMESPACE("NAMESPACE", Verb.NAMESPACE, Offer.ALWAYS), // RFC 2342
    UNSELECT("UNSELECT", Verb.UNSELECT, Offer.ALWAYS), // RFC 3691
    UIDPLUS("UIDPLUS", Verb.EXPUNGE, Offer.ALWAYS), // RFC 4315: UID EXPUNGE, APPENDUID, COPYUID
    MOVE("MOVE", Verb.COPY, Offer.ALWAYS), // RFC 6851
    CHILDREN("CHILDREN", Verb.LIST, Offer.ALWAYS), // RFC 3348
    LIST_EXTENDED("LIST-EXTENDED", Verb.LIST, Offer.ALWAYS), // RFC 5258
    LIST_STATUS("LIST-STATUS", Verb.LIST, Offer.ALWAYS), // RFC 5819
    SPECIAL_USE("SPECIAL-USE", Verb.LIST, Offer.ALWAYS), // RFC 6154
    CREATE_SPECIAL_USE("CREATE-SPECIAL-USE", Verb.CREATE, Offer.ALWAYS), // RFC 6154 §3
    ESEARCH("ESEARCH", Verb.SEARCH, Offer.ALWAYS), // RFC 4731
    SEARCHRES("SEARCHRES", Verb.SEARCH, Offer.ALWAYS), // RFC 5182
    CONDSTORE("CONDSTORE", Verb.SELECT, Offer.ALWAYS), // RFC 7162 §3.1
    QRESYNC("QRESYNC", Verb.SELECT, Offer.ALWAYS), // RFC 7162 §3.2
    QUOTA("QUOTA", Verb.GETQUOTA, Offer.ALWAYS), // RFC 9208
    QUOTASET("QUOTASET", Verb.SETQUOTA, Offer.ALWAYS), // RFC 9208 §4.1.3: the user's own limit (MailboxCommands)
    QUOTA_STORAGE("QUOTA=RES-STORAGE", Verb.GETQUOTA, Offer.ALWAYS),
    APPENDLIMIT("APPENDLIMIT=", Verb.APPEND, Offer.ALWAYS), // RFC 7889: the limit follows
    STATUS_SIZE("STATUS=SIZE", Verb.STATUS, Offer.ALWAYS), // RFC 8438
    UTF8_ACCEPT("UTF8=ACCEPT", Verb.ENABLE, Offer.ALWAYS), // RFC 6855
    UIDONLY("UIDONLY", Verb.ENABLE, Offer.ALWAYS), // RFC 9586
    SORT("SORT", Verb.SORT, Offer.ALWAYS), // RFC 5256
    SORT_DISPLAY("SORT=DISPLAY", Verb.SORT, Offer.ALWAYS), // RFC 5957
    ESORT("ESORT", Verb.SORT, Offer.ALWAYS), // RFC 5267 §3
    CONTEXT_SEARCH("CONTEXT=SEARCH", Verb.SEARCH, Offer.ALWAYS), // RFC 5267 §4: UPDATE, PARTIAL, CANCELUPDATE
    CONTEXT_SORT("CONTEXT=SORT", Verb.SORT, Offer.ALWAYS),
    THREAD_ORDEREDSUBJECT("THREAD=ORDEREDSUBJECT", Verb.THREAD, Offer.ALWAYS), // RFC 5256 §3
    THREAD_REFERENCES("THREAD=REFERENCES", Verb.THREAD, Offer.ALWAYS),
    BINARY("BINARY", Verb.FETCH, Offer.ALWAYS), // RFC 3516
    COMPRESS_DEFLATE("COMPRESS=DEFLATE", Verb.COMPRESS, Offer.ALWAYS), // RFC 4978
    MULTIAPPEND("MULTIAPPEND", Verb.APPEND, Offer.ALWAYS), // RFC 3502
    CATENATE("CATENATE", Verb.APPEND, Offer.ALWAYS), // RFC 4469
    URLAUTH("URLAUTH", Verb.GENURLAUTH, Offer.ALWAYS), // RFC 4467: GENURLAUTH, URLFETCH, RESETKEY
    REPLACE("REPLACE", Verb.REPLACE, Offer.ALWAYS), // RFC 8508
    SAVEDATE("SAVEDATE", Verb.FETCH, Offer.ALWAYS), // RFC 8514
    OBJECTID("OBJECTID", Verb.FETCH, Offer.ALWAYS), // RFC 8474
    PREVIEW("PREVIEW", Verb.FETCH, Offer.ALWAYS), // RFC 8970
    NOTIFY("NOTIFY", Verb.NOTIFY, Offer.ALWAYS); // RFC 5465

    final String atom;
    final Verb verb;
    final Offer offer;

    Capability(String atom, Verb verb, Offer offer) {
      this.atom = atom;
      this.verb = verb;
      this.offer = offer;
    }
  }

  /**
   * The CAPABILITY list in {@code state} (RFC 9051 §7.2.2): what the table offers now, given TLS and the login rule;
   * APPENDLIMIT carries {@code appendLimit}.
   */
  static String capabilities(State state, boolean tls, boolean loginDisabled, long appendLimit) {
    StringBuilder sb = new StringBuilder();
    for (Capability c : Capability.values()) {
      boolean allowed = c.verb.states.contains(state);
      boolean announce = switch (c.offer) {
        case ALWAYS -> true;
        case WHILE_USABLE -> allowed && !c.verb.refused(tls, loginDisabled);
        case WHILE_REFUSED -> allowed && c.verb.refused(tls, loginDisabled);
      };
      if (announce) {
        sb.append(sb.isEmpty() ? "" : " ").append(c.atom);
        if (c == Capability.APPENDLIMIT) {
          sb.append(appendLimit);
        }
      }
    }
    return sb.toString();
  }
}
