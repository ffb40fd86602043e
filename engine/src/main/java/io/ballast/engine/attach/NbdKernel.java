package io.ballast.engine.attach;

import java.nio.file.Path;
import java.util.OptionalInt;
import java.util.function.IntConsumer;

/**
 * The kernel's nbd driver as {@link NbdAttacher} uses it, behind one of its two control
 * interfaces: {@link NetlinkNbdKernel} (generic netlink, Linux 4.12+: preferred; reconnect and
 * resize without a process tied to the device) or {@link IoctlNbdKernel} (the old ioctls: a
 * thread of this process sits in NBD_DO_IT; no reconnect). A seam so the attacher's flow is
 * tested without the module.
 *
 * <p>Thread-safe. Errors: {@link io.ballast.engine.error.BallastException} as in
 * {@link DeviceAttacher}.
 */
interface NbdKernel {
    /** "netlink" or "ioctl", with detail for logs. */
    String describe();

    /**
     * Configures a device with the connected socket {@code c.socketFd()} (the kernel takes its own
     * reference: the caller closes its descriptor afterwards) and starts it. Returns N of /dev/nbdN.
     */
    int connect(NbdNetlink.Connect c);

    /** Whether {@link #reconnect} can replace a dead connection. */
    boolean canReconnect();

    /**
     * Gives device {@code index} a new connected socket in place of its dead one; a device whose
     * connection is alive keeps it (the socket is then unused). FAILED_PRECONDITION without support.
     */
    void reconnect(int index, int socketFd, String backendId);

    /** Sets the device's size; returns the size the kernel now reports. */
    long resize(int index, long sizeBytes, String backendId);

    /**
     * Disconnects and stops device {@code index}, waiting up to {@code timeoutMillis} until the
     * kernel released it. FAILED_PRECONDITION, changing nothing, while it is mounted or opened
     * exclusively. A device that is not connected is fine (idempotent).
     */
    void disconnect(int index, long timeoutMillis);

    /** A connected device whose backend identifier is {@code backendId} (left by an earlier process). */
    OptionalInt findConnected(String backendId);

    Path device(int index);

    long sizeBytes(int index);

    /**
     * Calls {@code listener} with a device's index whenever its connection died (NBD_CMD_LINK_DEAD
     * multicast), from a background thread, until the returned handle is closed.
     */
    AutoCloseable onLinkDead(IntConsumer listener);
}
