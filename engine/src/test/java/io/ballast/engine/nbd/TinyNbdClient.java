package io.ballast.engine.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.EOFException;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/** A minimal blocking NBD client over a raw SocketChannel (unix or TCP), for socket-level tests. */
final class TinyNbdClient implements AutoCloseable {
    private final SocketChannel ch;
    long exportSize;
    int transmissionFlags;

    TinyNbdClient(SocketAddress address) throws IOException {
        ch = SocketChannel.open(address);
    }

    /** Greeting, flags, NBD_OPT_GO; leaves the connection in transmission. */
    void go(String export) throws IOException {
        ByteBuffer greeting = read(18);
        assertEquals(NbdConstants.NBDMAGIC, greeting.getLong());
        assertEquals(NbdConstants.IHAVEOPT, greeting.getLong());
        assertEquals(3, greeting.getShort());
        send(Wire.clientFlags(3), Wire.option(7, Wire.goData(export)));
        while (true) {
            ByteBuffer h = read(20);
            assertEquals(NbdConstants.OPTION_REPLY_MAGIC, h.getLong());
            assertEquals(7, h.getInt());
            int type = h.getInt();
            ByteBuffer data = read(h.getInt());
            if (type == NbdConstants.REP_ACK) {
                return;
            }
            assertEquals(NbdConstants.REP_INFO, type, "GO failed with reply type " + Integer.toHexString(type));
            if (data.getShort() == NbdConstants.INFO_EXPORT) {
                exportSize = data.getLong();
                transmissionFlags = data.getShort() & 0xffff;
            }
        }
    }

    void send(byte[]... parts) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Wire.concat(parts));
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    ByteBuffer read(int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                throw new EOFException("server closed after " + b.position() + " of " + n + " bytes");
            }
        }
        return b.flip();
    }

    /** Reads one simple reply header: returns {error, cookie}. */
    long[] reply() throws IOException {
        ByteBuffer h = read(16);
        assertEquals(NbdConstants.SIMPLE_REPLY_MAGIC, h.getInt());
        return new long[] {h.getInt(), h.getLong()};
    }

    /** True when the server closed the connection (EOF) within the socket's blocking read. */
    boolean closedByServer() throws IOException {
        return ch.read(ByteBuffer.allocate(1)) < 0;
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }
}
