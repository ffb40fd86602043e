package io.ballast.replication.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.BallastException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A node's own key, certified by a signer that never sees it: the node side of Kubernetes enrollment. */
class EnrolledTlsDirTest {
    @TempDir
    Path tmp;

    @Test
    void theKeyIsMadeOnceKeptSecretAndACertificateForItIsInstalledAndLoads() throws Exception {
        EnrolledTlsDir dir = new EnrolledTlsDir(tmp.resolve("tls"));
        KeyPair key = dir.key();
        assertEquals(key.getPublic(), dir.key().getPublic(), "the same key on every call and across restarts");
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.dir())));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.dir().resolve(TlsDir.KEY))));
        assertTrue(dir.needsCertificate(Instant.now()), "no certificate yet");

        // The signer's side: it gets the request, checks it, certifies the key in it.
        SigningRequest request = SigningRequest.parse(SigningRequest.create(key, "worker-1"));
        assertEquals("worker-1", request.commonName());
        ClusterCa ca = ClusterCa.generate("prod", Duration.ofDays(10));
        X509Certificate issued = ca.certify(request.publicKey(), "worker-1", "prod", CertificateRole.NODE, List.of("10.0.0.1"),
                List.of("worker-1"), Duration.ofDays(30));
        dir.install(ClusterCa.pem(issued), ca.certificatePem());

        assertFalse(dir.needsCertificate(Instant.now()));
        assertTrue(dir.needsCertificate(Instant.now().plus(Duration.ofDays(21))), "renewed when a third of its life is left");
        TlsMaterial tls = TlsMaterial.of(TlsDir.of(dir.dir()), "prod");
        assertEquals(issued, tls.keyManager().getCertificateChain(tls.keyManager().getServerAliases("EC", null)[0])[0]);
    }

    @Test
    void aCertificateForAnotherKeyOrFromAnotherCaIsNotInstalled() throws Exception {
        EnrolledTlsDir dir = new EnrolledTlsDir(tmp.resolve("tls"));
        dir.key();
        ClusterCa ca = ClusterCa.generate("prod", Duration.ofDays(10));
        KeyPair other = ClusterCa.newKeyPair();
        X509Certificate forOther = ca.certify(other.getPublic(), "worker-1", "prod", CertificateRole.NODE, List.of("10.0.0.1"),
                List.of(), Duration.ofDays(30));
        BallastException e = assertThrows(BallastException.class, () -> dir.install(ClusterCa.pem(forOther), ca.certificatePem()));
        assertTrue(e.getMessage().contains("is not for the key"), e.getMessage());

        X509Certificate mine = ca.certify(dir.key().getPublic(), "worker-1", "prod", CertificateRole.NODE, List.of("10.0.0.1"),
                List.of(), Duration.ofDays(30));
        ClusterCa stranger = ClusterCa.generate("prod", Duration.ofDays(10));
        assertThrows(BallastException.class, () -> dir.install(ClusterCa.pem(mine), stranger.certificatePem()));
        assertFalse(Files.exists(dir.dir().resolve(TlsDir.CERT)), "nothing installed");
    }

    @Test
    void aCaIsReadFromTheSecretLayoutAndOnlyACaCertificateServesAsOne() throws Exception {
        ClusterCa made = ClusterCa.generate("prod", Duration.ofDays(10));
        Path secret = Files.createDirectories(tmp.resolve("ballast-ca"));
        Files.writeString(secret.resolve(TlsDir.CERT), made.certificatePem());
        Files.writeString(secret.resolve(TlsDir.KEY), made.keyPem());
        ClusterCa loaded = ClusterCa.load(secret);
        assertEquals("prod", loaded.clusterId());
        X509Certificate c = loaded.certify(ClusterCa.newKeyPair().getPublic(), "cli", "prod", CertificateRole.OPERATOR, List.of(),
                List.of(), Duration.ofDays(1));
        c.verify(Pem.certificate(made.certificatePem()).getPublicKey());

        TlsDir leaf = made.issue("n1", List.of("10.0.0.1"), List.of(), Duration.ofDays(1), tmp.resolve("n1"));
        BallastException e = assertThrows(BallastException.class,
                () -> ClusterCa.fromPem(Files.readString(leaf.cert()), Files.readString(leaf.key()), "Secret x/y"));
        assertTrue(e.getMessage().contains("is not a CA certificate"), e.getMessage());
    }
}
