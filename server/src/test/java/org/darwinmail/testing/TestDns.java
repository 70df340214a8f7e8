package org.darwinmail.testing;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;

/**
 * A tiny authoritative DNS server for tests, on 127.0.0.1 (UDP and TCP, same port), built on dnsjava's message
 * codec: records added by the test, SERVFAIL for names marked failing, NXDOMAIN for names it knows nothing of.
 * Point the server at it with {@code [dns] servers = ["127.0.0.1:PORT"]}.
 */
public final class TestDns implements AutoCloseable {
  private final DatagramSocket udp;
  private final ServerSocket tcp;
  private final Map<String, List<Record>> records = new ConcurrentHashMap<>();
  private final Set<String> servfail = ConcurrentHashMap.newKeySet();
  private volatile boolean open = true;

  public TestDns() {
    try {
      ServerSocket t = null;
      DatagramSocket u = null;
      for (int i = 0; i < 20 && t == null; i++) {
        u = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        try {
          t = new ServerSocket(u.getLocalPort(), 50, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
          u.close();
        }
      }
      this.udp = u;
      this.tcp = t;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    Thread.ofVirtual().name("test-dns-udp").start(this::serveUdp);
    Thread.ofVirtual().name("test-dns-tcp").start(this::serveTcp);
  }

  public int port() {
    return udp.getLocalPort();
  }

  /** "127.0.0.1:PORT", for {@code [dns] servers}. */
  public String address() {
    return "127.0.0.1:" + port();
  }

  private static Name name(String n) {
    try {
      return Name.fromString(n.endsWith(".") ? n : n + ".");
    } catch (org.xbill.DNS.TextParseException e) {
      throw new IllegalArgumentException(n, e);
    }
  }

  private static String key(Name n) {
    return n.toString().toLowerCase(Locale.ROOT);
  }

  public TestDns add(Record r) {
    records.computeIfAbsent(key(r.getName()), k -> new ArrayList<>()).add(r);
    return this;
  }

  public TestDns mx(String domain, int preference, String host) {
    return add(new MXRecord(name(domain), DClass.IN, 60, preference, name(host)));
  }

  /** RFC 7505: "MX 0 .". */
  public TestDns nullMx(String domain) {
    return add(new MXRecord(name(domain), DClass.IN, 60, 0, Name.root));
  }

  public TestDns a(String host, String ip) {
    try {
      InetAddress a = InetAddress.getByName(ip);
      return a.getAddress().length == 4 ? add(new ARecord(name(host), DClass.IN, 60, a))
          : add(new AAAARecord(name(host), DClass.IN, 60, a));
    } catch (IOException e) {
      throw new IllegalArgumentException(ip, e);
    }
  }

  /** A TXT record; long values are split into 255-byte strings. */
  public TestDns txt(String n, String value) {
    List<String> parts = new ArrayList<>();
    for (int i = 0; i < value.length(); i += 255) {
      parts.add(value.substring(i, Math.min(value.length(), i + 255)));
    }
    return add(new TXTRecord(name(n), DClass.IN, 60, parts));
  }

  /** Answers SERVFAIL for every query about {@code n}. */
  public TestDns servfail(String n) {
    servfail.add(key(name(n)));
    return this;
  }

  public void clear(String n) {
    records.remove(key(name(n)));
    servfail.remove(key(name(n)));
  }

  byte[] answer(byte[] query, int max) {
    Message q;
    try {
      q = new Message(query);
    } catch (IOException e) {
      return null;
    }
    Message r = new Message(q.getHeader().getID());
    r.getHeader().setFlag(Flags.QR);
    r.getHeader().setFlag(Flags.AA);
    Record question = q.getQuestion();
    if (question == null) {
      r.getHeader().setRcode(Rcode.FORMERR);
      return r.toWire();
    }
    r.addRecord(question, Section.QUESTION);
    String k = key(question.getName());
    if (servfail.contains(k)) {
      r.getHeader().setRcode(Rcode.SERVFAIL);
    } else if (!records.containsKey(k)) {
      r.getHeader().setRcode(Rcode.NXDOMAIN);
    } else {
      for (Record rec : records.get(k)) {
        if (rec.getType() == question.getType()) {
          r.addRecord(rec, Section.ANSWER);
        }
      }
    }
    byte[] wire = r.toWire();
    if (wire.length > max) {
      Message t = new Message(q.getHeader().getID());
      t.getHeader().setFlag(Flags.QR);
      t.getHeader().setFlag(Flags.TC);
      t.addRecord(question, Section.QUESTION);
      return t.toWire();
    }
    return wire;
  }

  private void serveUdp() {
    byte[] buf = new byte[4096];
    while (open) {
      try {
        DatagramPacket p = new DatagramPacket(buf, buf.length);
        udp.receive(p);
        byte[] q = java.util.Arrays.copyOf(p.getData(), p.getLength());
        int max = 512;
        try {
          Message m = new Message(q);
          if (m.getOPT() != null) {
            max = Math.max(512, m.getOPT().getPayloadSize());
          }
        } catch (IOException e) {
          continue;
        }
        byte[] a = answer(q, max);
        if (a != null) {
          udp.send(new DatagramPacket(a, a.length, p.getSocketAddress()));
        }
      } catch (IOException e) {
        // closed
      }
    }
  }

  private void serveTcp() {
    while (open) {
      try {
        Socket s = tcp.accept();
        Thread.ofVirtual().start(() -> {
          try (s) {
            DataInputStream in = new DataInputStream(s.getInputStream());
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            int len = in.readUnsignedShort();
            byte[] q = in.readNBytes(len);
            byte[] a = answer(q, 65535);
            if (a != null) {
              out.writeShort(a.length);
              out.write(a);
              out.flush();
            }
          } catch (IOException e) {
            // client went away
          }
        });
      } catch (IOException e) {
        // closed
      }
    }
  }

  @Override
  public void close() {
    open = false;
    udp.close();
    try {
      tcp.close();
    } catch (IOException e) {
      // closed
    }
  }
}
