package org.darwinmail.testing;

import jakarta.mail.FetchProfile;
import jakarta.mail.Folder;
import jakarta.mail.Message;
import jakarta.mail.Session;
import jakarta.mail.Store;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/** What the cluster tests do as clients of a {@link ClusterNode} (IMAP reads, a raw IMAP session, the CLI's status). */
public final class ClusterClients {
  private ClusterClients() {}

  /** Fails unless the CLI command succeeded (its standard error in the message). */
  public static void ok(ClusterNode.CliResult r) {
    if (r.status() != 0) {
      throw new AssertionError("darwinmail exited with " + r.status() + ": " + r.err());
    }
  }

  /** A JavaMail session for the nodes: plain text on loopback ([imap] plaintext_on_loopback), bounded waits. */
  public static Session session() {
    Properties p = new Properties();
    for (String proto : List.of("imap", "pop3")) {
      p.put("mail." + proto + ".connectiontimeout", "10000");
      p.put("mail." + proto + ".timeout", "60000");
    }
    p.put("mail.imap.starttls.enable", "false");
    return Session.getInstance(p);
  }

  /** The subject of every message in the account's INBOX, read over IMAP on the node (repeated when stored twice). */
  public static List<String> subjects(ClusterNode n, String user, String password) throws Exception {
    Store s = session().getStore("imap");
    s.connect(n.address(), n.port("imap"), user, password);
    try {
      Folder inbox = s.getFolder("INBOX");
      inbox.open(Folder.READ_ONLY);
      Message[] all = inbox.getMessages();
      FetchProfile fp = new FetchProfile();
      fp.add(FetchProfile.Item.ENVELOPE);
      inbox.fetch(all, fp);
      List<String> out = new ArrayList<>();
      for (Message m : all) {
        out.add(m.getSubject());
      }
      inbox.close(false);
      return out;
    } finally {
      s.close();
    }
  }

  /** A raw IMAP connection, logged in: one tagged command at a time, its tagged reply returned. */
  public static final class Imap implements AutoCloseable {
    private final Socket socket;
    private final BufferedReader in;
    private final OutputStream out;
    private int tag;

    public Imap(ClusterNode n, String user, String password) throws IOException {
      socket = new Socket(n.address(), n.port("imap"));
      socket.setSoTimeout(60_000);
      in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
      out = socket.getOutputStream();
      String greeting = in.readLine();
      if (greeting == null || !greeting.startsWith("* OK")) {
        throw new IOException("no IMAP greeting: " + greeting);
      }
      String r = command("LOGIN " + user + " " + password);
      if (!r.startsWith("OK")) {
        throw new IOException("LOGIN: " + r);
      }
    }

    /** Sends {@code command}; returns its tagged reply without the tag ("OK ...", "NO ...", "BAD ..."). */
    public String command(String command) throws IOException {
      String t = "t" + ++tag;
      out.write((t + " " + command + "\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String l;
      while ((l = in.readLine()) != null) {
        if (l.startsWith(t + " ")) {
          return l.substring(t.length() + 1);
        }
      }
      throw new IOException("the server closed the connection");
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }
}
