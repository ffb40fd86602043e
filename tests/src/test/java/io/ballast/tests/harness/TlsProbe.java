package io.ballast.tests.harness;

import io.ballast.replication.tls.ClusterCa;
import io.ballast.replication.tls.RaftTls;
import io.ballast.replication.tls.TlsDir;
import io.ballast.replication.tls.TlsMaterial;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;

/**
 * One kind of caller of a cluster's TCP ports, and what a port does when it calls: each call
 * speaks the port's own protocol far enough that an answer proves the port served it (gRPC: the
 * server's HTTP/2 SETTINGS; HTTP: 200 with metrics; NBD: the export opened with NBD_OPT_GO, after
 * STARTTLS). A caller that is not served must be refused outright (a TLS alert, a closed
 * connection, an NBD error reply): a port that neither answers nor closes within 15 s fails the
 * test, since a hang is not a refusal anyone can rely on.
 */
public final class TlsProbe {
    /** The kinds of caller issue 18 names, and the cluster's own. */
    public enum Caller {
        PLAINTEXT, NO_CLIENT_CERTIFICATE, OTHER_CA, OTHER_CLUSTER, CLUSTER
    }

    /** Whether the port served the call, and what it said. */
    public record Outcome(boolean served, String detail) {
    }

    private static final long NBD_MAGIC = 0x4e42444d41474943L;
    private static final long IHAVEOPT = 0x49484156454F5054L;
    private static final int OPT_STARTTLS = 5;
    private static final int OPT_GO = 7;
    private static final int REP_ACK = 1;
    private static final int REP_INFO = 3;
    private static final byte[] H2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final int H2_SETTINGS = 4;

    private final Caller caller;
    /** The certificate and key presented, or null. */
    private final TlsMaterial keys;
    /** The CA trusted for the server's certificate; null: plaintext. */
    private final TlsMaterial trust;

    private TlsProbe(Caller caller, TlsMaterial keys, TlsMaterial trust) {
        this.caller = caller;
        this.keys = keys;
        this.trust = trust;
    }

    /**
     * Every kind of caller, made under {@code work}: {@code cli} is a certificate directory of the
     * cluster ({@code ballast certs issue}), {@code ca} the cluster's CA directory. Each outsider
     * trusts the cluster's CA, so a refusal is the server's doing, not the client's.
     */
    public static Map<Caller, TlsProbe> callers(Path work, Path cli, Path ca, String clusterId) {
        Map<Caller, TlsProbe> all = new EnumMap<>(Caller.class);
        TlsMaterial ours = material(cli);
        all.put(Caller.PLAINTEXT, new TlsProbe(Caller.PLAINTEXT, null, null));
        all.put(Caller.NO_CLIENT_CERTIFICATE, new TlsProbe(Caller.NO_CLIENT_CERTIFICATE, null, ours));
        ClusterCa otherCa = ClusterCa.create(work.resolve("probe-other-ca"), clusterId, Duration.ofDays(1));
        Path otherCaCli = trustingOurs(otherCa.issue("cli", List.of(), List.of(), Duration.ofDays(1), work.resolve("probe-other-ca-cli")), cli);
        all.put(Caller.OTHER_CA, new TlsProbe(Caller.OTHER_CA, material(otherCaCli), ours));
        Path otherCluster = ClusterCa.load(ca).issue("cli", clusterId + "-elsewhere", io.ballast.replication.tls.CertificateRole.OPERATOR,
                List.of(), List.of(), Duration.ofDays(1),
                work.resolve("probe-other-cluster")).dir();
        all.put(Caller.OTHER_CLUSTER, new TlsProbe(Caller.OTHER_CLUSTER, material(otherCluster), ours));
        all.put(Caller.CLUSTER, new TlsProbe(Caller.CLUSTER, ours, ours));
        return all;
    }

    /** Calls {@code host:port}, which speaks {@code kind}; for NBD, opens {@code export}. */
    public Outcome call(String host, int port, ListeningPorts.Kind kind, String export) {
        try (Socket raw = new Socket()) {
            raw.connect(new InetSocketAddress(host, port), 5_000);
            raw.setSoTimeout(15_000);
            return switch (kind) {
                case GRPC -> grpc(tls(raw, host, port, "h2"));
                case HTTP -> http(tls(raw, host, port, null));
                case NBD -> nbd(raw, host, port, export);
            };
        } catch (SocketTimeoutException e) {
            throw new AssertionError(host + ":" + port + " (" + kind + ") neither served nor refused " + caller + " within 15 s", e);
        } catch (IOException e) {
            return new Outcome(false, e.toString());
        }
    }

    /** The certificate {@code host:port} presents to this caller in a TLS handshake (ALPN h2: gRPC ports). */
    public X509Certificate servedCertificate(String host, int port) {
        try (Socket raw = new Socket()) {
            raw.connect(new InetSocketAddress(host, port), 5_000);
            raw.setSoTimeout(15_000);
            SSLSocket s = (SSLSocket) tls(raw, host, port, "h2");
            return (X509Certificate) s.getSession().getPeerCertificates()[0];
        } catch (IOException e) {
            throw new AssertionError("no TLS handshake with " + host + ":" + port + " as " + caller + ": " + e, e);
        }
    }

    /** Ratis's client TLS for this caller: null for one without a certificate, which Ratis cannot express. */
    public RaftTls raftTls() {
        if (trust == null) {
            return RaftTls.PLAINTEXT;
        }
        return keys == null ? null : RaftTls.of(keys);
    }

    /** A gRPC channel to {@code target} as this caller. */
    public ManagedChannel grpcChannel(String target) {
        NettyChannelBuilder b = NettyChannelBuilder.forTarget(target);
        if (trust == null) {
            return b.usePlaintext().build();
        }
        try {
            SslContextBuilder ctx = GrpcSslContexts.forClient().trustManager(trust.trustManager());
            if (keys != null) {
                ctx.keyManager(keys.keyManager());
            }
            return b.sslContext(ctx.build()).build();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private Socket tls(Socket raw, String host, int port, String alpn) throws IOException {
        if (trust == null) {
            return raw;
        }
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(keys == null ? null : new KeyManager[] {keys.keyManager()}, new TrustManager[] {trust.trustManager()}, null);
            SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(raw, host, port, false);
            s.setUseClientMode(true);
            if (alpn != null) {
                SSLParameters p = s.getSSLParameters();
                p.setApplicationProtocols(new String[] {alpn});
                s.setSSLParameters(p);
            }
            s.startHandshake();
            return s;
        } catch (GeneralSecurityException e) {
            throw new AssertionError(e);
        }
    }

    private static Outcome grpc(Socket s) throws IOException {
        var out = s.getOutputStream();
        out.write(H2_PREFACE);
        out.write(new byte[] {0, 0, 0, H2_SETTINGS, 0, 0, 0, 0, 0}); // an empty SETTINGS frame on stream 0
        out.flush();
        byte[] header = new byte[9];
        new DataInputStream(s.getInputStream()).readFully(header);
        return header[3] == H2_SETTINGS ? new Outcome(true, "HTTP/2 SETTINGS") : new Outcome(false, "HTTP/2 frame type " + header[3]);
    }

    private static Outcome http(Socket s) throws IOException {
        var out = s.getOutputStream();
        out.write("GET /metrics HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        String answer = new String(s.getInputStream().readNBytes(1 << 22), StandardCharsets.UTF_8);
        boolean served = answer.startsWith("HTTP/1.1 200") && answer.contains("# TYPE");
        String first = answer.isEmpty() ? "(closed)" : answer.lines().findFirst().orElse("").replaceAll("[^\\x20-\\x7e]", "?");
        return new Outcome(served, first);
    }

    private Outcome nbd(Socket raw, String host, int port, String export) throws IOException {
        DataInputStream in = new DataInputStream(raw.getInputStream());
        DataOutputStream out = new DataOutputStream(raw.getOutputStream());
        if (in.readLong() != NBD_MAGIC || in.readLong() != IHAVEOPT) {
            return new Outcome(false, "not an NBD fixed-newstyle greeting");
        }
        in.readShort();
        out.writeInt(1 | 2); // FIXED_NEWSTYLE | NO_ZEROES
        Socket s = raw;
        if (trust != null) {
            option(out, OPT_STARTTLS, new byte[0]);
            int type = reply(in);
            if (type != REP_ACK) {
                return new Outcome(false, "STARTTLS answered 0x" + Integer.toHexString(type));
            }
            s = tls(raw, host, port, null);
            in = new DataInputStream(s.getInputStream());
            out = new DataOutputStream(s.getOutputStream());
        }
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        var go = java.nio.ByteBuffer.allocate(4 + name.length + 2).putInt(name.length).put(name).putShort((short) 0);
        option(out, OPT_GO, go.array());
        for (int type = reply(in); ; type = reply(in)) {
            if (type == REP_ACK) {
                return new Outcome(true, "export " + export + " opened");
            }
            if (type != REP_INFO) {
                return new Outcome(false, "NBD_OPT_GO answered 0x" + Integer.toHexString(type));
            }
        }
    }

    private static void option(DataOutputStream out, int option, byte[] data) throws IOException {
        out.writeLong(IHAVEOPT);
        out.writeInt(option);
        out.writeInt(data.length);
        out.write(data);
        out.flush();
    }

    /** Reads one option reply, skipping its data; its type. */
    private static int reply(DataInputStream in) throws IOException {
        in.readLong(); // reply magic
        in.readInt(); // option
        int type = in.readInt();
        in.skipNBytes(in.readInt());
        return type;
    }

    private static TlsMaterial material(Path dir) {
        return TlsMaterial.of(TlsDir.of(dir), null);
    }

    /** {@code own}'s certificate and key, with the cluster's CA ({@code cli}'s ca.crt) to check servers by. */
    private static Path trustingOurs(TlsDir own, Path cli) {
        try {
            Files.copy(cli.resolve(TlsDir.CA), own.ca(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            return own.dir();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
