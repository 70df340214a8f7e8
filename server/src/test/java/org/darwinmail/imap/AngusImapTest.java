package org.darwinmail.imap;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.mail.Flags;
import jakarta.mail.Folder;
import jakarta.mail.Message;
import jakarta.mail.Multipart;
import jakarta.mail.Session;
import jakarta.mail.Store;
import jakarta.mail.UIDFolder;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import jakarta.mail.search.SubjectTerm;
import java.util.Properties;
import org.darwinmail.testing.SharedServer;
import org.darwinmail.testing.TestServer;
import org.eclipse.angus.mail.imap.IMAPFolder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Interoperability with a client nobody here wrote: Angus Mail's IMAP store (over STARTTLS and over imaps). */
class AngusImapTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = SharedServer.get();
    server.addUser("angus@interop.test", "angus-pw");
  }


  private static Store connect(boolean implicitTls) throws Exception {
    Properties p = new Properties();
    String proto = implicitTls ? "imaps" : "imap";
    p.put("mail." + proto + ".ssl.trust", "*");
    p.put("mail." + proto + ".ssl.checkserveridentity", "false"); // self-signed test certificate for mx.test
    p.put("mail.imap.starttls.required", "true");
    p.put("mail." + proto + ".connectiontimeout", "10000");
    p.put("mail." + proto + ".timeout", "10000");
    p.put("mail.debug", System.getProperty("imap.debug", "false"));
    Store s = Session.getInstance(p).getStore(proto);
    s.connect("127.0.0.1", server.port(implicitTls ? "imaps" : "imap"), "angus@interop.test", "angus-pw");
    return s;
  }

  @Test
  void appendFetchStructureSearchFlagMoveOverStartTls() throws Exception {
    Store store = connect(false);
    try {
      Session session = Session.getInstance(new Properties());
      MimeMessage m = new MimeMessage(session);
      m.setFrom(new InternetAddress("sender@example.test", "Sender Näme", "UTF-8"));
      m.setRecipients(Message.RecipientType.TO, "angus@interop.test");
      m.setSubject("Grüße aus Angus", "UTF-8");
      MimeMultipart mp = new MimeMultipart();
      MimeBodyPart text = new MimeBodyPart();
      text.setText("Hallo Welt, schöne Grüße", "UTF-8");
      MimeBodyPart att = new MimeBodyPart();
      att.setContent(new byte[] {1, 2, 3, 4}, "application/octet-stream");
      att.setFileName("data.bin");
      mp.addBodyPart(text);
      mp.addBodyPart(att);
      m.setContent(mp);
      m.saveChanges();

      IMAPFolder inbox = (IMAPFolder) store.getFolder("INBOX");
      inbox.open(Folder.READ_WRITE);
      inbox.appendUIDMessages(new Message[] {m});
      assertThat(inbox.getMessageCount()).isEqualTo(1);

      Message got = inbox.getMessage(1);
      assertThat(got.getSubject()).isEqualTo("Grüße aus Angus");
      assertThat(((InternetAddress) got.getFrom()[0]).getPersonal()).isEqualTo("Sender Näme");
      Multipart body = (Multipart) got.getContent();
      assertThat(body.getCount()).isEqualTo(2);
      assertThat(body.getBodyPart(0).getContent()).isEqualTo("Hallo Welt, schöne Grüße");
      assertThat(body.getBodyPart(1).getFileName()).isEqualTo("data.bin");
      assertThat(body.getBodyPart(1).getInputStream().readAllBytes()).containsExactly(1, 2, 3, 4);

      assertThat(inbox.search(new SubjectTerm("Grüße"))).hasSize(1);
      assertThat(inbox.search(new jakarta.mail.search.BodyTerm("schöne"))).hasSize(1);
      assertThat(inbox.search(new SubjectTerm("nothing like this"))).isEmpty();

      got.setFlag(Flags.Flag.FLAGGED, true);
      assertThat(inbox.getMessage(1).isSet(Flags.Flag.FLAGGED)).isTrue();
      long uid = inbox.getUID(got);

      Folder archive = store.getFolder("Archive");
      inbox.moveMessages(new Message[] {got}, archive);
      assertThat(inbox.search(new SubjectTerm("Grüße"))).isEmpty();
      assertThat(store.getFolder("INBOX").getMessageCount()).isZero(); // STATUS from a second folder object
      archive.open(Folder.READ_ONLY);
      assertThat(archive.getMessageCount()).isEqualTo(1);
      assertThat(archive.getMessage(1).isSet(Flags.Flag.FLAGGED)).isTrue();
      assertThat(((UIDFolder) archive).getUIDValidity()).isPositive();
      assertThat(uid).isPositive();
      archive.close(false);
      inbox.close(true);
    } finally {
      store.close();
    }
  }

  @Test
  void listsFoldersOverImaps() throws Exception {
    Store store = connect(true);
    try {
      Folder f = store.getFolder("Projects/Angus");
      assertThat(f.create(Folder.HOLDS_MESSAGES)).isTrue();
      assertThat(store.getDefaultFolder().list("*")).extracting(Folder::getFullName)
          .contains("INBOX", "Sent", "Trash", "Projects", "Projects/Angus");
      assertThat(f.renameTo(store.getFolder("Projects/Renamed"))).isTrue();
      assertThat(store.getFolder("Projects/Renamed").exists()).isTrue();
      assertThat(store.getFolder("Projects/Renamed").delete(false)).isTrue();
      assertThat(((org.eclipse.angus.mail.imap.IMAPStore) store).hasCapability("IDLE")).isTrue();
    } finally {
      store.close();
    }
  }
}
