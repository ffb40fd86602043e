package io.ballast.engine.nbd;

import io.netty.buffer.ByteBuf;

/**
 * An option request in the handshake phase (C -> S), and the payloads of the options we parse.
 *
 * <pre>
 * Option header (16 bytes), followed by length bytes of option data:
 *   0               8       12      16
 *   +---------------+-------+-------+=============+
 *   |   IHAVEOPT    |option | length| data ...    |
 *   +---------------+-------+-------+=============+
 *
 * NBD_OPT_INFO / NBD_OPT_GO data:
 *   0       4             4+n  6+n            6+n+2k
 *   +-------+==============+----+==============+
 *   | n     | name (n B)   | k  | k x u16 info |
 *   +-------+==============+----+==============+
 *   length MUST equal 6 + n + 2k, else NBD_REP_ERR_INVALID.
 *
 * NBD_OPT_EXPORT_NAME data: the name, length bytes (no length prefix).
 * NBD_OPT_LIST / NBD_OPT_ABORT data: none.
 * </pre>
 */
final class OptionDescriptor {
    private OptionDescriptor() {
    }

    static final int HEADER_LENGTH = 16;
    static final int MAGIC_OFFSET = 0;
    static final int OPTION_OFFSET = 8;
    static final int LENGTH_OFFSET = 12;

    static final int GO_NAME_LENGTH_OFFSET = 0;
    static final int GO_NAME_OFFSET = 4;
    /** Fixed bytes of an INFO/GO payload besides the name and the info list. */
    static final int GO_FIXED_LENGTH = 6;

    /** A parsed NBD_OPT_INFO / NBD_OPT_GO payload. {@code infos} are the requested NBD_INFO_* types. */
    record InfoRequest(String name, int[] infos) {
        boolean wants(int info) {
            for (int i : infos) {
                if (i == info) {
                    return true;
                }
            }
            return false;
        }
    }

    /**
     * Parses an INFO/GO payload without consuming it.
     *
     * @return the request, or null when the lengths are inconsistent (NBD_REP_ERR_INVALID)
     */
    static InfoRequest parseInfoRequest(ByteBuf data) {
        int base = data.readerIndex();
        int length = data.readableBytes();
        if (length < GO_FIXED_LENGTH) {
            return null;
        }
        long nameLength = data.getUnsignedInt(base + GO_NAME_LENGTH_OFFSET);
        if (nameLength > NbdConstants.MAX_STRING_LENGTH || nameLength > length - GO_FIXED_LENGTH) {
            return null;
        }
        int n = (int) nameLength;
        int countOffset = base + GO_NAME_OFFSET + n;
        int count = data.getUnsignedShort(countOffset);
        if (length != GO_FIXED_LENGTH + n + 2 * count) {
            return null;
        }
        String name = data.toString(base + GO_NAME_OFFSET, n, java.nio.charset.StandardCharsets.UTF_8);
        int[] infos = new int[count];
        for (int i = 0; i < count; i++) {
            infos[i] = data.getUnsignedShort(countOffset + 2 + 2 * i);
        }
        return new InfoRequest(name, infos);
    }
}
