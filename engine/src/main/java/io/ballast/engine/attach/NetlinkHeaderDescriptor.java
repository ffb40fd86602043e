package io.ballast.engine.attach;

/**
 * {@code struct nlmsghdr} followed by {@code struct genlmsghdr} ({@code include/uapi/linux/netlink.h},
 * {@code genetlink.h}): the head of every generic netlink message we send and receive. Host byte
 * order; every message starts on a 4-byte boundary.
 *
 * <pre>
 *   0       4   6   8       12      16  17  18  20
 *   +-------+---+---+-------+-------+---+---+---+============+
 *   |  len  |typ|flg|  seq  |  pid  |cmd|ver|res| attributes |
 *   +-------+---+---+-------+-------+---+---+---+============+
 *   len = whole message in bytes (headers included, trailing attribute padding included);
 *   typ = the generic netlink family id (GENL_ID_CTRL = 0x10 for the controller), or
 *         NLMSG_ERROR / NLMSG_DONE in replies; flg = NLM_F_*; seq = ours, echoed in replies;
 *   pid = 0 towards the kernel (the kernel's port); cmd = the family's command,
 *   ver = the family's version, res = 0.
 * </pre>
 */
final class NetlinkHeaderDescriptor {
    private NetlinkHeaderDescriptor() {
    }

    static final int NLMSG_LENGTH = 16;
    static final int LEN_OFFSET = 0;
    static final int TYPE_OFFSET = 4;
    static final int FLAGS_OFFSET = 6;
    static final int SEQ_OFFSET = 8;
    static final int PID_OFFSET = 12;

    static final int GENL_LENGTH = 4;
    static final int CMD_OFFSET = 16;
    static final int VERSION_OFFSET = 17;
    /** Where a generic netlink message's attributes start. */
    static final int ATTRS_OFFSET = NLMSG_LENGTH + GENL_LENGTH;

    static final int ALIGN = 4;

    static int align(int n) {
        return (n + ALIGN - 1) & ~(ALIGN - 1);
    }
}
