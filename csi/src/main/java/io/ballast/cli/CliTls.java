package io.ballast.cli;

import io.ballast.replication.tls.TlsDir;
import io.ballast.replication.tls.TlsMaterial;
import io.ballast.tls.GrpcTls;
import io.grpc.ManagedChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Which certificate the CLI presents to a cluster's admin API: the directory in
 * {@code $BALLAST_TLS_DIR} (tls.crt, tls.key, ca.crt), else that of a {@code ballast dev up}
 * cluster started in this directory (./ballast-dev/tls/cli), else none: plaintext, which a
 * cluster started with --tls-dir refuses.
 */
final class CliTls {
    static final String ENV = "BALLAST_TLS_DIR";

    private CliTls() {
    }

    /** A channel to a node's admin API at {@code target}, with the certificate {@link #resolve} finds. */
    static ManagedChannel channel(String target) {
        return GrpcTls.channel(target, resolve());
    }

    /** The certificates to present (accepting a server of any cluster of their CA), or null for plaintext. */
    static TlsMaterial resolve() {
        String env = System.getenv(ENV);
        if (env != null && !env.isBlank()) {
            return TlsMaterial.of(TlsDir.of(Path.of(env)), null);
        }
        Path dev = Path.of("ballast-dev", "tls", DevCertificates.CLI);
        return Files.exists(dev.resolve(TlsDir.CERT)) ? TlsMaterial.of(TlsDir.of(dev), null) : null;
    }
}
