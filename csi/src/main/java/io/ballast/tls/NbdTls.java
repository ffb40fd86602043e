package io.ballast.tls;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.replication.tls.TlsMaterial;
import java.security.GeneralSecurityException;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;

/**
 * The NBD TCP listener's TLS: the node's certificate, and the cluster's CA (and cluster id) checked
 * on the client's, through the same reloading managers as the Raft and admin ports, so a rotated
 * certificate serves new NBD connections too. A client (qemu, nbdinfo, the kernel's nbd-client
 * with TLS) uses a certificate from {@code ballast certs issue}.
 */
public final class NbdTls {
    private NbdTls() {
    }

    /** A server-side TLS context over {@code tls}'s key and trust managers. */
    public static SSLContext server(TlsMaterial tls) {
        try {
            SSLContext c = SSLContext.getInstance("TLS");
            c.init(new KeyManager[] {tls.keyManager()}, new TrustManager[] {tls.trustManager()}, null);
            return c;
        } catch (GeneralSecurityException e) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "cannot use the certificates in " + tls.dir().dir()
                    + " for NBD over TCP: " + e.getMessage(), e);
        }
    }
}
