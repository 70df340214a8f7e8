package org.darwinmail.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A protocol transcript run against a real socket (STYLE.md, Tests). One directive per line:
 * <pre>
 *   # comment
 *   C: text          send "text" CRLF
 *   R: text          send raw text without CRLF; \r \n \t \\ are escapes, \xHH one byte (8-bit junk)
 *   S: pattern       expect one line; '*' matches any run of characters, '?' one character
 *   S~ regex         expect one line matching a Java regex; a named group (?<NAME>...) sets the variable NAME
 *   S... pattern     skip lines until one matches the pattern (at most 200)
 *   TLS              start TLS on the connection (after the server's go-ahead)
 *   CLOSED           expect the server to close the connection
 * </pre>
 * {@code $NAME} in C:, R:, S: lines is replaced with the value of the variable NAME (for example $D, the domain
 * created for the script).
 */
public final class Script {
  private Script() {}

  public static void run(Path file, LineClient client, Map<String, String> given) throws IOException {
    Map<String, String> vars = new java.util.LinkedHashMap<>(given);
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    int n = 0;
    for (String raw : lines) {
      n++;
      String where = file.getFileName() + ":" + n;
      if (raw.isBlank() || raw.startsWith("#")) {
        continue;
      }
      String line = substitute(raw, vars);
      if (line.startsWith("C: ") || line.equals("C:")) {
        client.send(line.length() > 3 ? line.substring(3) : "");
      } else if (line.startsWith("R: ")) {
        client.raw(unescape(line.substring(3)));
      } else if (line.startsWith("S: ")) {
        String got = client.read();
        assertThat(got).as(where + " expected: " + line.substring(3)).isNotNull();
        assertThat(glob(line.substring(3)).matcher(got).matches())
            .as(where + " expected \"" + line.substring(3) + "\" but got \"" + got + "\"").isTrue();
      } else if (line.startsWith("S~ ")) {
        String got = client.read();
        assertThat(got).as(where).isNotNull().matches(line.substring(3));
        java.util.regex.Matcher m = Pattern.compile(line.substring(3)).matcher(got);
        if (m.matches()) {
          // A value the server chose (a UIDVALIDITY, say), for later lines to compare with.
          m.namedGroups().keySet().forEach(name -> vars.put(name, m.group(name)));
        }
      } else if (line.startsWith("S... ")) {
        Pattern p = glob(line.substring(5));
        boolean found = false;
        for (int i = 0; i < 200 && !found; i++) {
          String got = client.read();
          assertThat(got).as(where + " expected eventually: " + line.substring(5)).isNotNull();
          found = p.matcher(got).matches();
        }
        assertThat(found).as(where + " never saw: " + line.substring(5)).isTrue();
      } else if (line.equals("TLS")) {
        client.upgrade();
      } else if (line.equals("CLOSED")) {
        assertThat(client.closedByServer()).as(where + " expected the server to close the connection").isTrue();
      } else {
        throw new IllegalArgumentException(where + ": unknown directive: " + raw);
      }
    }
  }

  private static String substitute(String s, Map<String, String> vars) {
    String out = s;
    for (var e : vars.entrySet()) {
      out = out.replace("$" + e.getKey(), e.getValue());
    }
    return out;
  }

  static byte[] unescape(String s) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 3 < s.length() && s.charAt(i + 1) == 'x') {
        out.writeBytes(sb.toString().getBytes(StandardCharsets.UTF_8));
        sb.setLength(0);
        out.write(Integer.parseInt(s.substring(i + 2, i + 4), 16));
        i += 3;
      } else if (c == '\\' && i + 1 < s.length()) {
        char d = s.charAt(++i);
        sb.append(switch (d) {
          case 'r' -> '\r';
          case 'n' -> '\n';
          case 't' -> '\t';
          default -> d;
        });
      } else {
        sb.append(c);
      }
    }
    out.writeBytes(sb.toString().getBytes(StandardCharsets.UTF_8));
    return out.toByteArray();
  }

  static Pattern glob(String g) {
    StringBuilder re = new StringBuilder();
    for (char c : g.toCharArray()) {
      switch (c) {
        case '*' -> re.append(".*");
        case '?' -> re.append('.');
        default -> re.append(Pattern.quote(String.valueOf(c)));
      }
    }
    return Pattern.compile(re.toString(), Pattern.DOTALL);
  }
}
