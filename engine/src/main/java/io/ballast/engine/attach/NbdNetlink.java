package io.ballast.engine.attach;

import static io.ballast.engine.sys.Errno.EACCES;
import static io.ballast.engine.sys.Errno.EBUSY;
import static io.ballast.engine.sys.Errno.EINVAL;
import static io.ballast.engine.sys.Errno.ENODEV;
import static io.ballast.engine.sys.Errno.ENOENT;
import static io.ballast.engine.sys.Errno.ENOSPC;
import static io.ballast.engine.sys.Errno.EOPNOTSUPP;
import static io.ballast.engine.sys.Errno.EPERM;

import io.ballast.engine.attach.NetlinkCodec.Attrs;
import io.ballast.engine.attach.NetlinkCodec.Builder;
import io.ballast.engine.attach.NetlinkCodec.Message;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.util.ArrayList;
import java.util.List;

/**
 * The generic netlink messages of the kernel's nbd driver ({@code include/uapi/linux/nbd-netlink.h},
 * {@code drivers/block/nbd.c}) and of the generic netlink controller that resolves the family
 * ({@code include/uapi/linux/genetlink.h}), built and parsed without syscalls; {@link NbdNative}
 * sends them. Every request asks for an ack (NLM_F_ACK), so a success always ends in an
 * NLMSG_ERROR with error 0 and a failure in one with -errno, which {@link #check} turns into a
 * {@link BallastException} a person can act on.
 *
 * <p>Kernel behaviour these messages rely on (read in nbd.c): CONNECT needs NBD_ATTR_SOCKETS and
 * NBD_ATTR_SIZE_BYTES, takes index -1 (u32 0xffffffff) as "any free device, create one if none"
 * and replies NBD_CMD_CONNECT with NBD_ATTR_INDEX; RECONFIGURE (Linux 5.3+ for the size) replaces
 * a dead connection with each socket given and ignores sockets when none is dead; a device
 * connected with NBD_ATTR_BACKEND_IDENTIFIER (Linux 5.18+, shown in /sys/block/nbdN/backend)
 * refuses a RECONFIGURE without the same identifier, and older kernels ignore the attribute;
 * DISCONNECT of an unconfigured device succeeds. All need CAP_SYS_ADMIN. Stateless, thread-safe.
 */
final class NbdNetlink {
    private NbdNetlink() {
    }

    // ---- generic netlink controller
    static final int GENL_ID_CTRL = 0x10;
    static final int CTRL_CMD_GETFAMILY = 3;
    static final int CTRL_VERSION = 2;
    static final int CTRL_ATTR_FAMILY_ID = 1;
    static final int CTRL_ATTR_FAMILY_NAME = 2;
    static final int CTRL_ATTR_MCAST_GROUPS = 7;
    static final int CTRL_ATTR_MCAST_GRP_NAME = 1;
    static final int CTRL_ATTR_MCAST_GRP_ID = 2;

    // ---- nbd family
    static final String FAMILY = "nbd";
    static final String MCAST_GROUP = "nbd_mc_group";
    static final int NBD_GENL_VERSION = 1;
    static final int NBD_CMD_CONNECT = 1;
    static final int NBD_CMD_DISCONNECT = 2;
    static final int NBD_CMD_RECONFIGURE = 3;
    static final int NBD_CMD_LINK_DEAD = 4;
    static final int NBD_CMD_STATUS = 5;
    static final int NBD_ATTR_INDEX = 1;
    static final int NBD_ATTR_SIZE_BYTES = 2;
    static final int NBD_ATTR_BLOCK_SIZE_BYTES = 3;
    static final int NBD_ATTR_TIMEOUT = 4;
    static final int NBD_ATTR_SERVER_FLAGS = 5;
    static final int NBD_ATTR_CLIENT_FLAGS = 6;
    static final int NBD_ATTR_SOCKETS = 7;
    static final int NBD_ATTR_DEAD_CONN_TIMEOUT = 8;
    static final int NBD_ATTR_DEVICE_LIST = 9;
    static final int NBD_ATTR_BACKEND_IDENTIFIER = 10;
    static final int NBD_SOCK_ITEM = 1;
    static final int NBD_SOCK_FD = 1;
    /** NBD_ATTR_INDEX value meaning "any free device". */
    static final int ANY_INDEX = -1;


    /**
     * What NBD_CMD_CONNECT configures.
     *
     * @param index           N of /dev/nbdN, or {@link #ANY_INDEX}
     * @param sizeBytes       device size
     * @param blockSize       logical block size (512..page size, a power of two)
     * @param serverFlags     the export's transmission flags from the handshake (NBD_FLAG_*)
     * @param timeoutSeconds  per-request timeout, 0 = not sent (the kernel's default: wait)
     * @param deadConnSeconds how long I/O waits for a RECONFIGURE after the connection died
     * @param backendId       identifier shown in /sys/block/nbdN/backend, or null
     * @param socketFd        a connected socket of this process, past the NBD handshake
     */
    record Connect(int index, long sizeBytes, int blockSize, int serverFlags, long timeoutSeconds,
                   long deadConnSeconds, String backendId, int socketFd) {
    }

    static byte[] getFamily(int seq, String name) {
        return new Builder(GENL_ID_CTRL, NetlinkCodec.NLM_F_REQUEST | NetlinkCodec.NLM_F_ACK, seq,
                CTRL_CMD_GETFAMILY, CTRL_VERSION).string(CTRL_ATTR_FAMILY_NAME, name).build();
    }

    static byte[] connect(int seq, int family, Connect c) {
        Builder b = request(family, seq, NBD_CMD_CONNECT)
                .u32(NBD_ATTR_INDEX, c.index())
                .u64(NBD_ATTR_SIZE_BYTES, c.sizeBytes())
                .u64(NBD_ATTR_BLOCK_SIZE_BYTES, c.blockSize())
                .u64(NBD_ATTR_SERVER_FLAGS, c.serverFlags() & 0xffffL)
                .u64(NBD_ATTR_DEAD_CONN_TIMEOUT, c.deadConnSeconds());
        if (c.timeoutSeconds() > 0) {
            b.u64(NBD_ATTR_TIMEOUT, c.timeoutSeconds());
        }
        if (c.backendId() != null) {
            b.string(NBD_ATTR_BACKEND_IDENTIFIER, c.backendId());
        }
        return sockets(b, c.socketFd()).build();
    }

    /**
     * NBD_CMD_RECONFIGURE of {@code index}: a new connection ({@code socketFd} >= 0) and/or a new
     * size ({@code sizeBytes} >= 0); {@code backendId} must repeat the CONNECT's.
     */
    static byte[] reconfigure(int seq, int family, int index, long sizeBytes, int socketFd, String backendId) {
        Builder b = request(family, seq, NBD_CMD_RECONFIGURE).u32(NBD_ATTR_INDEX, index);
        if (sizeBytes >= 0) {
            b.u64(NBD_ATTR_SIZE_BYTES, sizeBytes);
        }
        if (backendId != null) {
            b.string(NBD_ATTR_BACKEND_IDENTIFIER, backendId);
        }
        if (socketFd >= 0) {
            sockets(b, socketFd);
        }
        return b.build();
    }

    static byte[] disconnect(int seq, int family, int index) {
        return request(family, seq, NBD_CMD_DISCONNECT).u32(NBD_ATTR_INDEX, index).build();
    }

    private static Builder request(int family, int seq, int cmd) {
        return new Builder(family, NetlinkCodec.NLM_F_REQUEST | NetlinkCodec.NLM_F_ACK, seq, cmd, NBD_GENL_VERSION);
    }

    private static Builder sockets(Builder b, int fd) {
        int socks = b.beginNested(NBD_ATTR_SOCKETS);
        int item = b.beginNested(NBD_SOCK_ITEM);
        b.u32(NBD_SOCK_FD, fd);
        return b.endNested(item).endNested(socks);
    }

    /** A resolved generic netlink family: its id and multicast groups by name. */
    record Family(String name, int id, java.util.Map<String, Integer> multicastGroups) {
    }

    /** The family in a CTRL_CMD_GETFAMILY reply (after {@link #check}). */
    static Family family(String name, List<Message> replies) {
        for (Message m : replies) {
            if (m.type() == GENL_ID_CTRL) {
                Attrs a = m.genlAttrs();
                java.util.Map<String, Integer> groups = new java.util.LinkedHashMap<>();
                Attrs list = a.nested(CTRL_ATTR_MCAST_GROUPS);
                for (int t : list.types()) {
                    Attrs g = list.nested(t);
                    if (g.has(CTRL_ATTR_MCAST_GRP_NAME) && g.has(CTRL_ATTR_MCAST_GRP_ID)) {
                        groups.put(g.string(CTRL_ATTR_MCAST_GRP_NAME), g.u32(CTRL_ATTR_MCAST_GRP_ID));
                    }
                }
                return new Family(a.string(CTRL_ATTR_FAMILY_NAME), a.u16(CTRL_ATTR_FAMILY_ID), groups);
            }
        }
        throw new BallastException(ErrorCode.INTERNAL, "the generic netlink controller acknowledged "
                + "CTRL_CMD_GETFAMILY '" + name + "' without describing the family");
    }

    /** The device index of an NBD_CMD_CONNECT reply (after {@link #check}). */
    static int connectedIndex(int family, List<Message> replies) {
        for (Message m : replies) {
            if (m.type() == family && m.genlCommand() == NBD_CMD_CONNECT && m.genlAttrs().has(NBD_ATTR_INDEX)) {
                return m.genlAttrs().u32(NBD_ATTR_INDEX);
            }
        }
        throw new BallastException(ErrorCode.INTERNAL, "the kernel acknowledged NBD_CMD_CONNECT without "
                + "naming the device (no NBD_ATTR_INDEX in the reply)");
    }

    /** The device index named by an NBD_CMD_LINK_DEAD multicast, or -1 when {@code m} is something else. */
    static int linkDeadIndex(int family, Message m) {
        if (m.type() != family || m.genlCommand() != NBD_CMD_LINK_DEAD || !m.genlAttrs().has(NBD_ATTR_INDEX)) {
            return -1;
        }
        return m.genlAttrs().u32(NBD_ATTR_INDEX);
    }

    /**
     * The messages answering request {@code seq}, ending with its ack; throws for the kernel's
     * NLMSG_ERROR. Returns null while the ack has not arrived (read another datagram).
     *
     * @param what    the request for messages, e.g. "NBD_CMD_CONNECT" or "resolving generic netlink family 'nbd'"
     * @param collect where messages of this request are gathered across datagrams
     */
    static List<Message> check(String what, int seq, List<Message> datagram, List<Message> collect) {
        for (Message m : datagram) {
            if (m.seq() != seq) {
                continue; // a late answer to an earlier request, or a multicast
            }
            if (m.isError()) {
                int errno = m.errno();
                if (errno != 0) {
                    throw failure(what, errno, m.extackMessage());
                }
                return collect;
            }
            if (m.type() != NetlinkCodec.NLMSG_NOOP && m.type() != NetlinkCodec.NLMSG_DONE) {
                collect.add(m);
            }
        }
        return null;
    }

    /** Splits datagrams into messages; convenience for tests and {@link NbdNative}. */
    static List<Message> messages(byte[] datagram, int length) {
        return new ArrayList<>(NetlinkCodec.split(datagram, length));
    }

    /** The exception for errno {@code errno} answering {@code what}: code and advice by errno. */
    static BallastException failure(String what, int errno, String extack) {
        String kernel = extack == null || extack.isBlank() ? "" : " (kernel: " + extack + ")";
        String base = what + " failed: " + errnoName(errno) + kernel;
        if (errno == ENOENT && what.contains("'" + FAMILY + "'")) {
            return new BallastException(ErrorCode.FAILED_PRECONDITION, "the kernel has no nbd module (generic "
                    + "netlink family 'nbd' is not registered): modprobe nbd, or attach with --attach=fuse-loop");
        }
        return switch (errno) {
            case ENOENT -> new BallastException(ErrorCode.NOT_FOUND, base);
            case EPERM, EACCES -> new BallastException(ErrorCode.FAILED_PRECONDITION, base
                    + "; configuring nbd devices needs CAP_SYS_ADMIN (run ballast node as root, privileged)");
            case EBUSY -> new BallastException(ErrorCode.FAILED_PRECONDITION, base
                    + "; the device is in use by another connection");
            case EINVAL -> new BallastException(ErrorCode.IO_ERROR, base
                    + "; the kernel logs why: dmesg | grep nbd");
            default -> new BallastException(ErrorCode.IO_ERROR, base);
        };
    }

    /** "ENOENT (errno 2)" for the errnos netlink answers with; "errno N" otherwise. */
    static String errnoName(int errno) {
        String name = switch (errno) {
            case 1 -> "EPERM";
            case 2 -> "ENOENT";
            case 12 -> "ENOMEM";
            case 13 -> "EACCES";
            case 16 -> "EBUSY";
            case 17 -> "EEXIST";
            case 19 -> "ENODEV";
            case 22 -> "EINVAL";
            case 28 -> "ENOSPC";
            case 34 -> "ERANGE";
            case 90 -> "EMSGSIZE";
            case 95 -> "EOPNOTSUPP";
            default -> null;
        };
        return name == null ? "errno " + errno : name + " (errno " + errno + ")";
    }
}
