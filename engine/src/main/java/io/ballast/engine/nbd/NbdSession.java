package io.ballast.engine.nbd;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Per-connection state shared by the handshake and transmission handlers: identity, counters,
 * negotiated export and the reason the connection ended (logged once, at INFO, on close).
 * Mutated on the connection's event loop; read by {@link NbdServer#connectionStats()} from anywhere.
 */
final class NbdSession {
    private static final Logger log = LoggerFactory.getLogger(NbdSession.class);
    private static final AtomicLong IDS = new AtomicLong();

    private final long id = IDS.incrementAndGet();
    private final String remote;
    private final NbdCounters counters;
    private volatile String export;
    private volatile String closeReason;

    NbdSession(Channel channel, NbdCounters serverCounters) {
        this.remote = String.valueOf(channel.remoteAddress());
        this.counters = new NbdCounters(serverCounters);
    }

    long id() {
        return id;
    }

    NbdCounters counters() {
        return counters;
    }

    String export() {
        return export;
    }

    void export(String name) {
        this.export = name;
    }

    /** Records why the connection ends; the first reason wins. */
    void reason(String reason) {
        if (closeReason == null) {
            closeReason = reason;
        }
    }

    /** Logs a protocol violation at WARN and drops the connection at once. */
    void protocolError(ChannelHandlerContext ctx, String reason) {
        log.warn("NBD connection {} ({}): protocol error: {}; disconnecting", id, remote, reason);
        reason("protocol error: " + reason);
        ctx.close();
    }

    /** An exception reached the end of the pipeline: an I/O error is a normal way to end, anything else a bug. */
    void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof IOException) {
            reason("I/O error: " + cause.getMessage());
        } else {
            log.warn("NBD connection {} ({}): unexpected error, disconnecting", id, remote, cause);
            reason("unexpected error: " + cause);
        }
        ctx.close();
    }

    void logOpened() {
        log.info("NBD connection {} opened from {}", id, remote);
    }

    void logClosed() {
        log.info("NBD connection {} from {} closed (export {}): {}; {}", id, remote, export,
                closeReason == null ? "peer closed the connection" : closeReason, counters.snapshot());
    }

    String describe() {
        return "#" + id + " " + remote + (export == null ? "" : " " + export);
    }
}
