package io.ballast.tls;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.replication.tls.TlsMaterial;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import java.net.InetSocketAddress;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API's transport: mutual TLS with a {@link TlsMaterial}'s certificates (a server accepts only
 * clients presenting a certificate of the cluster's CA; a client accepts only a server whose
 * certificate that CA issued for the address it dialled), or plaintext when no directory is given,
 * which a server says loudly at start.
 */
public final class GrpcTls {
    private static final Logger LOG = LoggerFactory.getLogger(GrpcTls.class);

    private GrpcTls() {
    }

    /** A server builder on {@code address}: mutual TLS with {@code tls}, or plaintext (logged as a warning) when null. */
    public static NettyServerBuilder server(InetSocketAddress address, TlsMaterial tls, String what) {
        NettyServerBuilder b = NettyServerBuilder.forAddress(address);
        if (tls == null) {
            LOG.warn("{} on {} is PLAINTEXT: any caller that reaches the port may use it, without a credential "
                    + "(give --tls-dir with the cluster's certificates)", what, address);
            return b;
        }
        try {
            SslContext ctx = GrpcSslContexts.configure(SslContextBuilder.forServer(tls.keyManager()))
                    .trustManager(tls.trustManager()).clientAuth(ClientAuth.REQUIRE).build();
            return b.sslContext(ctx);
        } catch (SSLException | IllegalArgumentException e) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "cannot use the certificates in " + tls.dir().dir() + " for "
                    + what + ": " + e.getMessage(), e);
        }
    }

    /** A channel to {@code target} (host:port): mutual TLS with {@code tls}, plaintext when null. */
    public static ManagedChannel channel(String target, TlsMaterial tls) {
        NettyChannelBuilder b = NettyChannelBuilder.forTarget(target);
        if (tls == null) {
            return b.usePlaintext().build();
        }
        try {
            SslContext ctx = GrpcSslContexts.forClient().keyManager(tls.keyManager()).trustManager(tls.trustManager()).build();
            return b.sslContext(ctx).build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "cannot use the certificates in " + tls.dir()
                    + " to reach " + target + ": " + e.getMessage(), e);
        }
    }
}
