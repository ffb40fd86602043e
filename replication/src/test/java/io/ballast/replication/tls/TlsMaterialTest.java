package io.ballast.replication.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The key and trust managers every TLS port uses: the cluster check, and rotation without a restart. */
class TlsMaterialTest {
    @TempDir
    Path dir;

    @Test
    void aCertificateOfTheSameCaForAnotherClusterIsRefused() throws Exception {
        ClusterCa prod = ClusterCa.create(dir.resolve("ca"), "prod", Duration.ofDays(10));
        TlsDir n1 = prod.issue("n1", List.of("127.0.0.1"), List.of(), Duration.ofDays(5), dir.resolve("n1"));
        X509Certificate[] chain = TlsMaterial.of(n1, "prod").keyManager().getCertificateChain(alias(n1));
        TlsMaterial.of(n1, "prod").trustManager().checkClientTrusted(chain, "ECDHE_ECDSA"); // accepted
        CertificateException other = assertThrows(CertificateException.class,
                () -> TlsMaterial.of(n1, "staging").trustManager().checkClientTrusted(chain, "ECDHE_ECDSA"));
        assertEquals(true, other.getMessage().contains("for cluster prod, not staging"), other.getMessage());

        ClusterCa elsewhere = ClusterCa.create(dir.resolve("other-ca"), "prod", Duration.ofDays(10));
        TlsDir stranger = elsewhere.issue("n1", List.of("127.0.0.1"), List.of(), Duration.ofDays(5), dir.resolve("stranger"));
        X509Certificate[] strangers = TlsMaterial.of(stranger, "prod").keyManager().getCertificateChain(alias(stranger));
        assertThrows(CertificateException.class, () -> TlsMaterial.of(n1, "prod").trustManager()
                .checkClientTrusted(strangers, "ECDHE_ECDSA"), "another CA with the same cluster name");
    }

    @Test
    void rotatedFilesAreUsedWithoutARestart() throws Exception {
        ClusterCa ca = ClusterCa.create(dir.resolve("ca"), "prod", Duration.ofDays(10));
        TlsDir n1 = ca.issue("n1", List.of("127.0.0.1"), List.of(), Duration.ofDays(5), dir.resolve("n1"));
        TlsMaterial m = TlsMaterial.of(n1, "prod", Duration.ZERO);
        var keys = m.keyManager();
        X509Certificate before = keys.getCertificateChain(alias(n1))[0];
        Thread.sleep(20); // a new modification time
        ca.issue("n1", List.of("127.0.0.1"), List.of(), Duration.ofDays(5), dir.resolve("n1")); // renewed in place
        X509Certificate after = keys.getCertificateChain(keys.chooseServerAlias("EC", null, null))[0];
        assertNotEquals(before.getSerialNumber(), after.getSerialNumber(), "the same key manager serves the renewed certificate");
    }

    private static String alias(TlsDir d) {
        return TlsMaterial.of(d, null).keyManager().chooseServerAlias("EC", null, null);
    }
}
