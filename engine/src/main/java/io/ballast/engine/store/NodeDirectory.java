package io.ballast.engine.store;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A storage node's data directory: an identity cookie ({@link NodeCookieLayout}) and one
 * subdirectory per volume.
 *
 * <pre>
 *  &lt;dir&gt;/
 *    ballast-node.cookie      who owns this directory (cluster id, node id, format version)
 *    volumes/
 *      &lt;name&gt;/                 one volume, see VolumeFiles
 *      .tmp-&lt;name&gt;-&lt;n&gt;/        a volume being created (removed on open)
 *      .trash-&lt;name&gt;-&lt;n&gt;/      a volume being deleted (removed on open)
 *    snapshots/&lt;name&gt;/&lt;id&gt;/     replica-local snapshots, see VolumeSnapshots
 * </pre>
 *
 * <p>The directory is locked (an exclusive {@code flock} on the cookie) while open, so two
 * processes never run on it. A volume is open at most once at a time; closing the store returned
 * by {@link #createVolume}/{@link #openVolume} makes it openable again.
 *
 * <p>Threading: thread-safe. Errors: {@link BallastException} with FOREIGN_FORMAT when the
 * directory is not this node's (nothing is modified then), INVALID_ARGUMENT for bad names,
 * OUT_OF_RANGE for bad sizes, ALREADY_EXISTS / NOT_FOUND, FAILED_PRECONDITION for a volume that is
 * open or a directory in use, IO_ERROR / NO_SPACE from the disk.
 */
public final class NodeDirectory implements AutoCloseable {
    /** Volume names: 1-128 characters, starting with a letter or digit. */
    public static final Pattern VOLUME_NAME = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}");
    static final String VOLUMES_DIR = "volumes";
    private static final String TMP_PREFIX = ".tmp-";
    private static final String TRASH_PREFIX = ".trash-";
    private static final Logger log = LoggerFactory.getLogger(NodeDirectory.class);

    private final Path dir;
    private final Path volumes;
    private final NodeIdentity identity;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final Clock clock;
    private final Map<String, LocalBlockStore> open = new ConcurrentHashMap<>();
    private final VolumeSnapshots snapshots;
    private volatile boolean closed;

    private NodeDirectory(Path dir, NodeIdentity identity, FileChannel lockChannel, FileLock lock, Clock clock) {
        this.dir = dir;
        this.volumes = dir.resolve(VOLUMES_DIR);
        this.identity = identity;
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.clock = clock;
        this.snapshots = new VolumeSnapshots(dir);
    }

    /**
     * Opens {@code dir} as the data directory of node {@code nodeId} in cluster {@code clusterId},
     * formatting it when absent or empty. FOREIGN_FORMAT, with nothing modified, when it belongs
     * to another node or cluster, has an unknown format or a damaged cookie, or is a non-empty
     * directory without a cookie.
     */
    /**
     * The identity recorded in {@code dir}'s cookie, or empty when the directory has none (absent,
     * empty, or never formatted). Reads only; FOREIGN_FORMAT when the cookie is not ours.
     */
    public static Optional<NodeIdentity> recordedIdentity(Path dir) {
        Path cookie = dir.toAbsolutePath().normalize().resolve(NodeCookieLayout.FILE_NAME);
        if (!Files.isRegularFile(cookie)) {
            return Optional.empty();
        }
        return Optional.of(NodeCookieLayout.decode(Durable.readAll(cookie, NodeCookieLayout.MAX_RECORD_BYTES), cookie));
    }

    public static NodeDirectory openOrFormat(Path dir, String clusterId, String nodeId) {
        return openOrFormat(dir, clusterId, nodeId, Clock.systemUTC());
    }

    static NodeDirectory openOrFormat(Path dir, String clusterId, String nodeId, Clock clock) {
        NodeCookieLayout.idBytes("cluster id", clusterId);
        NodeCookieLayout.idBytes("node id", nodeId);
        Path abs = dir.toAbsolutePath().normalize();
        Path cookie = abs.resolve(NodeCookieLayout.FILE_NAME);
        NodeIdentity identity;
        try {
            if (Files.exists(abs) && !Files.isDirectory(abs)) {
                throw new BallastException(ErrorCode.FOREIGN_FORMAT,
                        "refusing data directory " + abs + ": it is not a directory");
            }
            if (Files.isRegularFile(cookie)) {
                identity = NodeCookieLayout.decode(Durable.readAll(cookie, NodeCookieLayout.MAX_RECORD_BYTES), cookie);
                if (!identity.clusterId().equals(clusterId) || !identity.nodeId().equals(nodeId)) {
                    throw new BallastException(ErrorCode.FOREIGN_FORMAT, "refusing data directory " + abs
                            + ": it belongs to cluster '" + identity.clusterId() + "' node '" + identity.nodeId()
                            + "', but this node is cluster '" + clusterId + "' node '" + nodeId + "'");
                }
            } else {
                identity = format(abs, cookie, clusterId, nodeId, clock);
            }
            // Volume data, keys of the Raft log and sockets: the node's alone (a hostPath created
            // by Kubernetes, or a directory made by hand, starts as rwxr-xr-x).
            Files.setPosixFilePermissions(abs, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
            FileChannel ch = FileChannel.open(cookie, StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                ch.close();
                throw new BallastException(ErrorCode.FAILED_PRECONDITION,
                        "data directory " + abs + " is already in use by another Ballast node");
            }
            NodeDirectory nd = new NodeDirectory(abs, identity, ch, lock, clock);
            nd.prepareVolumesDir();
            return nd;
        } catch (IOException e) {
            throw Durable.ioError("open data directory " + abs, e);
        }
    }

    /** The data directory's subdirectory for runtime state (sockets, FUSE mount points). */
    public static final String RUNTIME_DIR = "run";
    /** The data directory's subdirectory for the node's TLS key and certificate when it gets them itself (--tls-from). */
    public static final String TLS_DIR = "tls";

    private static NodeIdentity format(Path dir, Path cookie, String clusterId, String nodeId, Clock clock)
            throws IOException {
        if (Files.isDirectory(dir)) {
            String leftover = cookie.getFileName() + ".tmp"; // our own half-written format: safe to redo
            List<String> entries;
            try (Stream<Path> s = Files.list(dir)) {
                // RUNTIME_DIR holds sockets and mount points, never data: the descriptor keeper,
                // started beside the node (a container of its own in Kubernetes), may create its
                // socket there before the node's first start formats the directory. TLS_DIR holds a
                // key and certificate, never data, made before the format (the node needs them to join).
                entries = s.map(p -> p.getFileName().toString())
                        .filter(n -> !n.equals(leftover) && !n.equals(RUNTIME_DIR) && !n.equals(TLS_DIR))
                        .sorted().toList();
            }
            if (!entries.isEmpty()) {
                throw new BallastException(ErrorCode.FOREIGN_FORMAT, "refusing data directory " + dir
                        + ": it is not empty but has no " + NodeCookieLayout.FILE_NAME + " (found " + preview(entries)
                        + "); expected an empty directory or one formatted for cluster '" + clusterId + "' node '"
                        + nodeId + "'");
            }
        } else {
            Files.createDirectories(dir);
            Durable.fsyncDirectory(dir.getParent());
        }
        NodeIdentity id = new NodeIdentity(clusterId, nodeId, NodeCookieLayout.FORMAT_VERSION,
                clock.instant().truncatedTo(java.time.temporal.ChronoUnit.MILLIS));
        Durable.writeAtomically(cookie, NodeCookieLayout.encode(id));
        log.info("formatted data directory {} for cluster '{}' node '{}'", dir, clusterId, nodeId);
        return id;
    }

    private static String preview(List<String> entries) {
        return entries.size() <= 5 ? String.join(", ", entries)
                : String.join(", ", entries.subList(0, 5)) + " and " + (entries.size() - 5) + " more";
    }

    private void prepareVolumesDir() throws IOException {
        if (!Files.isDirectory(volumes)) {
            Files.createDirectories(volumes);
            Durable.fsyncDirectory(dir);
        }
        try (Stream<Path> s = Files.list(volumes)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (n.startsWith(TMP_PREFIX) || n.startsWith(TRASH_PREFIX)) {
                    log.info("removing leftover {} from an interrupted create/delete", p);
                    deleteTree(p);
                }
            }
        }
        snapshots.prepare();
    }

    /** The replica-local snapshots of this node's volumes. */
    public VolumeSnapshots snapshots() {
        checkOpen();
        return snapshots;
    }

    public NodeIdentity identity() {
        return identity;
    }

    public Path path() {
        return dir;
    }

    /** Names of the volumes on this node, sorted. */
    public List<String> volumeNames() {
        checkOpen();
        try (Stream<Path> s = Files.list(volumes)) {
            return s.filter(Files::isDirectory).map(p -> p.getFileName().toString())
                    .filter(n -> VOLUME_NAME.matcher(n).matches()).sorted().toList();
        } catch (IOException e) {
            throw Durable.ioError("list " + volumes, e);
        }
    }

    /** Creates and opens an empty volume (crash-safe: a volume directory appears whole or not at all). */
    public LocalBlockStore createVolume(String name, long sizeBytes) {
        return createVolume(name, sizeBytes, DirtyBitmapLayout.DEFAULT_REGION_SHIFT);
    }

    synchronized LocalBlockStore createVolume(String name, long sizeBytes, int regionShift) {
        checkOpen();
        checkName(name);
        LocalBlockStore.checkSize(sizeBytes);
        Path target = volumes.resolve(name);
        if (Files.exists(target)) {
            throw new BallastException(ErrorCode.ALREADY_EXISTS, "volume " + name + " already exists in " + volumes);
        }
        Path tmp = volumes.resolve(TMP_PREFIX + name + "-" + System.nanoTime());
        try {
            Files.createDirectory(tmp);
            VolumeFiles.format(tmp, sizeBytes, regionShift, clock.millis());
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            Durable.fsyncDirectory(volumes);
        } catch (IOException | RuntimeException e) {
            try {
                deleteTree(tmp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            if (e instanceof RuntimeException re) {
                throw re;
            }
            throw Durable.ioError("create volume " + name + " in " + volumes, (IOException) e);
        }
        log.info("created volume {} of {} bytes", name, sizeBytes);
        return register(name, LocalBlockStore.open(target, name));
    }

    /** Opens an existing volume; NOT_FOUND when absent, FAILED_PRECONDITION when already open. */
    public synchronized LocalBlockStore openVolume(String name) {
        checkOpen();
        checkName(name);
        Path target = volumes.resolve(name);
        if (!Files.isDirectory(target)) {
            throw new BallastException(ErrorCode.NOT_FOUND, "volume " + name + " does not exist in " + volumes);
        }
        if (open.containsKey(name)) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "volume " + name + " is already open");
        }
        return register(name, LocalBlockStore.open(target, name));
    }

    private LocalBlockStore register(String name, LocalBlockStore store) {
        open.put(name, store);
        store.onClose(() -> open.remove(name, store));
        return store;
    }

    /**
     * Deletes a volume and every snapshot of it on this node; absent is fine (idempotent).
     * FAILED_PRECONDITION while it is open. Snapshots go first: a crash in between leaves a volume
     * without snapshots (deleted again on retry), never snapshots of a volume that is gone.
     */
    public synchronized void deleteVolume(String name) {
        checkOpen();
        checkName(name);
        if (open.containsKey(name)) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION,
                    "volume " + name + " is open; close it before deleting");
        }
        snapshots.deleteAll(name);
        Path target = volumes.resolve(name);
        if (!Files.exists(target)) {
            return;
        }
        Path trash = volumes.resolve(TRASH_PREFIX + name + "-" + System.nanoTime());
        try {
            Files.move(target, trash, StandardCopyOption.ATOMIC_MOVE);
            Durable.fsyncDirectory(volumes);
            deleteTree(trash);
        } catch (IOException e) {
            throw Durable.ioError("delete volume " + name + " in " + volumes, e);
        }
        log.info("deleted volume {}", name);
    }

    private static void checkName(String name) {
        if (name == null || !VOLUME_NAME.matcher(name).matches()) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "volume name '" + name
                    + "' is invalid: use 1-128 characters [a-zA-Z0-9._-], starting with a letter or digit");
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "data directory " + dir + " is closed");
        }
    }

    /** Closes every open volume (cleanly) and releases the directory lock. Idempotent. */
    @Override
    public void close() {
        List<LocalBlockStore> stores;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            stores = new ArrayList<>(open.values());
        }
        RuntimeException failure = null;
        for (LocalBlockStore s : stores) { // outside the monitor: a store's close calls back into us
            try {
                s.close();
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        try {
            lock.release();
            lockChannel.close();
        } catch (IOException e) {
            BallastException be = Durable.ioError("unlock " + dir, e);
            if (failure == null) {
                failure = be;
            } else {
                failure.addSuppressed(be);
            }
        }
        if (failure != null) {
            throw failure;
        }
    }
}
