package io.ballast.engine.attach;

/**
 * {@code struct nlattr}: one type-length-value attribute of a netlink message. Host byte order.
 *
 * <pre>
 *   0   2   4
 *   +---+---+===============+....+
 *   |len|typ| payload       |pad |   len = 4 + payload (without pad); pad to 4 bytes
 *   +---+---+===============+....+
 *   typ bit 15 = NLA_F_NESTED (payload is itself a list of attributes), bit 14 =
 *   NLA_F_NET_BYTEORDER; the type proper is the low 14 bits. u32/u64 payloads are host order;
 *   strings are NUL-terminated and len counts the NUL.
 *
 * Nested sockets of NBD_CMD_CONNECT / NBD_CMD_RECONFIGURE (include/uapi/linux/nbd-netlink.h):
 *   [NBD_ATTR_SOCKETS | NESTED]        len 4 + 16 per socket
 *     [NBD_SOCK_ITEM | NESTED]         len 12
 *       [NBD_SOCK_FD] u32              len 8: a descriptor of the sending process
 * </pre>
 */
final class NetlinkAttrDescriptor {
    private NetlinkAttrDescriptor() {
    }

    static final int HEADER_LENGTH = 4;
    static final int LEN_OFFSET = 0;
    static final int TYPE_OFFSET = 2;

    static final int NLA_F_NESTED = 1 << 15;
    static final int NLA_F_NET_BYTEORDER = 1 << 14;
    static final int TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;
}
