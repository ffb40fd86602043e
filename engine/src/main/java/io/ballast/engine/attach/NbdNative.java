package io.ballast.engine.attach;

import static io.ballast.engine.sys.Errno.EAGAIN;
import static io.ballast.engine.sys.Errno.EBUSY;
import static io.ballast.engine.sys.Errno.EINTR;

import io.ballast.engine.attach.NetlinkCodec.Message;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.sys.Libc;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

/**
 * The one place where Ballast makes the syscalls of the NBD attach path, through jnr-ffi: the
 * generic netlink socket ({@code socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC)}, sendto, recv,
 * setsockopt for multicast groups), the unix socket to the node's NBD server (socket, connect,
 * read, write; the descriptor then goes to the kernel), the nbd ioctls of the fallback interface
 * (NBD_SET_SOCK, NBD_SET_BLKSIZE, NBD_SET_SIZE_BLOCKS, NBD_SET_FLAGS, NBD_DO_IT, NBD_DISCONNECT,
 * NBD_CLEAR_SOCK, NBD_SET_SIZE) and the sysfs files of nbd devices. errno becomes an
 * {@link ErrorCode} here; message layouts live in {@link NbdNetlink}.
 *
 * <p>Thread-safe: static methods are stateless; one {@link GenlSocket} is used by one thread at a
 * time (each caller opens its own).
 */
public final class NbdNative {
    static final int AF_UNIX = 1;
    static final int AF_NETLINK = 16;
    static final int SOCK_STREAM = 1;
    static final int SOCK_RAW = 3;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int NETLINK_GENERIC = 16;
    static final int SOL_SOCKET = 1;
    static final int SO_RCVTIMEO = 20;
    static final int SOL_NETLINK = 270;
    static final int NETLINK_ADD_MEMBERSHIP = 1;
    static final int NETLINK_CAP_ACK = 10;
    static final int NETLINK_EXT_ACK = 11;

    /** {@code _IO(0xab, n)}: the nbd ioctls ({@code include/uapi/linux/nbd.h}). */
    static final long NBD_SET_SOCK = 0xab00;
    static final long NBD_SET_BLKSIZE = 0xab01;
    static final long NBD_SET_SIZE = 0xab02;
    static final long NBD_DO_IT = 0xab03;
    static final long NBD_CLEAR_SOCK = 0xab04;
    static final long NBD_SET_SIZE_BLOCKS = 0xab07;
    static final long NBD_DISCONNECT = 0xab08;
    static final long NBD_SET_FLAGS = 0xab0a;

    static final int O_RDWR = 2;
    static final int O_EXCL = 0x80;
    static final int O_CLOEXEC = 0x80000;
    static final int S_IFBLK = 0060000;
    private static final int SUN_PATH_LENGTH = 108;
    private static final int RECV_BUFFER = 64 * 1024;

    private NbdNative() {
    }

    // ------------------------------------------------------------------ generic netlink

    /**
     * A generic netlink socket bound to a kernel-assigned port. Requests are sent to the kernel
     * (port 0) and {@link #transact} reads until the request's ack. Receives time out after
     * {@code timeoutMillis} (UNAVAILABLE) so a kernel that never answers cannot hang a caller.
     */
    static final class GenlSocket implements AutoCloseable {
        private final int fd;
        private final AtomicInteger seq = new AtomicInteger((int) (System.nanoTime() & 0x3fffffff));
        private final byte[] buffer = new byte[RECV_BUFFER];
        private boolean closed;

        private GenlSocket(int fd) {
            this.fd = fd;
        }

        static GenlSocket open(long timeoutMillis) {
            int fd = Libc.C.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
            if (fd < 0) {
                throw new BallastException(ErrorCode.FAILED_PRECONDITION, "socket(AF_NETLINK, NETLINK_GENERIC) "
                        + "failed: " + describe(Libc.errno()));
            }
            GenlSocket s = new GenlSocket(fd);
            try {
                ByteBuffer addr = ByteBuffer.allocate(12).order(ByteOrder.nativeOrder()).putShort((short) AF_NETLINK);
                if (Libc.C.bind(fd, addr.array(), 12) != 0) {
                    throw new BallastException(ErrorCode.IO_ERROR, "bind of a netlink socket failed: "
                            + describe(Libc.errno()));
                }
                // Ask for capped acks with the kernel's own error text; old kernels refuse: fine.
                setInt(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
                setInt(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
                setReceiveTimeout(fd, timeoutMillis);
                return s;
            } catch (RuntimeException e) {
                s.close();
                throw e;
            }
        }

        /** CTRL_CMD_GETFAMILY: the family's id and multicast groups; NOT_FOUND / FAILED_PRECONDITION when absent. */
        NbdNetlink.Family resolve(String name) {
            return NbdNetlink.family(name, transact("resolving generic netlink family '" + name + "'",
                    s -> NbdNetlink.getFamily(s, name)));
        }

        /** Sends the request built for a fresh sequence number; returns its answers before the ack. */
        List<Message> transact(String what, IntFunction<byte[]> request) {
            int s = seq.incrementAndGet();
            byte[] msg = request.apply(s);
            byte[] kernel = ByteBuffer.allocate(12).order(ByteOrder.nativeOrder()).putShort((short) AF_NETLINK).array();
            int errno = Libc.errnoOf(() -> Libc.C.sendto(fd, msg, msg.length, 0, kernel, kernel.length));
            if (errno != 0) {
                throw new BallastException(ErrorCode.IO_ERROR, what + ": netlink send failed: " + describe(errno));
            }
            List<Message> collected = new ArrayList<>();
            while (true) {
                List<Message> done = NbdNetlink.check(what, s, receive(what), collected);
                if (done != null) {
                    return done;
                }
            }
        }

        /** Joins multicast group {@code group} (an id from {@link NbdNetlink.Family#multicastGroups()}). */
        void join(int group) {
            if (!setInt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group)) {
                throw new BallastException(ErrorCode.IO_ERROR, "joining netlink multicast group " + group
                        + " failed: " + describe(Libc.errno()));
            }
        }

        /** The messages of the next datagram; UNAVAILABLE on timeout. */
        List<Message> receive(String what) {
            while (true) {
                long n = Libc.C.recv(fd, buffer, buffer.length, 0);
                if (n >= 0) {
                    return NetlinkCodec.split(buffer.clone(), (int) n);
                }
                int errno = Libc.errno();
                if (errno == EAGAIN) {
                    throw new BallastException(ErrorCode.UNAVAILABLE, what + ": the kernel did not answer in time");
                }
                if (errno != EINTR) {
                    throw new BallastException(ErrorCode.IO_ERROR, what + ": netlink receive failed: " + describe(errno));
                }
            }
        }

        @Override
        public synchronized void close() {
            if (!closed) {
                closed = true;
                Libc.C.close(fd);
            }
        }
    }

    // ------------------------------------------------------------------ unix socket to the NBD server

    /** A blocking unix stream socket connected to {@code path} (close it with {@link #close(int)}). */
    static int connectUnix(Path path, long timeoutMillis) {
        byte[] name = path.toString().getBytes(StandardCharsets.UTF_8);
        if (name.length >= SUN_PATH_LENGTH) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "unix socket path longer than "
                    + (SUN_PATH_LENGTH - 1) + " bytes: " + path);
        }
        int fd = Libc.C.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            throw new BallastException(ErrorCode.IO_ERROR, "socket(AF_UNIX) failed: " + describe(Libc.errno()));
        }
        ByteBuffer addr = ByteBuffer.allocate(2 + SUN_PATH_LENGTH).order(ByteOrder.nativeOrder());
        addr.putShort((short) AF_UNIX).put(name);
        int errno = Libc.errnoOf(() -> Libc.C.connect(fd, addr.array(), 2 + name.length + 1));
        if (errno != 0) {
            close(fd);
            throw new BallastException(ErrorCode.UNAVAILABLE, "cannot connect to the NBD server at " + path + ": "
                    + describe(errno) + " (is ballast node running?)");
        }
        setReceiveTimeout(fd, timeoutMillis);
        return fd;
    }

    static void writeFully(int fd, byte[] data) {
        byte[] rest = data;
        while (rest.length > 0) {
            long n = Libc.C.write(fd, rest, rest.length);
            if (n < 0) {
                int errno = Libc.errno();
                if (errno == EINTR) {
                    continue;
                }
                throw new BallastException(ErrorCode.IO_ERROR, "write to the NBD server failed: " + describe(errno));
            }
            rest = java.util.Arrays.copyOfRange(rest, (int) n, rest.length);
        }
    }

    static void readFully(int fd, byte[] into) {
        int done = 0;
        byte[] chunk = new byte[into.length];
        while (done < into.length) {
            long n = Libc.C.read(fd, chunk, into.length - done);
            if (n < 0) {
                int errno = Libc.errno();
                if (errno == EINTR) {
                    continue;
                }
                throw new BallastException(errno == EAGAIN ? ErrorCode.UNAVAILABLE : ErrorCode.IO_ERROR,
                        "read from the NBD server failed: " + (errno == EAGAIN ? "no answer in time" : describe(errno)));
            }
            if (n == 0) {
                throw new BallastException(ErrorCode.IO_ERROR, "the NBD server closed the connection after "
                        + done + " of " + into.length + " bytes");
            }
            System.arraycopy(chunk, 0, into, done, (int) n);
            done += (int) n;
        }
    }

    /**
     * Sets SO_RCVTIMEO ({@code struct timeval}); 0 = block forever. A socket handed to the kernel
     * must have 0: the nbd driver's receive loop honours the timeout and would take an idle
     * device's quiet connection for a dead one.
     */
    static void setReceiveTimeout(int fd, long millis) {
        ByteBuffer tv = ByteBuffer.allocate(16).order(ByteOrder.nativeOrder())
                .putLong(millis / 1000).putLong((millis % 1000) * 1000);
        if (Libc.C.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv.array(), 16) != 0) {
            throw new BallastException(ErrorCode.IO_ERROR, "setsockopt(SO_RCVTIMEO) failed: " + describe(Libc.errno()));
        }
    }

    /** The socket's SO_RCVTIMEO in milliseconds. */
    static long receiveTimeoutMillis(int fd) {
        byte[] tv = new byte[16];
        int[] len = {16};
        if (Libc.C.getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, len) != 0) {
            throw new BallastException(ErrorCode.IO_ERROR, "getsockopt(SO_RCVTIMEO) failed: " + describe(Libc.errno()));
        }
        ByteBuffer b = ByteBuffer.wrap(tv).order(ByteOrder.nativeOrder());
        return b.getLong(0) * 1000 + b.getLong(8) / 1000;
    }

    static int dup(int fd) {
        int copy = Libc.C.dup(fd);
        if (copy < 0) {
            throw new BallastException(ErrorCode.IO_ERROR, "dup failed: " + describe(Libc.errno()));
        }
        return copy;
    }

    static void close(int fd) {
        if (fd >= 0) {
            Libc.C.close(fd);
        }
    }

    // ------------------------------------------------------------------ nbd ioctls

    /** Opens /dev/nbdN read-write ({@code exclusive}: O_EXCL, which fails EBUSY while mounted). Returns fd or -errno. */
    static int openDevice(int index, boolean exclusive) {
        Path dev = deviceNode(index);
        int fd = Libc.C.open(dev.toString(), O_RDWR | O_CLOEXEC | (exclusive ? O_EXCL : 0), 0);
        return fd >= 0 ? fd : -Libc.errno();
    }

    /** ioctl on an nbd device; returns 0 or the errno (EINTR retried). */
    static int ioctl(int fd, long request, long arg) {
        return Libc.errnoOf(() -> Libc.C.ioctl(fd, request, arg));
    }

    /** NBD_DO_IT: blocks the calling thread while the device runs; returns 0 or the errno it ended with. */
    static int doIt(int fd) {
        return Libc.C.ioctl(fd, NBD_DO_IT, 0L) >= 0 ? 0 : Libc.errno();
    }

    // ------------------------------------------------------------------ sysfs and device nodes

    /** N of every /sys/block/nbdN, ascending. Empty without the nbd module. */
    static List<Integer> indices() {
        List<Integer> out = new ArrayList<>();
        try (var entries = Files.newDirectoryStream(Path.of("/sys/block"), "nbd*")) {
            for (Path e : entries) {
                try {
                    out.add(Integer.parseInt(e.getFileName().toString().substring(3)));
                } catch (NumberFormatException ignored) {
                    // nbdNpM partitions do not appear here; anything else is not ours
                }
            }
        } catch (IOException e) {
            return List.of();
        }
        out.sort(null);
        return out;
    }

    /** The pid serving /dev/nbdN while it is connected (sysfs {@code pid}), else empty. */
    static Optional<String> connectedPid(int index) {
        return sysfs(index, "pid");
    }

    /** The backend identifier the device was connected with (sysfs {@code backend}, Linux 5.18+). */
    static Optional<String> backend(int index) {
        return sysfs(index, "backend").filter(s -> !s.isEmpty());
    }

    private static Optional<String> sysfs(int index, String attr) {
        try {
            return Optional.of(Files.readString(Path.of("/sys/block/nbd" + index, attr)).strip());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** {@code /dev/nbdN}, made with mknod from /sys/block/nbdN/dev when no udev created it. */
    static Path deviceNode(int index) {
        Path dev = Path.of("/dev/nbd" + index);
        if (Files.exists(dev)) {
            return dev;
        }
        String majMin = sysfs(index, "dev").orElseThrow(() -> new BallastException(ErrorCode.NOT_FOUND,
                "no nbd device " + index + " (/sys/block/nbd" + index + " is absent)"));
        String[] mm = majMin.split(":");
        long major = Long.parseLong(mm[0]);
        long minor = Long.parseLong(mm[1]);
        long devT = ((major & 0xfff) << 8) | (minor & 0xff) | ((minor & ~0xffL) << 12);
        if (Libc.C.mknod(dev.toString(), S_IFBLK | 0660, devT) != 0 && !Files.exists(dev)) {
            throw new BallastException(ErrorCode.IO_ERROR, "mknod " + dev + " failed: " + describe(Libc.errno()));
        }
        return dev;
    }

    private static boolean setInt(int fd, int level, int option, int value) {
        byte[] v = ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(value).array();
        return Libc.C.setsockopt(fd, level, option, v, 4) == 0;
    }

    static String describe(int errno) {
        return Libc.describe(errno);
    }
}
