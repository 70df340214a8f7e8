package org.darwinmail.admin.web;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.darwinmail.store.AtomicFile;
import org.darwinmail.admin.settings.Settings;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Where the first-run wizard is, kept in {@code <data_dir>/admin/setup.json} so that a reload or a restart resumes
 * at the same step: the step, whether setup is done, and the settings given so far (never a password): the
 * public address and port-25 probe of the checks, the TLS choice and how many DNS records were seen last.
 */
final class SetupState {
  /** The wizard's screens in order; CODE is never stored (a session with the code is needed first). */
  enum Step {
    CODE, ADMIN, HOST, NETWORK, CHECKS, TLS, DNS, MAILBOX, SUMMARY;

    String id() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  private static final JsonMapper JSON = JsonMapper.builder().build();
  private final Path file;
  private boolean done;
  private Step step = Step.ADMIN;
  private String admin;
  private String hostname;
  private String domain;
  private String mailbox;
  private List<String> aliases = List.of();
  private String publicAddress;
  private String probe;
  private String tls;
  private String dnsSeen;

  SetupState(Path dataDir) {
    this.file = org.darwinmail.store.DataDir.of(dataDir).setupState();
    if (Files.exists(file)) {
      try {
        JsonNode n = JSON.readTree(Files.readString(file));
        done = n.path("done").asBoolean(false);
        step = Step.valueOf(n.path("step").asString("ADMIN").toUpperCase(java.util.Locale.ROOT));
        admin = text(n, "admin");
        hostname = text(n, "hostname");
        domain = text(n, "domain");
        mailbox = text(n, "mailbox");
        List<String> a = new ArrayList<>();
        n.path("aliases").forEach(x -> a.add(x.asString()));
        aliases = List.copyOf(a);
        publicAddress = text(n, "publicAddress");
        probe = text(n, "probe");
        tls = text(n, "tls");
        dnsSeen = text(n, "dnsSeen");
      } catch (IOException | IllegalArgumentException e) {
        throw new IllegalStateException("cannot read " + file + ": " + e.getMessage(), e);
      }
    }
  }

  private static String text(JsonNode n, String key) {
    JsonNode v = n.get(key);
    return v == null || v.isNull() ? null : v.asString();
  }

  synchronized boolean done() {
    return done;
  }

  synchronized Step step() {
    return step;
  }

  synchronized String admin() {
    return admin;
  }

  /** The settings given so far, without the mailbox password (the mailbox exists once it is recorded here). */
  synchronized Settings settings() {
    return new Settings(hostname, domain, mailbox, null, aliases);
  }

  synchronized void adminDone(String name) {
    admin = name;
    advance(Step.HOST);
  }

  synchronized void hostDone(String h, String d) {
    hostname = h;
    domain = d;
    advance(Step.NETWORK);
  }

  /** A step of 4-7 is done: the wizard goes on to the one after it. */
  synchronized void passed(Step which) {
    advance(Step.values()[which.ordinal() + 1]);
  }

  synchronized String publicAddress() {
    return publicAddress;
  }

  synchronized String probe() {
    return probe;
  }

  /** The public address (behind NAT) and the port-25 probe the checks used last; null keeps the old value. */
  synchronized void checkInputs(String address, String target) {
    if (address != null) {
      publicAddress = address.isBlank() ? null : address.strip();
    }
    if (target != null) {
      probe = target.isBlank() ? null : target.strip();
    }
    save();
  }

  /** What the TLS step did, in words (kept for the summary). */
  synchronized String tls() {
    return tls;
  }

  synchronized void tlsDone(String what) {
    tls = what;
    advance(Step.DNS);
  }

  /** "N of M" DNS records seen at the last look, for the summary. */
  synchronized String dnsSeen() {
    return dnsSeen;
  }

  synchronized void dnsSeen(String seen) {
    dnsSeen = seen;
    save();
  }

  synchronized void mailboxDone(String m, List<String> a) {
    mailbox = m;
    aliases = List.copyOf(a);
    advance(Step.SUMMARY);
  }

  synchronized void finish() {
    done = true;
    save();
  }

  private void advance(Step next) {
    if (next.ordinal() > step.ordinal()) {
      step = next;
    }
    save();
  }

  private void save() {
    ObjectNode n = JSON.createObjectNode();
    n.put("done", done);
    n.put("step", step.id());
    n.put("admin", admin);
    n.put("hostname", hostname);
    n.put("domain", domain);
    n.put("mailbox", mailbox);
    n.put("publicAddress", publicAddress);
    n.put("probe", probe);
    n.put("tls", tls);
    n.put("dnsSeen", dnsSeen);
    var a = n.putArray("aliases");
    aliases.forEach(a::add);
    try {
      Files.createDirectories(file.getParent());
      Files.setPosixFilePermissions(file.getParent(), java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    AtomicFile.write(file, JSON.writeValueAsBytes(n));
  }
}
