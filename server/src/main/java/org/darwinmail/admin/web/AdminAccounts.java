package org.darwinmail.admin.web;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.darwinmail.store.AtomicFile;
import org.darwinmail.auth.Passwords;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The console's administrator accounts, in {@code <data_dir>/admin/accounts.json} (mode 0600): a name, a display
 * name and an Argon2id hash ({@code auth.Passwords}) each. They are not mail accounts: a mail password opens no
 * console. Written whole and atomically ({@link AtomicFile}).
 */
final class AdminAccounts {
  static final int MIN_PASSWORD = 12;
  private static final JsonMapper JSON = JsonMapper.builder().build();

  record Admin(String name, String displayName, String hash) {}

  private final Path file;
  private final List<Admin> admins = new ArrayList<>();

  AdminAccounts(Path dataDir) {
    this.file = org.darwinmail.store.DataDir.of(dataDir).adminAccounts();
    if (Files.exists(file)) {
      try {
        JsonNode root = JSON.readTree(Files.readString(file));
        for (JsonNode a : root.path("accounts")) {
          admins.add(new Admin(a.path("name").asString(), a.path("display_name").asString(),
              a.path("hash").asString()));
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
      }
    }
  }

  synchronized boolean isEmpty() {
    return admins.isEmpty();
  }

  synchronized Optional<Admin> find(String name) {
    return admins.stream().filter(a -> a.name().equals(name)).findFirst();
  }

  /** Why this name and password cannot be an admin account, or null when they can. */
  static String refusal(String name, String displayName, char[] password) {
    if (name == null || !name.matches("[a-z][a-z0-9._-]{0,31}")) {
      return "The user name is 1 to 32 lower-case letters, digits, '.', '_' or '-', starting with a letter.";
    }
    if (displayName != null && displayName.length() > 100) {
      return "The display name is at most 100 characters.";
    }
    if (password == null || password.length < MIN_PASSWORD) {
      return "The password needs at least " + MIN_PASSWORD + " characters.";
    }
    if (password.length > 1024) {
      return "The password is at most 1024 characters.";
    }
    if (new String(password).toLowerCase(java.util.Locale.ROOT).contains(name)) {
      return "The password must not contain the user name.";
    }
    return null;
  }

  /** Creates the account, or replaces the one of that name. */
  synchronized void put(String name, String displayName, char[] password) {
    String hash = Passwords.hash(password);
    admins.removeIf(a -> a.name().equals(name));
    admins.add(new Admin(name, displayName == null ? "" : displayName, hash));
    save();
  }

  /** Setup replaces the admin account it made when the step is done again: only {@code keep} remains. */
  synchronized void keepOnly(String keep) {
    if (admins.removeIf(a -> !a.name().equals(keep))) {
      save();
    }
  }

  private void save() {
    ObjectNode root = JSON.createObjectNode();
    ArrayNode list = root.putArray("accounts");
    for (Admin a : admins) {
      list.addObject().put("name", a.name()).put("display_name", a.displayName()).put("hash", a.hash());
    }
    AtomicFile.write(file, JSON.writeValueAsBytes(root));
  }
}
