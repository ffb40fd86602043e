package io.ballast.engine.attach;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.volume.BlockVolume;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Attaches a volume as {@code /dev/nbdN} connected to the node's NBD server: opens a unix socket
 * to {@code nbdSocket}, does the fixed-newstyle handshake in Java ({@link NbdClientHandshake},
 * NBD_OPT_GO for the export named like the volume, which must be exported there already), then
 * hands the connected socket to the kernel's nbd driver, which speaks the transmission phase
 * itself. The kernel is driven by generic netlink where the "nbd" family resolves (the normal
 * case: {@link NetlinkNbdKernel}), by the old ioctls only where it does not and /dev/nbd0 exists
 * ({@link IoctlNbdKernel}); {@link #kernelInterface()} says which.
 *
 * <p>Reconnect (netlink only): devices are connected with a dead-connection timeout and a backend
 * identifier {@code ballast:<volume>} (sysfs {@code backend}). When the server side goes away and
 * comes back in this process, the kernel's NBD_CMD_LINK_DEAD multicast makes the device reconnect
 * (new socket, new handshake, NBD_CMD_RECONFIGURE) while the kernel holds the I/O. After a restart
 * of {@code ballast node} the new process's {@link #attach} of the same volume finds the device by
 * its identifier and reconnects it instead of taking a new one, so the mount above keeps working,
 * provided that happens within the dead-connection timeout. With ioctls a restart fails the I/O.
 *
 * <p>Durability: the kernel sends FLUSH and FUA as NBD commands; the server answers them only when
 * durable (see the NBD server). {@link AttachedDevice#directIo()} is true: no second page cache.
 *
 * <p>Thread-safe; see {@link DeviceAttacher} for the error contract. FAILED_PRECONDITION "the
 * kernel has no nbd module: modprobe nbd" where there is no nbd at all. {@link #close()} stops the
 * reconnect machinery only; devices stay attached (they are meant to outlive this process).
 */
public final class NbdAttacher implements DeviceAttacher, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(NbdAttacher.class);
    static final String BACKEND_PREFIX = "ballast:";
    private static final long RECONNECT_RETRY_MILLIS = 200;

    private final Path nbdSocket;
    private final NbdAttachConfig config;
    private final Supplier<NbdKernel> kernels;
    private final Map<Integer, NbdDevice> devices = new ConcurrentHashMap<>();
    private final ExecutorService reconnector = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "nbd-reconnect");
        t.setDaemon(true);
        return t;
    });
    private NbdKernel kernel;
    private AutoCloseable linkWatch;
    private boolean closed;

    /** @param nbdSocket the unix socket the node's NBD server listens on */
    public NbdAttacher(Path nbdSocket, NbdAttachConfig config) {
        this(nbdSocket, config, () -> systemKernel(config));
    }

    public NbdAttacher(Path nbdSocket) {
        this(nbdSocket, NbdAttachConfig.defaults());
    }

    NbdAttacher(Path nbdSocket, NbdAttachConfig config, Supplier<NbdKernel> kernels) {
        this.nbdSocket = Objects.requireNonNull(nbdSocket, "nbdSocket").toAbsolutePath().normalize();
        this.config = Objects.requireNonNull(config, "config");
        this.kernels = Objects.requireNonNull(kernels, "kernels");
    }

    /** Netlink when the "nbd" family resolves, else ioctls when /dev/nbd0 exists, else FAILED_PRECONDITION. */
    static NbdKernel systemKernel(NbdAttachConfig config) {
        try {
            return NetlinkNbdKernel.open(config.handshakeTimeout().toMillis());
        } catch (BallastException e) {
            if (e.code() == ErrorCode.FAILED_PRECONDITION && Files.exists(Path.of("/dev/nbd0"))) {
                log.warn("no nbd generic netlink family but /dev/nbd0 exists: using the ioctl interface "
                        + "(no reconnect across restarts)");
                return new IoctlNbdKernel();
            }
            throw e;
        }
    }

    @Override
    public String kind() {
        return "nbd";
    }

    /** The kernel interface in use ("netlink ..." or "ioctl ..."), resolving it on first use. */
    public String kernelInterface() {
        return kernel().describe();
    }

    private synchronized NbdKernel kernel() {
        if (closed) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "the NBD attacher is closed");
        }
        if (kernel == null) {
            NbdKernel k = kernels.get();
            linkWatch = k.onLinkDead(this::linkDead);
            kernel = k;
            log.info("NBD attach through the kernel's {} interface, server socket {}", k.describe(), nbdSocket);
        }
        return kernel;
    }

    @Override
    public AttachedDevice attach(BlockVolume volume) {
        String name = volume.name();
        if (name.isEmpty() || name.indexOf('\0') >= 0) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "volume name '" + name + "' cannot name an NBD export");
        }
        NbdKernel k = kernel();
        String backendId = BACKEND_PREFIX + name;
        int fd = NbdNative.connectUnix(nbdSocket, config.handshakeTimeout().toMillis());
        try {
            NbdClientHandshake.Export export = handshake(fd, name);
            int blockSize = kernelBlockSize(export, volume.blockSize());
            OptionalInt existing = k.findConnected(backendId);
            int index;
            if (existing.isPresent() && k.canReconnect()) {
                index = existing.getAsInt();
                k.reconnect(index, fd, backendId);
                log.info("nbd{} was left connected to volume {} by an earlier process: reconnected", index, name);
            } else {
                index = k.connect(new NbdNetlink.Connect(NbdNetlink.ANY_INDEX, export.size(), blockSize,
                        export.transmissionFlags(), config.requestTimeout().toSeconds(),
                        config.deadConnTimeout().toSeconds(), backendId, fd));
            }
            NbdDevice device = new NbdDevice(k, index, volume, backendId, blockSize, export.readOnly());
            devices.put(index, device);
            log.info("attached {}", device.describe());
            return device;
        } finally {
            NbdNative.close(fd); // the kernel holds its own reference to the socket
        }
    }

    /** Handshake on {@code fd}; leaves it blocking without a receive timeout, as the kernel needs it. */
    private NbdClientHandshake.Export handshake(int fd, String export) {
        NbdClientHandshake.Export e = NbdClientHandshake.go(transport(fd), export, "the NBD server at " + nbdSocket);
        NbdNative.setReceiveTimeout(fd, 0);
        return e;
    }

    static NbdClientHandshake.Transport transport(int fd) {
        return new NbdClientHandshake.Transport() {
            @Override
            public void writeFully(byte[] data) {
                NbdNative.writeFully(fd, data);
            }

            @Override
            public void readFully(byte[] into) {
                NbdNative.readFully(fd, into);
            }
        };
    }

    /**
     * The logical block size for the kernel: the server's preferred size, else the volume's, when it
     * is a power of two in 512..4096 (the kernel's range on 4 KiB pages) at least the server's minimum.
     */
    static int kernelBlockSize(NbdClientHandshake.Export export, int volumeBlockSize) {
        for (int candidate : new int[] {export.preferredBlock(), volumeBlockSize, 4096, 512}) {
            if (candidate >= 512 && candidate <= 4096 && Integer.bitCount(candidate) == 1
                    && candidate >= export.minBlock() && export.size() % candidate == 0) {
                return candidate;
            }
        }
        throw new BallastException(ErrorCode.INVALID_ARGUMENT, "no block size the kernel accepts fits the export ("
                + export.size() + " bytes, minimum block " + export.minBlock() + ")");
    }

    private void linkDead(int index) {
        NbdDevice d = devices.get(index);
        if (d != null) {
            reconnector.execute(d::reconnectWithinDeadline);
        }
    }

    /** Stops watching for dead connections; attached devices stay attached. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        reconnector.shutdownNow();
        if (linkWatch != null) {
            try {
                linkWatch.close();
            } catch (Exception e) {
                log.warn("stopping the nbd link watcher: {}", e.toString());
            }
        }
    }

    /** A volume attached as /dev/nbdN. */
    final class NbdDevice implements AttachedDevice {
        private final NbdKernel k;
        private final int index;
        private final BlockVolume volume;
        private final String backendId;
        private final int blockSize;
        private final boolean readOnly;
        private boolean detached;

        NbdDevice(NbdKernel k, int index, BlockVolume volume, String backendId, int blockSize, boolean readOnly) {
            this.k = k;
            this.index = index;
            this.volume = volume;
            this.backendId = backendId;
            this.blockSize = blockSize;
            this.readOnly = readOnly;
        }

        /** N of /dev/nbdN. */
        public int index() {
            return index;
        }

        @Override
        public Path device() {
            return k.device(index);
        }

        @Override
        public String volumeName() {
            return volume.name();
        }

        /** With netlink the kernel holds the I/O for the dead-connection timeout; the next process reconnects. */
        @Override
        public boolean outlivesProcess() {
            return k.canReconnect();
        }

        @Override
        public boolean directIo() {
            return true;
        }

        @Override
        public long sizeBytes() {
            return k.sizeBytes(index);
        }

        @Override
        public synchronized long refreshCapacity() {
            long size = k.resize(index, volume.size(), backendId);
            log.info("nbd{}: capacity refreshed to {} bytes", index, size);
            return size;
        }

        /**
         * Connects a new socket (handshake again) and gives it to the kernel in place of a dead
         * connection. A live connection is kept (the kernel ignores the new socket). FAILED_PRECONDITION
         * on the ioctl interface; UNAVAILABLE / NOT_FOUND while the server or its export is not back.
         */
        public synchronized void reconnect() {
            if (detached) {
                throw new BallastException(ErrorCode.FAILED_PRECONDITION, "nbd" + index + " is detached");
            }
            int fd = NbdNative.connectUnix(nbdSocket, config.handshakeTimeout().toMillis());
            try {
                handshake(fd, volume.name());
                k.reconnect(index, fd, backendId);
            } finally {
                NbdNative.close(fd);
            }
            log.info("nbd{}: reconnected to export {} at {}", index, volume.name(), nbdSocket);
        }

        /** Retries {@link #reconnect()} until it works or the kernel's dead-connection timeout passed. */
        void reconnectWithinDeadline() {
            long deadline = System.nanoTime() + config.deadConnTimeout().toNanos();
            while (true) {
                try {
                    reconnect();
                    return;
                } catch (BallastException e) {
                    boolean retry = e.code() == ErrorCode.UNAVAILABLE || e.code() == ErrorCode.NOT_FOUND
                            || e.code() == ErrorCode.IO_ERROR;
                    if (!retry || System.nanoTime() > deadline) {
                        log.error("nbd{}: giving up reconnecting volume {}: {}", index, volume.name(), e.getMessage());
                        return;
                    }
                    log.debug("nbd{}: reconnect failed, retrying: {}", index, e.getMessage());
                }
                try {
                    Thread.sleep(RECONNECT_RETRY_MILLIS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }

        @Override
        public String describe() {
            return "/dev/nbd" + index + " on NBD export '" + volume.name() + "' at " + nbdSocket + " (" + k.describe()
                    + ", block size " + blockSize + (readOnly ? ", read-only" : "") + ", holds I/O up to "
                    + config.deadConnTimeout().toSeconds() + " s for a reconnect)";
        }

        @Override
        public synchronized void close() {
            if (detached) {
                return;
            }
            k.disconnect(index, config.detachTimeout().toMillis());
            detached = true;
            devices.remove(index, this);
            log.info("detached {}", describe());
        }

        @Override
        public String toString() {
            return describe();
        }
    }
}
