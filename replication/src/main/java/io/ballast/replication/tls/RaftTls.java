package io.ballast.replication.tls;

import org.apache.ratis.conf.Parameters;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.grpc.GrpcTlsConfig;

/**
 * How a process's Ratis server and clients talk: mutual TLS with the certificates of a
 * {@link TlsDir} (each side presents its certificate and accepts only peers whose certificate the
 * cluster's CA issued), or plaintext ({@link #PLAINTEXT}: any caller). Every Ratis server and
 * client a process builds takes {@link #parameters()}.
 */
public final class RaftTls {
    public static final RaftTls PLAINTEXT = new RaftTls(null);

    private final TlsDir dir;

    private RaftTls(TlsDir dir) {
        this.dir = dir;
    }

    /** Mutual TLS with {@code dir}'s files; null: plaintext. */
    public static RaftTls of(TlsDir dir) {
        return dir == null ? PLAINTEXT : new RaftTls(dir);
    }

    public boolean enabled() {
        return dir != null;
    }

    /** Fresh Ratis parameters carrying the TLS configuration for the server, clients and admin calls (empty when plaintext). */
    public Parameters parameters() {
        Parameters p = new Parameters();
        if (dir != null) {
            GrpcTlsConfig tls = new GrpcTlsConfig(dir.key().toFile(), dir.cert().toFile(), dir.ca().toFile(), true);
            GrpcConfigKeys.Server.setTlsConf(p, tls);
            GrpcConfigKeys.Client.setTlsConf(p, tls);
            GrpcConfigKeys.Admin.setTlsConf(p, tls);
        }
        return p;
    }

    @Override
    public String toString() {
        return dir == null ? "plaintext" : "mutual TLS (" + dir.dir() + ")";
    }
}
