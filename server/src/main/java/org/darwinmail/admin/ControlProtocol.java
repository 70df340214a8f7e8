package org.darwinmail.admin;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The control socket's protocol, the one class both sides use (ARCHITECTURE.md, "The CLI and the control socket"):
 * the CLI's client ({@code cli/ControlClient}) and the server's listener ({@link ControlServer}). The socket is
 * {@code <data_dir>/run/control.sock}; one request per connection, one reply, then both sides close.
 *
 * <p>Both are sequences of length-prefixed UTF-8 strings written with {@link DataOutputStream}: a request is the
 * argument count (at most {@value #MAX_ARGS}), the arguments, then the text for standard input; a reply is the exit
 * status, standard output, then standard error. Every length is checked against {@value #MAX_MESSAGE} bytes before
 * anything is allocated. Both ends ship in the same jar, so the format has no version. This class loads nothing but
 * java.base: the CLI's client path must stay small (issue 22: a command answered in under 0.3 s).
 */
public final class ControlProtocol {
  /** The largest request or reply, and the largest single string in one. */
  public static final int MAX_MESSAGE = 4 * 1024 * 1024;
  /** The most arguments one command line may have. */
  public static final int MAX_ARGS = 256;
  /** Standard input forwarded with a command ({@code --password-stdin}), at most this many bytes. */
  public static final int MAX_STDIN = 64 * 1024;

  private ControlProtocol() {}

  /** A command line and what it reads on standard input. */
  public record Request(List<String> args, String stdin) {
    public Request {
      args = List.copyOf(args);
    }
  }

  /** What the command did: its exit status and its two output streams. */
  public record Reply(int exit, String out, String err) {}

  /** Runs a request inside the server. */
  @FunctionalInterface
  public interface Handler {
    Reply handle(Request request);
  }

  /**
   * The socket's path in a data directory: {@code store.DataDir.controlSocket}, not imported because this class is
   * java.base only (the CLI client loads nothing else); DataDirTest checks that both agree.
   */
  public static Path socketPath(Path dataDir) {
    return dataDir.resolve("run").resolve("control.sock");
  }

  /**
   * Whether a server answers on {@code dataDir}'s control socket: a connection is accepted (and closed at once: the
   * server's listener takes a connection closed before its first byte for no request).
   */
  public static boolean answers(Path dataDir) {
    Path socket = socketPath(dataDir);
    if (!java.nio.file.Files.exists(socket)) {
      return false;
    }
    try (java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(
        java.net.StandardProtocolFamily.UNIX)) {
      return ch.connect(java.net.UnixDomainSocketAddress.of(socket));
    } catch (IOException | RuntimeException e) {
      return false; // a stale socket: no server there
    }
  }

  /**
   * Whether a server is starting or running on {@code dataDir} ({@code run/serve.lock}, held from the server's first
   * instant: {@link org.darwinmail.store.DataDir#serverMarked}), or a process has its Derby database open: Derby holds an exclusive lock on
   * {@code db/dbex.lck} while the database is booted (a server, or a CLI command that opened it), released when the
   * process ends, however it ends. Probed with a shared lock on a read-only channel (no write permission needed).
   * False when it cannot tell (no such file, unreadable). Never call it from the process that has the database
   * open: closing any channel on the file would drop that process's own lock (POSIX record locks).
   */
  public static boolean databaseLocked(Path dataDir) {
    if (org.darwinmail.store.DataDir.serverMarked(dataDir)) {
      return true; // a server starting (listeners up, database not yet open) or running
    }
    return org.darwinmail.store.DataDir.lockedElsewhere(dataDir.resolve("db").resolve("dbex.lck"));
  }

  public static void write(Request r, OutputStream os) throws IOException {
    DataOutputStream out = new DataOutputStream(os);
    out.writeInt(r.args().size());
    for (String a : r.args()) {
      writeString(out, a);
    }
    writeString(out, r.stdin());
    out.flush();
  }

  public static Request readRequest(InputStream is) throws IOException {
    DataInputStream in = new DataInputStream(is);
    int n = in.readInt();
    if (n < 0 || n > MAX_ARGS) {
      throw new IOException("bad argument count " + n);
    }
    List<String> args = new ArrayList<>(n);
    int[] budget = {MAX_MESSAGE};
    for (int i = 0; i < n; i++) {
      args.add(readString(in, budget));
    }
    return new Request(args, readString(in, budget));
  }

  public static void write(Reply r, OutputStream os) throws IOException {
    DataOutputStream out = new DataOutputStream(os);
    out.writeInt(r.exit());
    writeString(out, r.out());
    writeString(out, r.err());
    out.flush();
  }

  public static Reply readReply(InputStream is) throws IOException {
    DataInputStream in = new DataInputStream(is);
    int exit = in.readInt();
    int[] budget = {MAX_MESSAGE};
    return new Reply(exit, readString(in, budget), readString(in, budget));
  }

  private static void writeString(DataOutputStream out, String s) throws IOException {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    if (b.length > MAX_MESSAGE) {
      throw new IOException("control message over " + MAX_MESSAGE + " bytes");
    }
    out.writeInt(b.length);
    out.write(b);
  }

  /** One string; {@code budget[0]}: the bytes the whole message may still use. */
  private static String readString(DataInputStream in, int[] budget) throws IOException {
    int len = in.readInt();
    if (len < 0 || len > budget[0]) {
      throw new IOException("control message over " + MAX_MESSAGE + " bytes");
    }
    budget[0] -= len;
    byte[] b = new byte[len];
    try {
      in.readFully(b);
    } catch (EOFException e) {
      throw new IOException("control message cut short", e);
    }
    return new String(b, StandardCharsets.UTF_8);
  }
}
