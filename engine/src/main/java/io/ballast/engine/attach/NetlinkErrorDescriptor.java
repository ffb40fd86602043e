package io.ballast.engine.attach;

/**
 * {@code struct nlmsgerr}: the payload of an NLMSG_ERROR message, the kernel's answer to a request
 * that failed, or its acknowledgement (error 0) when we asked for NLM_F_ACK. Host byte order.
 *
 * <pre>
 *   0       4                16      (16 or the request's length)
 *   +-------+----------------+=================+=====================+
 *   | error | request's      | request's       | extended ack TLVs   |
 *   |       | nlmsghdr       | payload         | (NLM_F_ACK_TLVS)    |
 *   +-------+----------------+=================+=====================+
 *   error = 0 (ack) or -errno; the request's payload is left out when the outer header has
 *   NLM_F_CAPPED (we ask for that with NETLINK_CAP_ACK) and is never echoed in an ack;
 *   TLVs (NETLINK_EXT_ACK): NLMSGERR_ATTR_MSG = 1, a NUL-terminated message from the kernel.
 * </pre>
 */
final class NetlinkErrorDescriptor {
    private NetlinkErrorDescriptor() {
    }

    static final int ERROR_OFFSET = 0;
    static final int REQUEST_HEADER_OFFSET = 4;
    static final int MIN_LENGTH = 4 + NetlinkHeaderDescriptor.NLMSG_LENGTH;

    static final int NLMSGERR_ATTR_MSG = 1;
}
