package io.ballast.engine.attach;

import io.ballast.engine.nbd.NbdConstants;
import java.nio.ByteBuffer;

/**
 * Transmission-phase requests on a raw descriptor (what the kernel would send), to prove that a
 * descriptor is connected to the export and past the handshake.
 */
final class RawNbd {
    private RawNbd() {
    }

    /** NBD_CMD_WRITE of {@code data} at {@code offset}; returns the reply's error (0 = ok). */
    static int write(int fd, long offset, byte[] data) {
        NbdNative.writeFully(fd, request(NbdConstants.CMD_WRITE, 1, offset, data.length, data));
        return reply(fd, 1);
    }

    /** NBD_CMD_READ of {@code length} bytes at {@code offset}. */
    static byte[] read(int fd, long offset, int length) {
        NbdNative.writeFully(fd, request(NbdConstants.CMD_READ, 2, offset, length, new byte[0]));
        int error = reply(fd, 2);
        if (error != 0) {
            throw new AssertionError("NBD READ failed with error " + error);
        }
        byte[] data = new byte[length];
        NbdNative.readFully(fd, data);
        return data;
    }

    private static byte[] request(int type, long cookie, long offset, int length, byte[] payload) {
        return ByteBuffer.allocate(28 + payload.length).putInt(NbdConstants.REQUEST_MAGIC).putShort((short) 0)
                .putShort((short) type).putLong(cookie).putLong(offset).putInt(length).put(payload).array();
    }

    private static int reply(int fd, long cookie) {
        byte[] h = new byte[16];
        NbdNative.readFully(fd, h);
        ByteBuffer b = ByteBuffer.wrap(h);
        if (b.getInt() != NbdConstants.SIMPLE_REPLY_MAGIC) {
            throw new AssertionError("not a simple reply");
        }
        int error = b.getInt();
        if (b.getLong() != cookie) {
            throw new AssertionError("reply for another request");
        }
        return error;
    }
}
