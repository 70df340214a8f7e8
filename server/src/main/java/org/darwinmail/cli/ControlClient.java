package org.darwinmail.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.darwinmail.admin.ControlServer;
import org.darwinmail.config.ConfigLoader;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Sends a CLI command to a running server over its control socket ({@code <data_dir>/run/control.sock}). */
final class ControlClient {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  private ControlClient() {}

  static boolean wantsForwarding(String[] args) {
    List<String> a = Arrays.asList(args);
    return !(a.contains("serve") || a.contains("-h") || a.contains("--help") || a.contains("-V")
        || a.contains("--version") || a.contains("help"));
  }

  /** The exit status of the command run by the server, or null when no server answers (run it here). */
  static Integer tryForward(String[] args, InputStream stdin, PrintStream out, PrintStream err) {
    Path socket;
    try {
      socket = ControlServer.socketPath(ConfigLoader.load(configPath(args)).dataDir());
    } catch (RuntimeException e) {
      return null; // let the local run report the configuration problem
    }
    if (!Files.exists(socket)) {
      return null;
    }
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(socket));
      String input = needsStdin(args) ? new String(stdin.readNBytes(64 * 1024), StandardCharsets.UTF_8) : "";
      var req = JSON.createObjectNode();
      var arr = req.putArray("args");
      for (String s : args) {
        arr.add(s);
      }
      req.put("stdin", input);
      ch.write(ByteBuffer.wrap(JSON.writeValueAsBytes(req)));
      ch.shutdownOutput();
      byte[] reply = Channels.newInputStream(ch).readNBytes(ControlServer.MAX_MESSAGE);
      JsonNode r = JSON.readTree(reply);
      out.print(r.get("out").asString());
      err.print(r.get("err").asString());
      out.flush();
      err.flush();
      return r.get("exit").asInt();
    } catch (IOException | RuntimeException e) {
      return null; // a stale socket: no server there
    }
  }

  private static boolean needsStdin(String[] args) {
    return Arrays.asList(args).contains("--password-stdin");
  }

  static Path configPath(String[] args) {
    for (int i = 0; i < args.length; i++) {
      if ((args[i].equals("-c") || args[i].equals("--config")) && i + 1 < args.length) {
        return Path.of(args[i + 1]);
      }
      if (args[i].startsWith("--config=")) {
        return Path.of(args[i].substring("--config=".length()));
      }
    }
    return Path.of("/etc/darwinmail/darwinmail.toml");
  }
}
