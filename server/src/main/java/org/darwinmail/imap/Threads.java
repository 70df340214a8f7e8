package org.darwinmail.imap;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The THREAD algorithms of RFC 5256 §3 (ORDEREDSUBJECT and REFERENCES) on the messages a search found, and the
 * thread-list they give (§4). No I/O: the caller reads the headers. The work is bounded whatever the headers say:
 * at most {@link #MAX_REFS} message-ids of a References field count (the last ones: the parent is the last), an id
 * is at most {@link #MAX_ID} characters, a loop check walks at most {@link #MAX_WALK} ancestors (beyond, the link is
 * not made, as for a loop), and every tree walk is iterative (a chain of replies as long as the mailbox is fine).
 */
final class Threads {
  static final int MAX_REFS = 100;
  static final int MAX_ID = 998; // RFC 5322 §2.1.1: a line's limit
  static final int MAX_WALK = 10_000;

  private Threads() {}

  /**
   * One message: {@code number} is what the reply lists (a UID or a sequence number), {@code order} its place in
   * the mailbox (ties of the sent date, RFC 5256 §2.2), {@code sent} the Date: header's instant or the internal
   * date when it has none usable.
   */
  record Message(long number, long order, Instant sent, BaseSubject.Extracted subject, String messageId,
      String references, String inReplyTo) {}

  /** A node: a message, or a dummy (message null) standing for a referenced message the search did not find. */
  private static final class Node {
    final Message message;
    Node parent;
    final List<Node> children = new ArrayList<>();

    Node(Message message) {
      this.message = message;
    }

    boolean dummy() {
      return message == null;
    }

    /** The message a sibling sort compares: a dummy's first child (RFC 5256 §3 REFERENCES steps 4 and 6). */
    Message key() {
      Node n = this;
      while (n.dummy() && !n.children.isEmpty()) {
        n = n.children.get(0);
      }
      return n.message;
    }
  }

  private static final Comparator<Node> BY_DATE = Comparator.comparing((Node n) -> n.key().sent())
      .thenComparingLong(n -> n.key().order());

  // RFC 5256 §3 ORDEREDSUBJECT: sorted by base subject then sent date; one thread per base subject, its first
  // message at the root and the others its children (no grandchildren); threads by the sent date of their first
  static String orderedSubject(List<Message> messages) {
    List<Message> sorted = new ArrayList<>(messages);
    sorted.sort(Comparator.comparing((Message m) -> m.subject().base()).thenComparing(Message::sent)
        .thenComparingLong(Message::order));
    List<Node> roots = new ArrayList<>();
    Node current = null;
    for (Message m : sorted) {
      Node n = new Node(m);
      if (current != null && current.message.subject().base().equals(m.subject().base())) {
        n.parent = current;
        current.children.add(n);
      } else {
        roots.add(n);
        current = n;
      }
    }
    roots.sort(BY_DATE);
    return render(roots);
  }

  // RFC 5256 §3 REFERENCES: (1) link by Message-ID / References / In-Reply-To, (2) the roots, (3) prune dummies,
  // (4) sort the roots, (5) gather the roots of one base subject, (6) sort all siblings. (The comments below number
  // the steps as RFC 5256 does.)
  static String references(List<Message> messages) {
    Map<String, Node> byId = new HashMap<>();
    List<Node> all = new ArrayList<>();
    List<Message> inOrder = new ArrayList<>(messages);
    inOrder.sort(Comparator.comparingLong(Message::order));
    for (Message m : inOrder) {
      // (1A) the message's own container; a duplicate or missing Message-ID gets a unique one
      List<String> own = msgIds(m.messageId(), 1);
      String id = own.isEmpty() ? null : own.get(0);
      Node self = id == null ? null : byId.get(id);
      if (self == null || !self.dummy()) {
        self = new Node(m);
        all.add(self);
        if (id != null && !byId.containsKey(id)) {
          byId.put(id, self);
        }
      } else {
        Node filled = new Node(m); // the dummy created for an earlier reference becomes this message
        replace(self, filled);
        byId.put(id, filled);
        all.add(filled);
        self = filled;
      }
      List<String> refs = msgIds(m.references(), MAX_REFS);
      if (refs.isEmpty()) {
        refs = msgIds(m.inReplyTo(), 1); // no usable References: the first id of In-Reply-To
      }
      // (1A) each reference the parent of the next, unless it has one already or a loop would result
      Node prev = null;
      for (String ref : refs) {
        Node n = byId.get(ref);
        if (n == null) {
          n = new Node(null);
          byId.put(ref, n);
          all.add(n);
        }
        if (prev != null && n.parent == null && linkable(prev, n)) {
          link(prev, n);
        }
        prev = n;
      }
      // (1B) the last reference is the message's parent: a parent it has is broken off first (a truncated
      // References elsewhere made it); no link that would make a loop
      if (prev != null && prev != self && linkable(prev, self)) {
        if (self.parent != null) {
          self.parent.children.remove(self);
          self.parent = null;
        }
        link(prev, self);
      }
    }
    // (2) the root set
    List<Node> roots = new ArrayList<>();
    for (Node n : all) {
      if (n.parent == null) {
        roots.add(n);
      }
    }
    // (3) prune dummies
    prune(roots, null);
    for (Node n : all) {
      if (!n.children.isEmpty()) {
        prune(n.children, n);
      }
    }
    prune(roots, null); // a top dummy whose children went while pruning below it
    // (4) sort the root set by date (a dummy by its first child, its children sorted first)
    for (Node r : roots) {
      if (r.dummy()) {
        r.children.sort(BY_DATE);
      }
    }
    roots.sort(BY_DATE);
    // (5) gather the roots of one base subject
    roots = bySubject(roots);
    // (6) sort every set of siblings by date, the deepest first: a dummy (only at the top) sorts by its first child
    List<Node> order = new ArrayList<>();
    Deque<Node> todo = new ArrayDeque<>(roots);
    while (!todo.isEmpty()) {
      Node n = todo.pop();
      order.add(n);
      n.children.forEach(todo::push);
    }
    for (int i = order.size() - 1; i >= 0; i--) {
      order.get(i).children.sort(BY_DATE);
    }
    roots.sort(BY_DATE);
    return render(roots);
  }

  private static void link(Node parent, Node child) {
    child.parent = parent;
    parent.children.add(child);
  }

  /** The dummy {@code old} becomes {@code filled}: same place, same children. */
  private static void replace(Node old, Node filled) {
    filled.parent = old.parent;
    if (old.parent != null) {
      List<Node> siblings = old.parent.children;
      siblings.set(siblings.indexOf(old), filled);
    }
    for (Node c : old.children) {
      c.parent = filled;
      filled.children.add(c);
    }
    old.children.clear();
    old.parent = null;
  }

  /** Linking {@code child} under {@code parent} makes no loop: the child is not the parent nor its ancestor. */
  private static boolean linkable(Node parent, Node child) {
    if (child.children.isEmpty()) {
      return parent != child;
    }
    int steps = 0;
    for (Node a = parent; a != null; a = a.parent) {
      if (a == child || ++steps > MAX_WALK) {
        return false;
      }
    }
    return true;
  }

  // (3) a dummy without children goes; a dummy with children gives them its place, except at the top with more
  // than one child (that dummy stays); promoted children are looked at again where they land
  private static void prune(List<Node> siblings, Node parent) {
    int i = 0;
    while (i < siblings.size()) {
      Node n = siblings.get(i);
      if (!n.dummy()) {
        i++;
      } else if (n.children.isEmpty()) {
        siblings.remove(i);
      } else if (parent == null && n.children.size() > 1) {
        i++;
      } else {
        siblings.remove(i);
        for (Node c : n.children) {
          c.parent = parent;
        }
        siblings.addAll(i, n.children);
        n.children.clear();
      }
    }
  }

  /** (5) The roots sharing a base subject put together. */
  private static List<Node> bySubject(List<Node> roots) {
    Map<String, Node> table = new HashMap<>();
    for (Node r : roots) {
      BaseSubject.Extracted s = r.key().subject();
      if (s.base().isEmpty()) {
        continue;
      }
      Node old = table.get(s.base());
      if (old == null || r.dummy() && !old.dummy()
          || !old.dummy() && old.message.subject().reply() && !r.dummy() && !s.reply()) {
        table.put(s.base(), r);
      }
    }
    List<Node> out = new ArrayList<>(roots);
    for (Node r : roots) {
      BaseSubject.Extracted s = r.key().subject();
      Node t = s.base().isEmpty() ? null : table.get(s.base());
      if (t == null || t == r || r.parent != null) { // r.parent: already put under another root here
        continue;
      }
      if (t.dummy() && r.dummy()) {
        for (Node c : r.children) {
          link(t, c);
        }
        r.children.clear();
        out.remove(r);
      } else if (t.dummy()) {
        link(t, r);
        out.remove(r);
      } else if (r.dummy()) {
        link(r, t);
        out.remove(t);
        table.put(s.base(), r);
      } else if (!t.message.subject().reply() && s.reply()) {
        link(t, r);
        out.remove(r);
      } else {
        Node d = new Node(null);
        out.set(out.indexOf(t), d);
        out.remove(r);
        link(d, t);
        link(d, r);
        table.put(s.base(), d);
      }
    }
    return out;
  }

  /**
   * RFC 5256 §4 thread-list for each root: "(n m (a)(b))"; a dummy lists no number. Built with a stack, not
   * recursion: a reply chain may be as deep as the mailbox is large.
   */
  private static String render(List<Node> roots) {
    StringBuilder sb = new StringBuilder();
    Deque<Object> stack = new ArrayDeque<>();
    for (int i = roots.size() - 1; i >= 0; i--) {
      stack.push(roots.get(i));
    }
    while (!stack.isEmpty()) {
      Object o = stack.pop();
      if (o == CLOSE) {
        sb.append(')');
        continue;
      }
      sb.append('(');
      Node n = (Node) o;
      boolean first = true;
      while (true) {
        if (!n.dummy()) {
          sb.append(first ? "" : " ").append(n.message.number());
          first = false;
        }
        if (n.children.size() == 1) {
          n = n.children.get(0);
          continue;
        }
        if (n.children.isEmpty()) {
          sb.append(')');
        } else {
          sb.append(first ? "" : " ");
          stack.push(CLOSE);
          for (int i = n.children.size() - 1; i >= 0; i--) {
            stack.push(n.children.get(i));
          }
        }
        break;
      }
    }
    return sb.toString();
  }

  private static final Object CLOSE = new Object();

  /**
   * The msg-ids ("&lt;...&gt;", RFC 5322 §3.6.4) of a header value, normalized: with {@code max} 1 the first one,
   * else the last {@code max} in order, read from the end (a References field of any length costs {@code max} ids).
   * An id without "@" or longer than {@link #MAX_ID} is not valid.
   */
  static List<String> msgIds(String value, int max) {
    if (value == null) {
      return List.of();
    }
    if (max == 1) {
      int i = 0;
      while (true) {
        int open = value.indexOf('<', i);
        int close = open < 0 ? -1 : value.indexOf('>', open + 1);
        if (close < 0) {
          return List.of();
        }
        int nested = value.lastIndexOf('<', close);
        String id = id(value, Math.max(open, nested), close);
        if (id != null) {
          return List.of(id);
        }
        i = close + 1;
      }
    }
    ArrayDeque<String> ids = new ArrayDeque<>();
    int end = value.length();
    while (ids.size() < max) {
      int close = value.lastIndexOf('>', end - 1);
      int open = close < 0 ? -1 : value.lastIndexOf('<', close - 1);
      if (open < 0) {
        break;
      }
      int inner = value.indexOf('>', open + 1);
      String id = id(value, open, inner < close ? inner : close);
      if (id != null) {
        ids.addFirst(id);
      }
      end = open;
    }
    return new ArrayList<>(ids);
  }

  /** The id between "<" at {@code open} and "&gt;" at {@code close} (RFC 5256 §3: <"a"@b> is <a@b>), or null. */
  private static String id(String value, int open, int close) {
    if (close - open > 4 * MAX_ID) {
      return null;
    }
    StringBuilder id = new StringBuilder();
    for (int k = open + 1; k < close; k++) {
      char c = value.charAt(k);
      if (c == '\\' && k + 1 < close) {
        id.append(value.charAt(++k));
      } else if (c > ' ' && c != '"') {
        id.append(c);
      }
    }
    return id.length() > 0 && id.length() <= MAX_ID && id.indexOf("@") > 0 ? id.toString() : null;
  }
}
