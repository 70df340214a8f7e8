package org.darwinmail.release;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * The release this build is: the version in {@code server/pom.xml}, which the build writes into
 * {@code darwinmail-version.properties} (the one source of the version: {@code darwinmail --version}, the data
 * format manifest and the appliance's name all take it from there). Semantic versions, MAJOR.MINOR.PATCH.
 */
public final class Release {
  /** This release's version, e.g. "0.2.0". */
  public static final String VERSION = load();

  private Release() {}

  private static String load() {
    try (InputStream in = Release.class.getResourceAsStream("/darwinmail-version.properties")) {
      Properties p = new Properties();
      if (in != null) {
        p.load(in);
      }
      String v = p.getProperty("version", "");
      // Unfiltered (a build that skipped resource filtering): say so rather than print "${project.version}".
      return v.isEmpty() || v.startsWith("$") ? "unknown" : v;
    } catch (IOException e) {
      return "unknown";
    }
  }

  /**
   * Orders two versions by their numeric MAJOR.MINOR.PATCH parts (a missing part is 0; a suffix such as
   * "-SNAPSHOT" is ignored): negative when {@code a} is older than {@code b}, 0 when the same, positive when newer.
   */
  public static int compare(String a, String b) {
    long[] x = parts(a);
    long[] y = parts(b);
    for (int i = 0; i < 3; i++) {
      if (x[i] != y[i]) {
        return Long.compare(x[i], y[i]);
      }
    }
    return 0;
  }

  private static long[] parts(String v) {
    long[] out = new long[3];
    String[] p = v.split("[-+]", 2)[0].split("\\.");
    for (int i = 0; i < Math.min(3, p.length); i++) {
      try {
        out[i] = Long.parseLong(p[i].strip());
      } catch (NumberFormatException e) {
        out[i] = Long.MAX_VALUE; // not a version this release can place: taken as newer, never as older
      }
    }
    return out;
  }
}
