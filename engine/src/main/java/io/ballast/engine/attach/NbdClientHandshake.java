package io.ballast.engine.attach;

import static io.ballast.engine.nbd.NbdConstants.*;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The client side of the NBD fixed-newstyle handshake, done in Java before the socket goes to the
 * kernel (the kernel's nbd driver only speaks the transmission phase). Records as in the server's
 * descriptors ({@code io.ballast.engine.nbd.HandshakeDescriptor}, {@code OptionDescriptor},
 * {@code OptionReplyDescriptor}, {@code InfoReplyDescriptor}):
 *
 * <pre>
 *   S: NBDMAGIC IHAVEOPT flags(u16)              must have FIXED_NEWSTYLE
 *   C: flags(u32) = FIXED_NEWSTYLE [| NO_ZEROES if the server offered it]
 *   C: IHAVEOPT NBD_OPT_GO len | namelen(u32) name 1(u16) NBD_INFO_BLOCK_SIZE(u16)
 *   S: REPLY_MAGIC NBD_OPT_GO NBD_REP_INFO ...   INFO_EXPORT (size, flags), INFO_BLOCK_SIZE, ...
 *   S: REPLY_MAGIC NBD_OPT_GO NBD_REP_ACK 0      the socket is now in transmission
 * </pre>
 * An error reply becomes a {@link BallastException}: NOT_FOUND for an unknown export, else
 * FAILED_PRECONDITION or IO_ERROR with the server's own message. Not thread-safe; one per socket.
 */
final class NbdClientHandshake {
    /** Largest option reply we read; the server's are tiny, so more means a broken peer. */
    static final int MAX_REPLY_DATA = 64 * 1024;
    private static final long OLDSTYLE_MAGIC = 0x00420281861253L;

    /** The byte stream of one connection. */
    interface Transport {
        void writeFully(byte[] data);

        void readFully(byte[] into);
    }

    /**
     * What NBD_OPT_GO told about the export.
     *
     * @param size              export size in bytes
     * @param transmissionFlags NBD_FLAG_* (16 bits), given to the kernel as its server flags
     * @param minBlock          NBD_INFO_BLOCK_SIZE minimum (1 when not sent)
     * @param preferredBlock    preferred block size (0 when not sent)
     * @param maxBlock          maximum payload (0 when not sent)
     */
    record Export(long size, int transmissionFlags, int minBlock, int preferredBlock, int maxBlock) {
        boolean readOnly() {
            return (transmissionFlags & FLAG_READ_ONLY) != 0;
        }
    }

    private NbdClientHandshake() {
    }

    /** Negotiates {@code exportName} with NBD_OPT_GO; on return the connection is in transmission. */
    static Export go(Transport t, String exportName, String server) {
        ByteBuffer greeting = read(t, 18);
        long magic = greeting.getLong();
        long second = greeting.getLong();
        if (magic != NBDMAGIC) {
            throw new BallastException(ErrorCode.IO_ERROR, server + " is not an NBD server (greeting magic 0x"
                    + Long.toHexString(magic) + ")");
        }
        if (second == OLDSTYLE_MAGIC) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, server + " speaks the oldstyle NBD handshake; "
                    + "fixed newstyle is needed");
        }
        if (second != IHAVEOPT) {
            throw new BallastException(ErrorCode.IO_ERROR, server + " sent an unknown NBD greeting 0x"
                    + Long.toHexString(second));
        }
        int serverFlags = greeting.getShort() & 0xffff;
        if ((serverFlags & FLAG_FIXED_NEWSTYLE) == 0) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, server + " does not offer fixed newstyle "
                    + "negotiation (handshake flags 0x" + Integer.toHexString(serverFlags) + ")");
        }
        int clientFlags = FLAG_C_FIXED_NEWSTYLE | ((serverFlags & FLAG_NO_ZEROES) != 0 ? FLAG_C_NO_ZEROES : 0);
        t.writeFully(ByteBuffer.allocate(4).putInt(clientFlags).array());
        t.writeFully(goRequest(exportName));

        long size = -1;
        int flags = 0;
        int min = 1;
        int preferred = 0;
        int max = 0;
        while (true) {
            ByteBuffer h = read(t, 20);
            long replyMagic = h.getLong();
            int option = h.getInt();
            int type = h.getInt();
            long length = h.getInt() & 0xffffffffL;
            if (replyMagic != OPTION_REPLY_MAGIC || option != OPT_GO) {
                throw new BallastException(ErrorCode.IO_ERROR, server + " sent a malformed option reply (magic 0x"
                        + Long.toHexString(replyMagic) + ", option " + option + ")");
            }
            if (length > MAX_REPLY_DATA) {
                throw new BallastException(ErrorCode.IO_ERROR, server + " sent a " + length + "-byte option reply");
            }
            ByteBuffer data = read(t, (int) length);
            if (type == REP_ACK) {
                if (size < 0) {
                    throw new BallastException(ErrorCode.IO_ERROR, server + " acknowledged NBD_OPT_GO for '"
                            + exportName + "' without NBD_INFO_EXPORT (size and flags)");
                }
                return new Export(size, flags, min, preferred, max);
            }
            if (type == REP_INFO) {
                if (length < 2) {
                    throw new BallastException(ErrorCode.IO_ERROR, server + " sent an empty NBD_REP_INFO");
                }
                int info = data.getShort() & 0xffff;
                if (info == INFO_EXPORT && length >= 12) {
                    size = data.getLong();
                    flags = data.getShort() & 0xffff;
                } else if (info == INFO_BLOCK_SIZE && length >= 14) {
                    min = data.getInt();
                    preferred = data.getInt();
                    max = data.getInt();
                }
                continue; // NAME, DESCRIPTION and unknown infos carry nothing we need
            }
            throw errorReply(type, text(data), exportName, server);
        }
    }

    /** IHAVEOPT, NBD_OPT_GO, length, then name and one info request (NBD_INFO_BLOCK_SIZE). */
    static byte[] goRequest(String exportName) {
        byte[] name = exportName.getBytes(StandardCharsets.UTF_8);
        if (name.length > MAX_STRING_LENGTH) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "NBD export name longer than "
                    + MAX_STRING_LENGTH + " bytes");
        }
        int dataLength = 4 + name.length + 2 + 2;
        return ByteBuffer.allocate(16 + dataLength).putLong(IHAVEOPT).putInt(OPT_GO).putInt(dataLength)
                .putInt(name.length).put(name).putShort((short) 1).putShort((short) INFO_BLOCK_SIZE).array();
    }

    private static BallastException errorReply(int type, String message, String exportName, String server) {
        String said = message.isEmpty() ? "" : " (" + message + ")";
        return switch (type) {
            case REP_ERR_UNKNOWN -> new BallastException(ErrorCode.NOT_FOUND, server + " has no export '" + exportName
                    + "'" + said + "; the volume must be attached to this node's NBD server first");
            case REP_ERR_UNSUP -> new BallastException(ErrorCode.FAILED_PRECONDITION, server
                    + " does not support NBD_OPT_GO" + said);
            case REP_ERR_POLICY, REP_ERR_TLS_REQD, REP_ERR_BLOCK_SIZE_REQD -> new BallastException(
                    ErrorCode.FAILED_PRECONDITION, server + " refused export '" + exportName + "': reply 0x"
                    + Integer.toHexString(type) + said);
            case REP_ERR_SHUTDOWN -> new BallastException(ErrorCode.UNAVAILABLE, server + " is shutting down" + said);
            default -> new BallastException(ErrorCode.IO_ERROR, server + " answered NBD_OPT_GO for '" + exportName
                    + "' with reply 0x" + Integer.toHexString(type) + said);
        };
    }

    private static String text(ByteBuffer data) {
        byte[] b = new byte[data.remaining()];
        data.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private static ByteBuffer read(Transport t, int n) {
        byte[] b = new byte[n];
        t.readFully(b);
        return ByteBuffer.wrap(b);
    }
}
