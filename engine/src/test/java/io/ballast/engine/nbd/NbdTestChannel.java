package io.ballast.engine.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.util.concurrent.ConcurrentHashMap;

/** One NBD connection on an {@link EmbeddedChannel}, with a tracking allocator. */
final class NbdTestChannel implements AutoCloseable {
    final EmbeddedChannel ch;
    final TrackingAllocator alloc = new TrackingAllocator();
    final NbdCounters counters = new NbdCounters(null);

    NbdTestChannel(NbdExports exports, NbdServerConfig config) {
        ch = new EmbeddedChannel(false, false,
                new NbdConnectionInitializer(exports, config, counters, new ConcurrentHashMap<>()));
        ch.config().setAllocator(alloc);
        try {
            ch.register();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    NbdTestChannel(NbdExports exports) {
        this(exports, NbdServerConfig.unix(java.nio.file.Path.of("/unused")).withMaxPayload(64 * 1024)
                .withInFlightLimits(64, 1 << 20));
    }

    void send(byte[]... parts) {
        for (byte[] p : parts) {
            ch.writeInbound(Unpooled.wrappedBuffer(p));
        }
        ch.runPendingTasks();
    }

    /** Everything the server wrote since the last call. */
    byte[] drain() {
        ch.runPendingTasks();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            byte[] bytes = new byte[b.readableBytes()];
            b.readBytes(bytes);
            b.release();
            out.writeBytes(bytes);
        }
        return out.toByteArray();
    }

    void expect(byte[] expected) {
        byte[] actual = drain();
        assertEquals(Wire.hex(expected), Wire.hex(actual));
        assertArrayEquals(expected, actual);
    }

    /** Greeting, flags (NO_ZEROES), GO on {@code export}; asserts the ACK ended the reply. */
    void handshake(String export) {
        assertEquals(Wire.hex(Wire.hex(Wire.GREETING)), Wire.hex(drain()));
        send(Wire.clientFlags(3), Wire.option(7, Wire.goData(export)));
        byte[] replies = drain();
        byte[] ack = Wire.optionReply(7, 1, new byte[0]);
        String tail = Wire.hex(replies).substring(Math.max(0, 2 * (replies.length - ack.length)));
        assertEquals(Wire.hex(ack), tail, "GO must end with ACK");
    }

    @Override
    public void close() {
        ch.finishAndReleaseAll();
        drain();
        alloc.assertAllReleased();
    }
}
