package io.ballast.cli;

import io.ballast.replication.tls.CertificateRole;
import io.ballast.replication.tls.ClusterCa;
import io.ballast.replication.tls.TlsDir;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The certificates of a {@code ballast dev up} cluster, under DIR/tls: its own CA (tls/ca), one
 * certificate per node (tls/n1 ...), the controller's (tls/controller) and the CLI's (tls/cli),
 * each for 127.0.0.1 and localhost. Made once, kept across restarts; missing ones are issued.
 * A CLI run from the directory above finds tls/cli by itself ({@link CliTls}).
 */
final class DevCertificates {
    static final String CLI = "cli";
    private static final Duration CA_VALIDITY = Duration.ofDays(3650);
    private static final Duration VALIDITY = Duration.ofDays(825);

    private final Path root;

    private DevCertificates(Path root) {
        this.root = root;
    }

    /** The certificates under {@code devDir}/tls for nodes n1..n{@code nodes}, the controller and the CLI. */
    static DevCertificates ensure(Path devDir, int nodes) {
        Path root = devDir.resolve("tls");
        Path caDir = root.resolve("ca");
        ClusterCa ca = Files.exists(caDir.resolve(TlsDir.CA)) ? ClusterCa.load(caDir) : ClusterCa.create(caDir, "dev", CA_VALIDITY);
        DevCertificates d = new DevCertificates(root);
        for (int i = 1; i <= nodes; i++) {
            d.issue(ca, "n" + i);
        }
        d.issue(ca, "controller");
        d.issue(ca, CLI);
        return d;
    }

    private void issue(ClusterCa ca, String holder) {
        Path dir = root.resolve(holder);
        if (!Files.exists(dir.resolve(TlsDir.CERT)) || !hasRole(dir.resolve(TlsDir.CERT))) {
            ca.issue(holder, List.of("127.0.0.1"), List.of("localhost"), VALIDITY, dir);
        }
    }

    /** Whether the certificate names its role (those made before roles existed are issued again). */
    private static boolean hasRole(Path pem) {
        try (var in = Files.newInputStream(pem)) {
            var cert = (java.security.cert.X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509")
                    .generateCertificate(in);
            return CertificateRole.written(cert) != null;
        } catch (java.io.IOException | java.security.cert.CertificateException e) {
            return false;
        }
    }

    /** The directory of {@code holder}'s certificate. */
    Path dirOf(String holder) {
        return root.resolve(holder);
    }
}
