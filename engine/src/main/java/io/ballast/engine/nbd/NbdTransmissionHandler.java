package io.ballast.engine.nbd;

import static io.ballast.engine.nbd.NbdConstants.*;

import io.ballast.engine.volume.BlockVolume;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.EventExecutor;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Transmission phase: runs each {@link NbdFrame.Request} on the {@link BlockVolume} without waiting
 * for earlier ones, and writes each simple reply when its request completes, so replies may leave
 * out of order (the cookie tells them apart).
 *
 * <p><b>Threading.</b> Volume futures complete on the volume's threads; every reply is written and
 * every counter below is touched on the connection's event loop.
 *
 * <p><b>Buffers.</b> A WRITE payload (decoder-allocated) is handed to the volume as
 * {@code nioBuffer()} and released when the volume completes. A READ fills a pooled direct buffer
 * through its {@code nioBuffer} view; the reply is header + that buffer, no copy. Every buffer is
 * released exactly once, including when the connection is already gone.
 *
 * <p><b>Back-pressure.</b> A request counts as in flight from its header until its reply has been
 * written to the socket, with its payload bytes (READ or WRITE length). At
 * {@link NbdServerConfig#maxInFlightRequests()} or {@link NbdServerConfig#maxInFlightBytes()} auto-read
 * stops; it resumes below both. The decoder may still frame what it already buffered, so the overshoot
 * is bounded by one socket read plus one max payload.
 *
 * <p><b>Disconnect.</b> NBD_CMD_DISC and fatal requests stop the decoder, wait for the in-flight
 * replies to be written, then close. Protocol errors close at once.
 */
final class NbdTransmissionHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(NbdTransmissionHandler.class);

    private final NbdSession session;
    private final NbdCounters counters;
    private final NbdFrameDecoder decoder;
    private final BlockVolume volume;
    private final int maxInFlightRequests;
    private final long maxInFlightBytes;

    private int inFlight;
    private long inFlightBytes;
    private boolean readPaused;
    private boolean disconnecting;

    NbdTransmissionHandler(NbdSession session, NbdFrameDecoder decoder, BlockVolume volume, NbdServerConfig config) {
        this.session = session;
        this.counters = session.counters();
        this.decoder = decoder;
        this.volume = volume;
        this.maxInFlightRequests = config.maxInFlightRequests();
        this.maxInFlightBytes = config.maxInFlightBytes();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        switch (msg) {
            case NbdFrame.Request r -> request(ctx, r);
            case NbdFrame.ProtocolError e -> session.protocolError(ctx, e.reason());
            default -> {
                ReferenceCountUtil.release(msg);
                session.protocolError(ctx, "unexpected " + msg.getClass().getSimpleName() + " in transmission");
            }
        }
    }

    private void request(ChannelHandlerContext ctx, NbdFrame.Request r) {
        counters.request();
        if (disconnecting) {
            r.release(); // the decoder is stopped; only frames decoded before DISC can get here
            return;
        }
        if (r.type() == CMD_DISC) {
            disconnect(ctx, "client sent NBD_CMD_DISC");
            return;
        }
        long bytes = r.type() == CMD_READ || r.type() == CMD_WRITE ? r.length() : 0;
        acquire(ctx, bytes);
        if (r.error() != 0) {
            if (r.fatal()) {
                log.warn("NBD {}: {} exceeds the max payload; replying {} and disconnecting", session.describe(), r,
                        NbdErrors.name(r.error()));
            } else {
                log.debug("NBD {}: rejected {}", session.describe(), r);
            }
            reply(ctx, r, r.error(), null, bytes);
            if (r.fatal()) {
                disconnect(ctx, "WRITE of " + r.length() + " bytes exceeds the max payload");
            }
            return;
        }
        long offset = r.offset();
        long length = r.length();
        boolean fua = r.fua();
        switch (r.type()) {
            case CMD_READ -> read(ctx, r);
            case CMD_WRITE -> dispatch(ctx, r, bytes, () -> volume.write(offset, r.payload().nioBuffer(), fua));
            case CMD_FLUSH -> dispatch(ctx, r, 0, volume::flush);
            case CMD_TRIM -> dispatch(ctx, r, 0, () -> volume.trim(offset, length, fua));
            case CMD_WRITE_ZEROES -> {
                boolean mayPunchHole = (r.flags() & CMD_FLAG_NO_HOLE) == 0;
                dispatch(ctx, r, 0, () -> volume.writeZeroes(offset, length, mayPunchHole, fua));
            }
            default -> reply(ctx, r, EINVAL, null, bytes); // unreachable: the validator rejects unknown types
        }
    }

    /** Runs a request without data in the reply; a zero-length request succeeds without touching the volume. */
    private void dispatch(ChannelHandlerContext ctx, NbdFrame.Request r, long bytes,
                          Supplier<CompletableFuture<Void>> op) {
        if (r.length() == 0 && r.type() != CMD_FLUSH) {
            r.release();
            reply(ctx, r, 0, null, bytes);
            return;
        }
        start(op).whenComplete((ignored, failure) -> {
            r.release();
            onLoop(ctx, null, () -> {
                if (failure == null && r.type() == CMD_WRITE) {
                    counters.written(r.length());
                }
                reply(ctx, r, failure == null ? 0 : failed(r, failure), null, bytes);
            });
        });
    }

    private void read(ChannelHandlerContext ctx, NbdFrame.Request r) {
        int length = (int) r.length(); // <= max payload, checked by the validator
        if (length == 0) {
            reply(ctx, r, 0, null, 0);
            return;
        }
        ByteBuf data = ctx.alloc().directBuffer(length, length);
        start(() -> volume.read(r.offset(), data.nioBuffer(0, length))).whenComplete((ignored, failure) ->
                onLoop(ctx, data, () -> {
                    if (failure == null) {
                        counters.read(length);
                        reply(ctx, r, 0, data.writerIndex(length), length);
                    } else {
                        data.release();
                        reply(ctx, r, failed(r, failure), null, length);
                    }
                }));
    }

    private static CompletableFuture<Void> start(Supplier<CompletableFuture<Void>> op) {
        try {
            return op.get();
        } catch (RuntimeException e) {
            // BlockVolume should fail the future, but a synchronous throw must not leak buffers either.
            return CompletableFuture.failedFuture(e);
        }
    }

    private int failed(NbdFrame.Request r, Throwable failure) {
        int errno = NbdErrors.errnoOf(failure, r.type());
        log.warn("NBD {}: {} failed with {}: {}", session.describe(), r, NbdErrors.name(errno), failure.toString());
        return errno;
    }

    /** Runs {@code task} on the event loop; if the loop is gone, releases {@code data} instead. */
    private static void onLoop(ChannelHandlerContext ctx, ByteBuf data, Runnable task) {
        EventExecutor loop = ctx.executor();
        if (loop.inEventLoop()) {
            task.run();
            return;
        }
        try {
            loop.execute(task);
        } catch (RejectedExecutionException e) {
            if (data != null) {
                data.release();
            }
        }
    }

    /** Writes a simple reply (header, then {@code data} if any) and settles the request's accounting. */
    private void reply(ChannelHandlerContext ctx, NbdFrame.Request r, int error, ByteBuf data, long bytes) {
        if (error != 0) {
            counters.error(error);
        }
        ByteBuf header = SimpleReplyDescriptor.encode(ctx.alloc(), error, r.cookie());
        ChannelFuture written;
        if (data == null) {
            written = ctx.writeAndFlush(header);
        } else {
            ctx.write(header);
            written = ctx.writeAndFlush(data);
        }
        written.addListener(f -> release(ctx, bytes));
    }

    private void acquire(ChannelHandlerContext ctx, long bytes) {
        inFlight++;
        inFlightBytes += bytes;
        if (!readPaused && (inFlight >= maxInFlightRequests || inFlightBytes >= maxInFlightBytes)) {
            readPaused = true;
            ctx.channel().config().setAutoRead(false);
        }
    }

    private void release(ChannelHandlerContext ctx, long bytes) {
        inFlight--;
        inFlightBytes -= bytes;
        if (disconnecting) {
            closeWhenIdle(ctx);
        } else if (readPaused && inFlight < maxInFlightRequests && inFlightBytes < maxInFlightBytes) {
            readPaused = false;
            ctx.channel().config().setAutoRead(true);
        }
    }

    private void disconnect(ChannelHandlerContext ctx, String reason) {
        disconnecting = true;
        decoder.stop();
        session.reason(reason);
        ctx.channel().config().setAutoRead(false);
        closeWhenIdle(ctx);
    }

    private void closeWhenIdle(ChannelHandlerContext ctx) {
        if (inFlight == 0 && ctx.channel().isOpen()) {
            // Close after everything already written has left, not before.
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /** State for tests and stats: requests awaiting their reply on this connection. */
    int inFlight() {
        return inFlight;
    }

    boolean readPaused() {
        return readPaused;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        session.exceptionCaught(ctx, cause);
    }
}
