package io.ballast.tests.harness;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A deliberately low-level NBD client for fault tests: it can speak the protocol correctly
 * (fixed newstyle, NBD_OPT_GO, simple replies) and can also send whatever bytes a test wants,
 * including malformed ones. Written from the protocol document, independent of the server code.
 */
public final class RawNbdClient implements AutoCloseable {
    public static final long IHAVEOPT = 0x49484156454F5054L;
    public static final long OPTION_REPLY_MAGIC = 0x3e889045565a9L;
    public static final int REQUEST_MAGIC = 0x25609513;
    public static final int SIMPLE_REPLY_MAGIC = 0x67446698;
    public static final int CMD_READ = 0;
    public static final int CMD_WRITE = 1;
    public static final int CMD_DISC = 2;
    public static final int CMD_FLUSH = 3;

    private final SocketChannel channel;
    private long exportSize;

    private RawNbdClient(SocketChannel channel) {
        this.channel = channel;
    }

    public static RawNbdClient connect(Path socket) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        return new RawNbdClient(ch);
    }

    /** Reads the server greeting and answers it, then NBD_OPT_GO for {@code export}. */
    public RawNbdClient handshake(String export) throws IOException {
        ByteBuffer greeting = readFully(18);
        if (greeting.getLong(0) != 0x4e42444d41474943L || greeting.getLong(8) != IHAVEOPT) {
            throw new IOException("not an NBD newstyle server");
        }
        send(ByteBuffer.allocate(4).putInt(0, 3)); // FIXED_NEWSTYLE | NO_ZEROES
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        ByteBuffer go = ByteBuffer.allocate(16 + 4 + name.length + 2);
        go.putLong(IHAVEOPT).putInt(7).putInt(4 + name.length + 2).putInt(name.length).put(name).putShort((short) 0);
        send(go.flip());
        while (true) {
            ByteBuffer head = readFully(20);
            if (head.getLong(0) != OPTION_REPLY_MAGIC) {
                throw new IOException("bad option reply magic");
            }
            int type = head.getInt(12);
            ByteBuffer data = readFully(head.getInt(16));
            if (type == 1) { // NBD_REP_ACK
                return this;
            }
            if (type == 3 && data.getShort(0) == 0) { // NBD_REP_INFO / NBD_INFO_EXPORT
                exportSize = data.getLong(2);
            } else if (type < 0) {
                throw new IOException("server refused NBD_OPT_GO: reply type 0x" + Integer.toHexString(type));
            }
        }
    }

    public long exportSize() {
        return exportSize;
    }

    /** Sends a request header (and payload, if any) exactly as given. */
    public void request(int flags, int type, long cookie, long offset, int length, byte[] payload) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(28 + (payload == null ? 0 : payload.length));
        b.putInt(REQUEST_MAGIC).putShort((short) flags).putShort((short) type).putLong(cookie).putLong(offset).putInt(length);
        if (payload != null) {
            b.put(payload);
        }
        send(b.flip());
    }

    /** A simple reply: the error and, for a successful read, {@code readLength} bytes of data. */
    public record Reply(int error, long cookie, byte[] data) {
    }

    public Reply reply(int readLength) throws IOException {
        ByteBuffer head = readFully(16);
        if (head.getInt(0) != SIMPLE_REPLY_MAGIC) {
            throw new IOException("bad reply magic 0x" + Integer.toHexString(head.getInt(0)));
        }
        int error = head.getInt(4);
        byte[] data = new byte[0];
        if (error == 0 && readLength > 0) {
            data = new byte[readLength];
            readFully(readLength).get(data);
        }
        return new Reply(error, head.getLong(8), data);
    }

    public byte[] read(long offset, int length) throws IOException {
        request(0, CMD_READ, 1, offset, length, null);
        Reply r = reply(length);
        if (r.error() != 0) {
            throw new IOException("read failed with NBD error " + r.error());
        }
        return r.data();
    }

    public void send(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    public void sendRaw(byte[] bytes) throws IOException {
        send(ByteBuffer.wrap(bytes));
    }

    /** True once the server closed the connection (reads EOF). */
    public boolean serverClosed() {
        try {
            ByteBuffer one = ByteBuffer.allocate(1);
            return channel.read(one) < 0;
        } catch (IOException e) {
            return true;
        }
    }

    public ByteBuffer readFully(int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (channel.read(b) < 0) {
                throw new IOException("server closed the connection after " + b.position() + " of " + n + " bytes");
            }
        }
        return b.flip();
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
