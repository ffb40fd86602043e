package io.ballast.tls;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.replication.tls.TlsMaterial;
import java.security.GeneralSecurityException;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;

/**
 * The JDK TLS context of a server outside gRPC (NBD over TCP, the metrics endpoint): the process's
 * certificate, and the cluster's CA (and cluster id) checked on the client's, through the same
 * reloading managers as the Raft and admin ports, so a rotated certificate serves new connections
 * there too. A client (qemu, nbdinfo, Prometheus) uses a certificate from {@code ballast certs issue}.
 */
public final class ServerTls {
    private ServerTls() {
    }

    /** A server-side TLS context over {@code tls}'s key and trust managers, for {@code what} (named in errors). */
    public static SSLContext context(TlsMaterial tls, String what) {
        try {
            SSLContext c = SSLContext.getInstance("TLS");
            c.init(new KeyManager[] {tls.keyManager()}, new TrustManager[] {tls.trustManager()}, null);
            return c;
        } catch (GeneralSecurityException e) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "cannot use the certificates in " + tls.dir().dir()
                    + " for " + what + ": " + e.getMessage(), e);
        }
    }
}
