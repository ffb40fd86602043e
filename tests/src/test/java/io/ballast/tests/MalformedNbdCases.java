package io.ballast.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.tests.harness.RawNbdClient;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Malformed NBD input against a real node process, whatever serves the export: each case gets the
 * protocol's error reply or a disconnect, the process keeps serving, and the volume's bytes stay
 * exactly as they were. Subclasses start the node(s), export a volume of {@link #SIZE} bytes and
 * call {@link #writePattern()} once; they may check more in {@link #assertDataUnchanged()}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class MalformedNbdCases {
    static final int EINVAL = 22;
    static final long SIZE = 64L << 20;
    static final byte[] PATTERN = new byte[64 << 10];

    static {
        for (int i = 0; i < PATTERN.length; i++) {
            PATTERN[i] = (byte) (i * 31 + 7);
        }
    }

    /** The unix socket serving {@link #export()}. */
    abstract Path socket();

    abstract String export();

    /** Fails with the node's log when a process serving the volume died. */
    abstract void assertServing();

    @BeforeEach
    void serving() {
        assertServing();
    }

    /** The known content: PATTERN at the head and the tail, zeroes between, flushed. */
    void writePattern() throws Exception {
        try (RawNbdClient c = RawNbdClient.connect(socket()).handshake(export())) {
            assertEquals(SIZE, c.exportSize());
            c.request(0, RawNbdClient.CMD_WRITE, 7, 0, PATTERN.length, PATTERN);
            assertEquals(0, c.reply(0).error());
            c.request(0, RawNbdClient.CMD_WRITE, 8, SIZE - PATTERN.length, PATTERN.length, PATTERN);
            assertEquals(0, c.reply(0).error());
            c.request(0, RawNbdClient.CMD_FLUSH, 9, 0, 0, null);
            assertEquals(0, c.reply(0).error());
        }
    }

    void assertDataUnchanged() throws Exception {
        assertServing();
        try (RawNbdClient c = RawNbdClient.connect(socket()).handshake(export())) {
            assertArrayEquals(PATTERN, c.read(0, PATTERN.length), "head of the volume changed");
            assertArrayEquals(PATTERN, c.read(SIZE - PATTERN.length, PATTERN.length), "tail of the volume changed");
            assertArrayEquals(new byte[PATTERN.length], c.read(1 << 20, PATTERN.length), "untouched range changed");
        }
    }

    @Test
    void garbageInsteadOfHandshakeIsDisconnected() throws Exception {
        try (RawNbdClient c = RawNbdClient.connect(socket())) {
            c.readFully(18);
            c.sendRaw("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes());
            assertTrue(c.serverClosed());
        }
        assertDataUnchanged();
    }

    @Test
    void unknownExportIsRefusedNotCreated() throws Exception {
        try (RawNbdClient c = RawNbdClient.connect(socket())) {
            Exception e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, () -> c.handshake("nope"));
            assertTrue(e.getMessage().contains("refused"), e.getMessage());
        }
        assertDataUnchanged();
    }

    @Test
    void outOfRangeRequestsGetEinvalAndChangeNothing() throws Exception {
        try (RawNbdClient c = RawNbdClient.connect(socket()).handshake(export())) {
            c.request(0, RawNbdClient.CMD_READ, 1, SIZE, 4096, null);
            assertEquals(EINVAL, c.reply(0).error(), "read past the end");
            c.request(0, RawNbdClient.CMD_WRITE, 2, SIZE - 4096, 8192, new byte[8192]);
            assertNotEquals(0, c.reply(0).error(), "write past the end");
            c.request(0, RawNbdClient.CMD_WRITE, 3, -4096L, 4096, new byte[4096]);
            assertNotEquals(0, c.reply(0).error(), "write at a negative (overflowing) offset");
            c.request(0, 4 /* TRIM */, 4, Long.MAX_VALUE - 10, 4096, null);
            assertNotEquals(0, c.reply(0).error(), "trim whose end overflows");
            c.request(0, 99, 5, 0, 4096, null);
            assertEquals(EINVAL, c.reply(0).error(), "unknown command");
            c.request(0x8000, RawNbdClient.CMD_WRITE, 6, 0, 4096, new byte[4096]);
            assertEquals(EINVAL, c.reply(0).error(), "unknown command flag");
            // the connection is still usable after all of that
            assertArrayEquals(PATTERN, c.read(0, PATTERN.length));
        }
        assertDataUnchanged();
    }

    @Test
    void badRequestMagicIsDisconnected() throws Exception {
        try (RawNbdClient c = RawNbdClient.connect(socket()).handshake(export())) {
            ByteBuffer b = ByteBuffer.allocate(28 + 4096);
            b.putInt(0xdeadbeef).putShort((short) 0).putShort((short) RawNbdClient.CMD_WRITE).putLong(1).putLong(0).putInt(4096);
            c.send(b.flip());
            assertTrue(c.serverClosed());
        }
        assertDataUnchanged();
    }

    @Test
    void oversizedWriteIsRefusedWithoutTouchingData() throws Exception {
        try (RawNbdClient c = RawNbdClient.connect(socket()).handshake(export())) {
            c.request(0, RawNbdClient.CMD_WRITE, 1, 0, 1 << 30, null); // 1 GiB announced, nothing sent
            boolean replied;
            try {
                replied = c.reply(0).error() != 0;
            } catch (java.io.IOException closed) {
                replied = true; // a disconnect is the other answer the protocol allows
            }
            assertTrue(replied);
        }
        assertDataUnchanged();
    }

    @Test
    void truncatedWriteIsNotApplied() throws Exception {
        try (RawNbdClient c = RawNbdClient.connect(socket()).handshake(export())) {
            byte[] ones = new byte[4096];
            Arrays.fill(ones, (byte) 1);
            ByteBuffer b = ByteBuffer.allocate(28 + 100);
            b.putInt(RawNbdClient.REQUEST_MAGIC).putShort((short) 0).putShort((short) RawNbdClient.CMD_WRITE)
                    .putLong(1).putLong(0).putInt(4096).put(ones, 0, 100);
            c.send(b.flip());
        } // close mid-payload
        Thread.sleep(200);
        assertDataUnchanged();
    }
}
