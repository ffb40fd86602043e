package io.ballast.engine.nbd;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.unix.DomainSocketChannel;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContext;
import java.util.Map;

/**
 * Builds one connection's pipeline: flush consolidation (many replies complete per loop turn, one
 * syscall for them), the frame decoder, then the handshake handler (which later replaces itself with
 * the transmission handler; on NBD_OPT_STARTTLS it puts a TLS handler in front of everything). Registers the connection's {@link NbdSession} in {@code sessions} while
 * it is open and logs its end.
 */
final class NbdConnectionInitializer extends ChannelInitializer<Channel> {
    private final NbdExports exports;
    private final NbdServerConfig config;
    private final NbdCounters serverCounters;
    private final Map<Long, NbdSession> sessions;
    /** Server side, a client certificate required; null without TLS. */
    private final SslContext tcpTls;

    NbdConnectionInitializer(NbdExports exports, NbdServerConfig config, NbdCounters serverCounters,
                             Map<Long, NbdSession> sessions) {
        this.exports = exports;
        this.config = config;
        this.serverCounters = serverCounters;
        this.sessions = sessions;
        this.tcpTls = config.tcpTls() == null ? null : new JdkSslContext(config.tcpTls(), false, ClientAuth.REQUIRE);
    }

    @Override
    protected void initChannel(Channel ch) {
        NbdSession session = new NbdSession(ch, serverCounters);
        sessions.put(session.id(), session);
        ch.closeFuture().addListener(f -> {
            sessions.remove(session.id());
            session.logClosed();
        });
        NbdFrameDecoder decoder = new NbdFrameDecoder();
        ch.pipeline().addLast("nbd-flush", new FlushConsolidationHandler(256, true));
        ch.pipeline().addLast("nbd-decoder", decoder);
        // TLS is required of TCP connections when configured; a unix socket is local (file permissions).
        NbdTlsUpgrade tls = tcpTls != null && !(ch instanceof DomainSocketChannel) ? new NbdTlsUpgrade(tcpTls, session) : null;
        ch.pipeline().addLast("nbd-handshake", new NbdHandshakeHandler(exports, config, session, decoder, tls));
    }
}
