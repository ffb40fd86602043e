package io.ballast.replication.tls;

import org.apache.ratis.conf.Parameters;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.grpc.GrpcTlsConfig;

/**
 * How a process's Ratis server and clients talk: mutual TLS with a {@link TlsMaterial} (each side
 * presents its certificate and accepts only peers of the cluster's CA and cluster; rotated files
 * are picked up; a node's Raft requests must come in the name its certificate gives, see
 * {@link PeerIdentityCheck}), or plaintext ({@link #PLAINTEXT}: any caller). Every Ratis server and client a
 * process builds takes {@link #parameters()}.
 */
public final class RaftTls {
    public static final RaftTls PLAINTEXT = new RaftTls(null, null);

    private final TlsMaterial material;
    private final Admission admission;
    private final PeerIdentityCheck identity;
    /** One configuration for every server and client of the process: its managers follow rotations themselves. */
    private final GrpcTlsConfig config;

    private RaftTls(TlsMaterial material, Admission admission) {
        this.material = material;
        this.admission = admission;
        this.identity = new PeerIdentityCheck(admission);
        this.config = material == null ? null : new GrpcTlsConfig(material.keyManager(), material.trustManager(), true);
    }

    /** Mutual TLS with {@code material}; null: plaintext. */
    public static RaftTls of(TlsMaterial material) {
        return material == null ? PLAINTEXT : new RaftTls(material, null);
    }

    /**
     * The same TLS, its server serving only the callers {@code who} admits (see
     * {@link PeerIdentityCheck}); plaintext stays plaintext (no identity to check).
     */
    public RaftTls admitting(Admission who) {
        return material == null ? this : new RaftTls(material, who);
    }

    /** The admission this server checks callers against, if any. */
    public java.util.Optional<Admission> admission() {
        return java.util.Optional.ofNullable(admission);
    }

    public boolean enabled() {
        return material != null;
    }

    /** Ratis parameters carrying the TLS configuration for the server, clients and admin calls (empty when plaintext). */
    public Parameters parameters() {
        Parameters p = new Parameters();
        if (config != null) {
            GrpcConfigKeys.Server.setTlsConf(p, config);
            GrpcConfigKeys.Client.setTlsConf(p, config);
            GrpcConfigKeys.Admin.setTlsConf(p, config);
            // A node's Raft requests must carry the id its certificate names (PeerIdentityCheck).
            GrpcConfigKeys.Server.setServicesCustomizer(p, (builder, services) -> builder.intercept(identity));
        }
        return p;
    }

    @Override
    public String toString() {
        return material == null ? "plaintext" : "mutual TLS (" + material.dir().dir() + ")";
    }
}
