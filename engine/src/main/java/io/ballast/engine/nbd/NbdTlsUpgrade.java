package io.ballast.engine.nbd;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One TCP connection's NBD_OPT_STARTTLS (the NBD protocol's TLS, as nbdkit and qemu implement it):
 * the server acknowledges the option in plaintext, then both sides run a TLS handshake on the same
 * socket and the option haggling goes on inside TLS. While it has not happened, the handshake
 * handler refuses every option but STARTTLS and ABORT ({@code NBD_REP_ERR_TLS_REQD}), so no export
 * is named, listed or served to a client without the cluster's certificate.
 *
 * <p>The TLS handler goes in front of the whole pipeline only once the acknowledgement has left
 * (its write completed), so the acknowledgement is never encrypted and every byte after it is.
 * A client that sends anything between its STARTTLS and the handshake breaks the protocol and is
 * disconnected ({@link #pending}).
 */
final class NbdTlsUpgrade {
    private static final Logger log = LoggerFactory.getLogger(NbdTlsUpgrade.class);

    private final SslContext context;
    private final NbdSession session;
    private boolean pending;
    private boolean on;

    NbdTlsUpgrade(SslContext context, NbdSession session) {
        this.context = context;
        this.session = session;
    }

    /** TLS is on: the connection may name exports. */
    boolean on() {
        return on;
    }

    /** STARTTLS was acknowledged and the handshake has not finished: nothing else may arrive now. */
    boolean pending() {
        return pending;
    }

    /** Sends the acknowledgement {@code ack}, then puts TLS in front of the pipeline and starts the handshake. */
    void start(ChannelHandlerContext ctx, ByteBuf ack) {
        pending = true;
        ctx.writeAndFlush(ack).addListener((ChannelFutureListener) written -> {
            if (!written.isSuccess()) {
                return; // the connection is going away; its close logs why
            }
            SslHandler tls = context.newHandler(ctx.alloc());
            ctx.pipeline().addFirst("nbd-tls", tls);
            tls.handshakeFuture().addListener(done -> {
                if (done.isSuccess()) {
                    pending = false;
                    on = true;
                    SSLSession s = tls.engine().getSession();
                    log.info("NBD connection {} is TLS ({}, client {})", session.describe(), s.getProtocol(), peer(s));
                } else {
                    session.reason("TLS handshake failed: " + done.cause().getMessage());
                    ctx.close();
                }
            });
        });
    }

    private static String peer(SSLSession s) {
        try {
            return s.getPeerPrincipal().getName();
        } catch (SSLPeerUnverifiedException e) {
            return "unverified";
        }
    }
}
