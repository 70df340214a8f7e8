package org.darwinmail.admin.web;

import java.nio.file.Path;
import org.darwinmail.admin.settings.Settings;
import org.darwinmail.admin.settings.SettingsEngine;
import org.darwinmail.store.Directory;

/**
 * Setup without the wizard, for the appliance's first boot when the OVF properties give an admin password (and for
 * a CLI command to come): the same {@link SettingsEngine#apply} as the wizard's steps, the same admin account
 * file, and setup marked done, so the admin listener shows no code and no wizard. Not called by the first-boot
 * script or the CLI yet (ARCHITECTURE.md, "Configuration").
 */
public final class Unattended {
  private Unattended() {}

  /**
   * Applies {@code settings} (with the postmaster and abuse aliases of its mailbox, as the wizard makes), creates
   * or replaces the admin account, and marks setup done. Safe to run again with the same arguments. Run it while
   * no admin listener of this data directory runs (it reads the files at its start).
   */
  public static void complete(Path dataDir, Directory directory, Settings settings, String adminName,
      String adminDisplayName, char[] adminPassword) {
    String refusal = AdminAccounts.refusal(adminName, adminDisplayName, adminPassword);
    if (refusal != null) {
      throw new SettingsEngine.Invalid("admin", refusal);
    }
    SettingsEngine engine = new SettingsEngine(dataDir, directory);
    Settings s = settings.mailbox() != null && settings.aliases().isEmpty()
        ? settings.withMailbox(settings.mailbox(), settings.mailboxPassword(), Api.DEFAULT_ALIASES) : settings;
    Settings checked = engine.check(s);
    engine.apply(checked, "unattended setup");
    AdminAccounts admins = new AdminAccounts(dataDir);
    admins.put(adminName, adminDisplayName, adminPassword);
    admins.keepOnly(adminName);
    SetupState state = new SetupState(dataDir);
    state.adminDone(adminName);
    if (checked.hostname() != null || checked.domain() != null) {
      state.hostDone(checked.hostname(), checked.domain());
    }
    if (checked.mailbox() != null) {
      state.mailboxDone(checked.mailbox(), checked.aliases());
    }
    state.finish();
  }
}
