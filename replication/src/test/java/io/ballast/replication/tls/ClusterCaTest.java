package io.ballast.replication.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterCaTest {
    @TempDir
    Path dir;

    @Test
    void issuedCertificatesChainToTheCaAndNameTheirHolderAndAddresses() throws Exception {
        ClusterCa.create(dir.resolve("ca"), "prod", Duration.ofDays(10));
        ClusterCa ca = ClusterCa.load(dir.resolve("ca"));
        assertEquals("prod", ca.clusterId());
        TlsDir n1 = ca.issue("n1", List.of("10.0.0.11"), List.of("node-1.example"), Duration.ofDays(5), dir.resolve("n1"));
        X509Certificate cert = read(n1.cert());
        X509Certificate root = read(n1.ca());
        cert.verify(root.getPublicKey()); // signed by the CA
        assertTrue(cert.getSubjectX500Principal().getName().contains("CN=n1"), cert.getSubjectX500Principal().getName());
        assertTrue(cert.getSubjectX500Principal().getName().contains("O=prod"));
        assertTrue(cert.getSubjectAlternativeNames().stream().anyMatch(n -> n.get(1).equals("10.0.0.11")));
        assertTrue(cert.getSubjectAlternativeNames().stream().anyMatch(n -> n.get(1).equals("node-1.example")));
        assertTrue(cert.getExtendedKeyUsage().containsAll(List.of("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2")),
                "server and client authentication: a node is both");
        assertEquals(-1, cert.getBasicConstraints(), "not a CA");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(n1.key())));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("ca").resolve(ClusterCa.CA_KEY))));
    }

    @Test
    void anExistingCaIsNeverOverwrittenAndAMissingOneIsNamed() {
        ClusterCa.create(dir.resolve("ca"), "prod", Duration.ofDays(10));
        BallastException again = assertThrows(BallastException.class, () -> ClusterCa.create(dir.resolve("ca"), "x", Duration.ofDays(1)));
        assertEquals(ErrorCode.ALREADY_EXISTS, again.code());
        BallastException none = assertThrows(BallastException.class, () -> ClusterCa.load(dir.resolve("nope")));
        assertEquals(ErrorCode.NOT_FOUND, none.code());
        assertTrue(none.getMessage().contains("ca.crt"), none.getMessage());
        BallastException badIp = assertThrows(BallastException.class, () -> ClusterCa.load(dir.resolve("ca"))
                .issue("n1", List.of("not-an-ip"), List.of(), Duration.ofDays(1), dir.resolve("n1")));
        assertEquals(ErrorCode.INVALID_ARGUMENT, badIp.code());
    }

    private static X509Certificate read(Path pem) throws Exception {
        try (InputStream in = Files.newInputStream(pem)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }
}
