package io.ballast.engine.nbd;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.flush.FlushConsolidationHandler;
import java.util.Map;

/**
 * Builds one connection's pipeline: flush consolidation (many replies complete per loop turn, one
 * syscall for them), the frame decoder, then the handshake handler (which later replaces itself with
 * the transmission handler). Registers the connection's {@link NbdSession} in {@code sessions} while
 * it is open and logs its end.
 */
final class NbdConnectionInitializer extends ChannelInitializer<Channel> {
    private final NbdExports exports;
    private final NbdServerConfig config;
    private final NbdCounters serverCounters;
    private final Map<Long, NbdSession> sessions;

    NbdConnectionInitializer(NbdExports exports, NbdServerConfig config, NbdCounters serverCounters,
                             Map<Long, NbdSession> sessions) {
        this.exports = exports;
        this.config = config;
        this.serverCounters = serverCounters;
        this.sessions = sessions;
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
        ch.pipeline().addLast("nbd-handshake", new NbdHandshakeHandler(exports, config, session, decoder));
    }
}
