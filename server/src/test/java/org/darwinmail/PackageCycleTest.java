package org.darwinmail;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.DataInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The package graph of {@code server/src/main} has no cycle (ARCHITECTURE.md, "Layers and the package graph"): a
 * new arrow that closes one fails here. The graph is read from the sources (imports and qualified names, comments
 * left out).
 */
class PackageCycleTest {
  private static final Path ROOT = Path.of("src/main/java/org/darwinmail");
  private static final Pattern REF = Pattern.compile("org\\.darwinmail\\.([A-Za-z0-9_]+)");

  @Test
  void noPackageCycle() throws IOException {
    Map<String, Set<String>> graph = graph();
    assertThat(graph).containsKeys("store", "smtp", "imap", "(root)");
    List<Set<String>> cycles = new ArrayList<>();
    for (Set<String> scc : components(graph)) {
      if (scc.size() > 1) {
        cycles.add(scc);
      }
    }
    assertThat(cycles).as("packages that refer to each other, directly or through others").isEmpty();
  }

  @Test
  void protocolsNeverImportEachOtherAndTheCoreNoProtocol() throws IOException {
    Map<String, Set<String>> graph = graph();
    Set<String> protocols = Set.of("smtp", "imap", "pop3");
    for (String p : protocols) {
      assertThat(graph.get(p)).as(p).doesNotContainAnyElementsOf(protocols);
    }
    for (String core : List.of("config", "net", "dns", "store", "auth", "mime", "delivery", "guard", "errors",
        "release", "urlauth")) {
      assertThat(graph.getOrDefault(core, Set.of())).as(core)
          .doesNotContainAnyElementsOf(Set.of("smtp", "imap", "pop3", "cli", "admin", "(root)"));
    }
  }

  /**
   * Inside {@code imap} no class refers back, directly or through others, to a class that refers to it (issue 21):
   * the session uses its handlers, the handlers their state and output, never the other way. Read from the compiled
   * classes (every class named in the constant pool, descriptors and signatures included); a nested class counts as
   * its top-level class.
   */
  @Test
  void noClassCycleInImap() throws IOException {
    Map<String, Set<String>> graph = classGraph(Path.of("target/classes/org/darwinmail/imap"), "org/darwinmail/imap/");
    assertThat(graph).containsKeys("ImapSession", "SelectedCommands", "MailboxCommands");
    List<Set<String>> cycles = new ArrayList<>();
    for (Set<String> scc : components(graph)) {
      if (scc.size() > 1) {
        cycles.add(scc);
      }
    }
    assertThat(cycles).as("classes of imap that refer to each other, directly or through others").isEmpty();
  }

  /** Top-level class -> top-level classes of the same package that its class files (nested ones included) name. */
  static Map<String, Set<String>> classGraph(Path dir, String pkg) throws IOException {
    Pattern ref = Pattern.compile(Pattern.quote(pkg) + "([A-Za-z0-9_]+)");
    Map<String, Set<String>> g = new TreeMap<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".class")).toList()) {
        String name = f.getFileName().toString();
        String from = name.substring(0, name.length() - ".class".length()).split("\\$")[0];
        Set<String> to = g.computeIfAbsent(from, k -> new TreeSet<>());
        for (String text : utf8Constants(f)) {
          Matcher m = ref.matcher(text);
          while (m.find()) {
            if (!m.group(1).equals(from)) {
              to.add(m.group(1));
            }
          }
        }
      }
    }
    return g;
  }

  /** The CONSTANT_Utf8 entries of a class file's constant pool (JVMS §4.4): class names, descriptors, signatures. */
  static List<String> utf8Constants(Path classFile) throws IOException {
    List<String> out = new ArrayList<>();
    try (DataInputStream in = new DataInputStream(Files.newInputStream(classFile))) {
      if (in.readInt() != 0xCAFEBABE) {
        throw new IOException(classFile + " is not a class file");
      }
      in.readUnsignedShort(); // minor
      in.readUnsignedShort(); // major
      int count = in.readUnsignedShort();
      for (int i = 1; i < count; i++) {
        int tag = in.readUnsignedByte();
        switch (tag) {
          case 1 -> out.add(in.readUTF());
          case 7, 8, 16, 19, 20 -> in.skipNBytes(2); // Class, String, MethodType, Module, Package
          case 15 -> in.skipNBytes(3); // MethodHandle
          case 3, 4, 9, 10, 11, 12, 17, 18 -> in.skipNBytes(4); // Integer, Float, refs, NameAndType, (Invoke)Dynamic
          case 5, 6 -> { // Long, Double take two entries
            in.skipNBytes(8);
            i++;
          }
          default -> throw new IOException(classFile + ": unknown constant pool tag " + tag);
        }
      }
    }
    return out;
  }

  /** Package -> packages its sources refer to; the root package is "(root)". */
  static Map<String, Set<String>> graph() throws IOException {
    Map<String, Set<String>> g = new TreeMap<>();
    try (Stream<Path> files = Files.walk(ROOT)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
        Path rel = ROOT.relativize(f.getParent());
        String from = rel.toString().isEmpty() ? "(root)" : rel.toString().replace('/', '.');
        Set<String> to = g.computeIfAbsent(from, k -> new TreeSet<>());
        Matcher m = REF.matcher(withoutComments(Files.readString(f)));
        while (m.find()) {
          String name = m.group(1);
          String pkg = Character.isUpperCase(name.charAt(0)) ? "(root)" : name;
          if (!pkg.equals(from)) {
            to.add(pkg);
          }
        }
      }
    }
    return g;
  }

  /** Java source without its comments (string literals kept as they are). */
  static String withoutComments(String src) {
    StringBuilder out = new StringBuilder(src.length());
    for (int i = 0; i < src.length(); i++) {
      char c = src.charAt(i);
      if (c == '"') {
        int j = i + 1;
        while (j < src.length() && src.charAt(j) != '"') {
          j += src.charAt(j) == '\\' ? 2 : 1;
        }
        out.append(src, i, Math.min(j + 1, src.length()));
        i = j;
      } else if (src.startsWith("//", i)) {
        i = Math.max(i, src.indexOf('\n', i) - 1);
        if (i < 0) {
          break;
        }
      } else if (src.startsWith("/*", i)) {
        int end = src.indexOf("*/", i + 2);
        i = end < 0 ? src.length() : end + 1;
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  /** Strongly connected components (Tarjan). */
  static List<Set<String>> components(Map<String, Set<String>> g) {
    Map<String, Integer> index = new HashMap<>();
    Map<String, Integer> low = new HashMap<>();
    List<String> stack = new ArrayList<>();
    List<Set<String>> out = new ArrayList<>();
    for (String v : g.keySet()) {
      if (!index.containsKey(v)) {
        connect(v, g, index, low, stack, out);
      }
    }
    return out;
  }

  private static void connect(String v, Map<String, Set<String>> g, Map<String, Integer> index,
      Map<String, Integer> low, List<String> stack, List<Set<String>> out) {
    index.put(v, index.size());
    low.put(v, index.get(v));
    stack.add(v);
    for (String w : g.getOrDefault(v, Set.of())) {
      if (!index.containsKey(w)) {
        connect(w, g, index, low, stack, out);
        low.put(v, Math.min(low.get(v), low.get(w)));
      } else if (stack.contains(w)) {
        low.put(v, Math.min(low.get(v), index.get(w)));
      }
    }
    if (low.get(v).equals(index.get(v))) {
      Set<String> scc = new TreeSet<>();
      String w;
      do {
        w = stack.removeLast();
        scc.add(w);
      } while (!w.equals(v));
      out.add(scc);
    }
  }
}
