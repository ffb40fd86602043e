package io.ballast.replication.tls;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A directory of PEM files in the layout cert-manager writes into a Kubernetes Secret (and
 * {@code ballast certs issue} writes): {@code tls.crt} (this process's certificate, issued by the
 * cluster's CA), {@code tls.key} (its private key, PKCS#8) and {@code ca.crt} (the cluster's CA,
 * the only issuer a peer's certificate is accepted from).
 */
public record TlsDir(Path dir) {
    public static final String CERT = "tls.crt";
    public static final String KEY = "tls.key";
    public static final String CA = "ca.crt";

    /** The directory, checked: INVALID_ARGUMENT naming the file that is missing or unreadable. */
    public static TlsDir of(Path dir) {
        TlsDir d = new TlsDir(dir.toAbsolutePath());
        for (Path f : new Path[] {d.cert(), d.key(), d.ca()}) {
            if (!Files.isReadable(f)) {
                throw new BallastException(ErrorCode.INVALID_ARGUMENT, "TLS directory " + d.dir() + ": " + f.getFileName()
                        + " is missing or unreadable (expected " + CERT + ", " + KEY + " and " + CA
                        + "; 'ballast certs issue' writes them)");
            }
        }
        return d;
    }

    public Path cert() {
        return dir.resolve(CERT);
    }

    public Path key() {
        return dir.resolve(KEY);
    }

    public Path ca() {
        return dir.resolve(CA);
    }
}
