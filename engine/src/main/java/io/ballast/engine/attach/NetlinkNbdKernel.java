package io.ballast.engine.attach;

import io.ballast.engine.attach.NbdNative.GenlSocket;
import io.ballast.engine.attach.NetlinkCodec.Message;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.nio.file.Path;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link NbdKernel} over generic netlink (family "nbd"): NBD_CMD_CONNECT with index -1 (any free
 * device; the reply names it), NBD_CMD_RECONFIGURE for a new socket or size, NBD_CMD_DISCONNECT,
 * and the "nbd_mc_group" multicast group for NBD_CMD_LINK_DEAD. The device keeps running with no
 * process of ours attached to it: when this process dies, I/O waits up to the dead-connection
 * timeout for the next process to RECONFIGURE a new socket in.
 *
 * <p>Thread-safe: each operation opens its own netlink socket (cheap; operations are rare).
 */
final class NetlinkNbdKernel implements NbdKernel {
    private static final Logger log = LoggerFactory.getLogger(NetlinkNbdKernel.class);

    private static final long WATCH_POLL_MILLIS = 1000;

    private final NbdNetlink.Family family;
    private final long timeoutMillis;

    private NetlinkNbdKernel(NbdNetlink.Family family, long timeoutMillis) {
        this.family = family;
        this.timeoutMillis = timeoutMillis;
    }

    /**
     * Resolves the "nbd" family. FAILED_PRECONDITION "the kernel has no nbd module: modprobe nbd"
     * when it is not registered.
     */
    static NetlinkNbdKernel open(long timeoutMillis) {
        try (GenlSocket s = GenlSocket.open(timeoutMillis)) {
            return new NetlinkNbdKernel(s.resolve(NbdNetlink.FAMILY), timeoutMillis);
        }
    }

    @Override
    public String describe() {
        return "netlink (generic netlink family '" + family.name() + "' id " + family.id() + ")";
    }

    NbdNetlink.Family family() {
        return family;
    }

    @Override
    public int connect(NbdNetlink.Connect c) {
        try (GenlSocket s = GenlSocket.open(timeoutMillis)) {
            return NbdNetlink.connectedIndex(family.id(), s.transact("NBD_CMD_CONNECT",
                    seq -> NbdNetlink.connect(seq, family.id(), c)));
        }
    }

    @Override
    public boolean canReconnect() {
        return true;
    }

    @Override
    public void reconnect(int index, int socketFd, String backendId) {
        try (GenlSocket s = GenlSocket.open(timeoutMillis)) {
            s.transact("NBD_CMD_RECONFIGURE of nbd" + index + " with a new connection",
                    seq -> NbdNetlink.reconfigure(seq, family.id(), index, -1, socketFd, backendId));
        }
    }

    @Override
    public long resize(int index, long sizeBytes, String backendId) {
        try (GenlSocket s = GenlSocket.open(timeoutMillis)) {
            s.transact("NBD_CMD_RECONFIGURE of nbd" + index + " to " + sizeBytes + " bytes",
                    seq -> NbdNetlink.reconfigure(seq, family.id(), index, sizeBytes, -1, backendId));
        }
        return sizeBytes(index);
    }

    @Override
    public void disconnect(int index, long timeoutMillis) {
        IoctlNbdKernel.refuseWhileInUse(index);
        try (GenlSocket s = GenlSocket.open(this.timeoutMillis)) {
            s.transact("NBD_CMD_DISCONNECT of nbd" + index, seq -> NbdNetlink.disconnect(seq, family.id(), index));
        }
        IoctlNbdKernel.awaitStopped(index, timeoutMillis);
    }

    @Override
    public OptionalInt findConnected(String backendId) {
        for (int n : NbdNative.indices()) {
            if (NbdNative.connectedPid(n).isPresent() && NbdNative.backend(n).filter(backendId::equals).isPresent()) {
                return OptionalInt.of(n);
            }
        }
        return OptionalInt.empty();
    }

    @Override
    public Path device(int index) {
        return NbdNative.deviceNode(index);
    }

    @Override
    public long sizeBytes(int index) {
        return LoopDevices.sizeBytes(device(index));
    }

    @Override
    public AutoCloseable onLinkDead(IntConsumer listener) {
        Integer group = family.multicastGroups().get(NbdNetlink.MCAST_GROUP);
        if (group == null) {
            throw new BallastException(ErrorCode.INTERNAL, "the nbd netlink family has no multicast group '"
                    + NbdNetlink.MCAST_GROUP + "'");
        }
        // A close() does not wake a thread blocked in recv: the watcher polls a flag every second.
        GenlSocket s = GenlSocket.open(WATCH_POLL_MILLIS);
        try {
            s.join(group);
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
        AtomicBoolean stop = new AtomicBoolean();
        Thread t = new Thread(() -> watch(s, stop, listener), "nbd-link-dead");
        t.setDaemon(true);
        t.start();
        return () -> stop.set(true);
    }

    private void watch(GenlSocket s, AtomicBoolean stop, IntConsumer listener) {
        try (s) {
            while (!stop.get()) {
                try {
                    for (Message m : s.receive("waiting for NBD_CMD_LINK_DEAD")) {
                        int index = NbdNetlink.linkDeadIndex(family.id(), m);
                        if (index >= 0 && !stop.get()) {
                            log.warn("nbd{}: the kernel reports its connection dead", index);
                            listener.accept(index);
                        }
                    }
                } catch (BallastException e) {
                    if (e.code() != ErrorCode.UNAVAILABLE) { // UNAVAILABLE: the poll timeout
                        log.warn("nbd link watcher: {}", e.getMessage()); // e.g. ENOBUFS after a burst
                        sleepQuietly(WATCH_POLL_MILLIS);
                    }
                } catch (RuntimeException e) {
                    log.warn("nbd link watcher: listener failed", e);
                }
            }
        }
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
