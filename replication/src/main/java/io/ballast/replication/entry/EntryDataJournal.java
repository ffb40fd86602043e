package io.ballast.replication.entry;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.Durable;
import io.ballast.engine.store.NativeIo;
import io.ballast.engine.store.NativeIo.NativeFile;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bulk data of a volume replica's Raft log entries, kept beside the Raft log (Ratis
 * stateMachineData): the log itself carries only a small reference per entry.
 *
 * <p><b>Why.</b> Ratis's segmented log writes every byte twice (fill bytes to preallocate, then the
 * entry) through the page cache, into files it creates and deletes, and checksums it with a
 * pure-Java CRC. On this kind of VM a page-cache page the guest has not touched for a few seconds
 * costs ~3 µs of system time to fill (the host reclaimed it), so the log worker spent 6x the CPU
 * of applying the same bytes to the block store. This journal writes each entry's data once, with
 * O_DIRECT (no page-cache pages at all) from one reused aligned buffer, with the hardware CRC32C.
 *
 * <p><b>Durability order.</b> {@link #append} completes only after the record is written and the
 * file fdatasync'ed; Ratis (stateMachineData sync policy) waits for that before it writes the log
 * entry. So an entry in the Raft log always has its data here, whatever moment a process dies.
 * Appends queued together share one fdatasync.
 *
 * <p><b>Records</b> ({@link JournalRecordLayout}): a header, the entry, zero padding to O_DIRECT's
 * alignment (see {@link #openDirect}); the data of large WRITEs lies where its blocks line up with
 * the store's, so that applying the entry shares them instead of writing them again
 * ({@link #placed}; only records already fdatasync'ed). A record is found by (index, term): by Raft's log matching property two entries with the same index and
 * term are the same entry, so any valid record with that pair holds the right data, even a stale
 * one left by a truncation. Recovery scans each file's record headers from its start while they
 * are of the generation of the file's first record; {@link #read} checks the CRC.
 *
 * <p><b>Recycling.</b> A file whose records all lie below the Raft log's start index (purged after
 * a snapshot) is renamed to the next generation and written again from its start: its blocks are
 * allocated already, so an fdatasync after a direct write flushes data only.
 *
 * <p>Threads: appends and truncations run in order on one writer thread; reads from any thread.
 *
 * <p>Size: over 450 lines because recovery, appends with their shared fdatasync, truncation,
 * recycling and the wait for disk space all change the same writer-thread state (the file deque,
 * the record index, the pending syncs); the record format is {@link JournalRecordLayout}, the
 * choice of what goes here {@link VolumeEntryData}.
 */
public final class EntryDataJournal implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(EntryDataJournal.class);
    private static final int HEADER = JournalRecordLayout.HEADER;
    private static final Pattern NAME = Pattern.compile("journal-(\\d+)");
    public static final int ALIGN = JournalRecordLayout.ALIGN;

    private final Path dir;
    private final long fileSize;
    private final LongSupplier releaseBelow;
    private final ExecutorService writer;
    private final ConcurrentLinkedQueue<Runnable> queue = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean draining = new AtomicBoolean();
    /** index -> records of that index (usually one; more after a truncation rewrote it). */
    private final ConcurrentSkipListMap<Long, List<Location>> records = new ConcurrentSkipListMap<>();
    /** Oldest first; the last one is written. Writer thread only, but for close. */
    private final ArrayDeque<JournalFile> files = new ArrayDeque<>();
    private ByteBuffer recordBuffer = ByteBuffer.allocateDirect(0);
    /** Writer thread: appends written since the last fdatasync, and the files they went to. */
    private final List<CompletableFuture<Void>> pendingSync = new ArrayList<>();
    private final Map<JournalFile, Boolean> dirty = new HashMap<>();
    private final List<Location> unsynced = new ArrayList<>();
    private long nextGeneration;
    private volatile boolean closed;
    /** Set while a write waits for disk space ({@link #writeWaitingForSpace}). */
    private volatile Instant fullSince;
    /** A write that failed with less free space than its record and this much is for want of space. */
    private static final long SPACE_MARGIN = 1 << 20;

    /**
     * Where a record lies. {@code writes}: the record positions of its placed WRITE data, by WRITE
     * ordinal (-1: not placed); null until needed for a record found by recovery.
     * {@code durable}: fdatasync'ed (recovered records are).
     */
    private static final class Location {
        final JournalFile file;
        final long generation;
        final long position;
        final long recordBytes;
        final long term;
        volatile long[] writes;
        volatile boolean durable;

        Location(JournalFile file, long generation, long position, long recordBytes, long term, long[] writes,
                boolean durable) {
            this.file = file;
            this.generation = generation;
            this.position = position;
            this.recordBytes = recordBytes;
            this.term = term;
            this.writes = writes;
            this.durable = durable;
        }
    }

    private static final class JournalFile {
        /** Buffered: reads and recovery scans. */
        final FileChannel channel;
        /** O_DIRECT where the filesystem has it (else the buffered channel): record writes. */
        final FileChannel writes;
        /** For the store to share extents from ({@link #placed}); closed when the last user is done. */
        private final NativeFile handle;
        private int users;
        private boolean retired;
        Path path;
        long generation;
        long end;
        long maxIndex = -1;

        private JournalFile(FileChannel channel, FileChannel writes, NativeFile handle, Path path, long generation) {
            this.channel = channel;
            this.writes = writes;
            this.handle = handle;
            this.path = path;
            this.generation = generation;
        }

        /**
         * The file at {@code path}, opened for reads and writes (and its direct channel and native
         * handle). Whatever it opened is closed again when a step fails: the writer may try again
         * (a journal waiting for disk space does, every second), and must not leak a descriptor per try.
         */
        static JournalFile open(Path path, long generation, OpenOption... create) throws IOException {
            // (openDirect falls back rather than throw; the native open throws BallastException)
            Set<OpenOption> options = new HashSet<>(List.of(StandardOpenOption.READ, StandardOpenOption.WRITE));
            options.addAll(List.of(create));
            FileChannel channel = FileChannel.open(path, options);
            FileChannel writes = channel;
            try {
                writes = openDirect(path, channel);
                return new JournalFile(channel, writes, NativeIo.openReadOnly(path), path, generation);
            } catch (RuntimeException e) {
                closeQuietly(e, writes == channel ? null : writes);
                closeQuietly(e, channel);
                throw e;
            }
        }

        private static void closeQuietly(Exception cause, FileChannel c) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (IOException e) {
                cause.addSuppressed(e);
            }
        }

        /** The native handle, kept open until {@link #release}; null once the file is retired. */
        synchronized NativeFile acquire() {
            if (retired) {
                return null;
            }
            users++;
            return handle;
        }

        synchronized void release() {
            if (--users == 0 && retired) {
                handle.close();
            }
        }

        /** Closes the channels now, the native handle once nobody shares from it. */
        void close() throws IOException {
            synchronized (this) {
                if (!retired) {
                    retired = true;
                    if (users == 0) {
                        handle.close();
                    }
                }
            }
            if (writes != channel) {
                writes.close();
            }
            channel.close();
        }
    }

    /**
     * Opens (creating if absent) the journal in {@code dir}. {@code fileSize} must hold the largest
     * record; {@code releaseBelow} tells the lowest index still needed (the Raft log's start).
     */
    EntryDataJournal(Path dir, long fileSize, LongSupplier releaseBelow, String name) throws IOException {
        this.dir = dir;
        this.fileSize = fileSize;
        this.releaseBelow = releaseBelow;
        Files.createDirectories(dir);
        recover();
        this.writer = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, name + "-journal");
            t.setDaemon(true);
            return t;
        });
    }

    // ---- recovery --------------------------------------------------------------------------

    private void recover() throws IOException {
        List<JournalFile> found = new ArrayList<>();
        long maxName = 0;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Matcher m = NAME.matcher(p.getFileName().toString());
                if (!m.matches()) {
                    continue;
                }
                maxName = Math.max(maxName, Long.parseLong(m.group(1)));
                JournalFile f = JournalFile.open(p, -1);
                scan(f);
                found.add(f);
            }
        }
        // Order by generation (files whose first record is invalid hold nothing: oldest).
        found.sort((a, b) -> Long.compare(a.generation, b.generation));
        files.addAll(found);
        nextGeneration = Math.max(maxName, found.isEmpty() ? 0 : found.getLast().generation) + 1;
        if (!found.isEmpty()) {
            LOG.info("journal {}: {} files, {} entries recovered", dir, found.size(), records.size());
        }
    }

    /**
     * Reads the record headers of {@code f} from its start into {@link #records}, up to the first
     * that is not a record of the file's generation. Only headers: a restart must not read every
     * retained byte, and {@link #read} checks each record's CRC anyway. A record torn by a crash
     * (header written, data not) was never fdatasync'ed, so no log entry refers to it, and nothing
     * after it in the file was written.
     */
    private void scan(JournalFile f) throws IOException {
        ByteBuffer h = ByteBuffer.allocate(HEADER);
        long pos = 0;
        long size = f.channel.size();
        while (pos + HEADER <= size) {
            h.clear();
            readFully(f.channel, h, pos);
            JournalRecordLayout.Header header = JournalRecordLayout.header(h);
            if (header == null) {
                break;
            }
            int len = header.length();
            long generation = header.generation();
            long index = header.index();
            if (len < 0 || pos + header.recordBytes() > size || (f.generation >= 0 && generation != f.generation)) {
                break;
            }
            f.generation = generation;
            add(index, new Location(f, generation, pos, header.recordBytes(), header.term(), null, true));
            f.maxIndex = Math.max(f.maxIndex, index);
            pos += header.recordBytes();
        }
        f.end = pos;
    }

    // ---- writes ----------------------------------------------------------------------------

    /** Writes the data of entry (index, term); completes once it is durable. */
    CompletableFuture<Void> append(long index, long term, ByteString data) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        submit(() -> {
            try {
                writeWaitingForSpace(index, term, data);
                pendingSync.add(done);
            } catch (IOException | RuntimeException e) {
                done.completeExceptionally(new BallastException(ErrorCode.IO_ERROR,
                        "journal " + dir + ": write of entry " + index + " failed: " + e, e));
            }
        });
        return done;
    }

    /** Forgets every entry above {@code index} (the Raft log was truncated there), in order with appends. */
    CompletableFuture<Void> truncate(long index) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        submit(() -> {
            records.tailMap(index, false).clear();
            done.complete(null);
        });
        return done;
    }

    private void submit(Runnable task) {
        if (closed) {
            throw new BallastException(ErrorCode.UNAVAILABLE, "journal " + dir + " is closed");
        }
        queue.add(task);
        if (draining.compareAndSet(false, true)) {
            try {
                writer.execute(this::drain);
            } catch (RejectedExecutionException e) {
                draining.set(false);
                throw new BallastException(ErrorCode.UNAVAILABLE, "journal " + dir + " is closed");
            }
        }
    }

    /** Runs every queued task, then one fdatasync per written file for all of them. */
    private void drain() {
        while (true) {
            for (Runnable t; (t = queue.poll()) != null; ) {
                t.run();
            }
            sync();
            draining.set(false);
            if (queue.isEmpty() || !draining.compareAndSet(false, true)) {
                return;
            }
        }
    }

    private void sync() {
        if (pendingSync.isEmpty()) {
            return;
        }
        IOException failure = null;
        for (JournalFile f : dirty.keySet()) {
            try {
                f.writes.force(false);
            } catch (IOException e) {
                failure = e;
            }
        }
        dirty.clear();
        if (failure == null) {
            unsynced.forEach(l -> l.durable = true);
        }
        unsynced.clear();
        for (CompletableFuture<Void> f : pendingSync) {
            if (failure == null) {
                f.complete(null);
            } else {
                f.completeExceptionally(new BallastException(ErrorCode.IO_ERROR, "journal " + dir + ": fdatasync failed: " + failure, failure));
            }
        }
        pendingSync.clear();
    }

    /**
     * Writes, and while the filesystem is out of space waits for it instead of failing: a failed
     * write fails Ratis's log worker for good (every later entry "Log already failed"), and worse,
     * the follower then acknowledges resent entries it holds only in memory (Ratis skips entries
     * already in its cache), so the leader would count them as stored here. Waiting stalls this
     * replica's log, which is what a full disk should do: the majority carries on, and the
     * journal goes on by itself when space returns. Closing the journal ends the wait.
     */
    private void writeWaitingForSpace(long index, long term, ByteString data) throws IOException {
        while (true) {
            try {
                write(index, term, data);
                if (fullSince != null) {
                    LOG.info("journal {}: space is back, entry {} written after {} s of waiting", dir, index,
                            Duration.between(fullSince, Instant.now()).toSeconds());
                    fullSince = null;
                }
                return;
            } catch (IOException e) {
                long free = Files.getFileStore(dir).getUsableSpace();
                if (closed || free >= JournalRecordLayout.maxRecordBytes(data.size()) + SPACE_MARGIN) {
                    throw e; // not for want of space
                }
                if (fullSince == null) {
                    fullSince = Instant.now();
                    LOG.warn("journal {}: disk full writing entry {} ({} MiB free: {}); this replica's log waits "
                            + "for space", dir, index, free >> 20, e.toString());
                }
            }
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("journal " + dir + " closed while waiting for disk space", e);
            }
        }
    }

    /** Null, or since when writes wait for disk space (the volume condition says so). */
    Instant fullSince() {
        return fullSince;
    }

    private void write(long index, long term, ByteString data) throws IOException {
        ByteBuffer entry = data.asReadOnlyByteBuffer();
        JournalRecordLayout.Layout layout = JournalRecordLayout.layout(entry);
        int total = layout.recordBytes();
        if (total > fileSize) {
            throw new IllegalArgumentException("entry of " + data.size() + " bytes exceeds the journal file size " + fileSize);
        }
        JournalFile f = files.peekLast();
        if (f == null || f.end + total > fileSize) {
            f = nextFile();
        }
        // The whole record in one aligned buffer, one pwrite: with O_DIRECT the bytes go from it to
        // the disk, allocating no page-cache pages (see the class comment).
        ByteBuffer record = recordBuffer(total);
        JournalRecordLayout.write(record, layout, f.generation, index, term, entry);
        long pos = f.end;
        writeFully(f.writes, record, pos);
        f.end = pos + total;
        f.maxIndex = Math.max(f.maxIndex, index);
        dirty.put(f, Boolean.TRUE);
        Location loc = new Location(f, f.generation, pos, total, term, layout.writePositions(pos), false);
        unsynced.add(loc);
        add(index, loc);
    }

    private ByteBuffer recordBuffer(int size) {
        if (recordBuffer.capacity() < size) {
            recordBuffer = aligned(Math.max(size, 1 << 20));
        }
        return recordBuffer.clear().limit(size);
    }

    private static ByteBuffer aligned(int size) {
        return ByteBuffer.allocateDirect(size + ALIGN).alignedSlice(ALIGN).limit(size);
    }

    /**
     * O_DIRECT for record writes: a buffered write into pages the guest has not touched lately
     * costs more than the disk write itself here, and an fdatasync of buffered pages took ~0.45 ms
     * (under strace) where fio's direct 4 KiB write plus fsync takes 35-100 µs (p50) on this disk.
     * Falls back to {@code buffered} where the filesystem refuses O_DIRECT (tmpfs).
     */
    private static FileChannel openDirect(Path p, FileChannel buffered) {
        try {
            return FileChannel.open(p, StandardOpenOption.WRITE, com.sun.nio.file.ExtendedOpenOption.DIRECT);
        } catch (IOException | UnsupportedOperationException e) {
            return buffered;
        }
    }

    /** The next file to write: the oldest one if nothing in it is needed any more, else a new one. */
    private JournalFile nextFile() throws IOException {
        long generation = nextGeneration++;
        Path path = dir.resolve("journal-" + generation);
        JournalFile oldest = files.peekFirst();
        if (oldest != null && files.size() > 1 && oldest.maxIndex < releaseIndex()) {
            files.pollFirst();
            forget(oldest);
            deleteDeadFiles();
            Files.move(oldest.path, path);
            oldest.path = path;
            oldest.generation = generation;
            oldest.end = 0;
            oldest.maxIndex = -1;
            // Its old records stay behind the new ones until overwritten; recovery stops at the
            // first record of another generation, and any old record it does take is still
            // right for its (index, term), only never asked for again (below the log start).
            files.addLast(oldest);
            return oldest;
        }
        JournalFile f = JournalFile.open(path, generation, StandardOpenOption.CREATE_NEW);
        try {
            // Sparse, not filled with zeroes as Ratis fills its segments: direct writes into holes
            // cost an extent conversion at fdatasync, far less than writing every byte twice (1 MiB
            // sequential writes, 3 replicas: ~120 MiB/s sparse against ~70 zero-filled).
            try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(path.toFile(), "rw")) {
                raf.setLength(fileSize);
            }
            Durable.fsyncDirectory(dir); // the file exists after a crash, before any record in it counts
        } catch (IOException | RuntimeException e) {
            // Disk full, say: the writer retries with a new generation once space returns.
            try {
                f.close();
                Files.deleteIfExists(path);
            } catch (IOException | RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        files.addLast(f);
        return f;
    }

    /**
     * Deletes, on the writer thread, the files whose records the log no longer needs. Rotation does
     * it too, but after a spell of large writes the small ones that follow never rotate the journal,
     * which then kept its peak size (a checkpoint calls this).
     */
    void releaseDeadFiles() {
        try {
            submit(this::deleteDeadFiles);
        } catch (BallastException e) {
            // closed: nothing to release
        }
    }

    /**
     * Deletes the files, but the newest, whose records all lie below the log's start. One dead file
     * is recycled at each rotation (above); without this the others would keep their disk space
     * until their own turn came, and the journal would hold up to its peak size for good.
     */
    private void deleteDeadFiles() {
        long release = releaseIndex();
        var it = files.iterator();
        while (it.hasNext()) {
            JournalFile f = it.next();
            if (f == files.peekLast() || f.maxIndex >= release) {
                continue;
            }
            it.remove();
            forget(f);
            try {
                f.close();
                Files.deleteIfExists(f.path);
            } catch (IOException e) {
                LOG.warn("journal {}: deleting {}: {}", dir, f.path, e.toString());
            }
        }
    }

    private long releaseIndex() {
        try {
            return releaseBelow.getAsLong();
        } catch (RuntimeException e) {
            return -1; // the group is not up (yet): keep everything
        }
    }

    private void add(long index, Location loc) {
        records.compute(index, (i, list) -> {
            List<Location> l = list == null ? new ArrayList<>(1) : new ArrayList<>(list);
            l.removeIf(x -> x.term == loc.term);
            l.add(loc);
            return l;
        });
    }

    private void forget(JournalFile f) {
        records.replaceAll((i, list) -> list.stream().filter(l -> l.file != f).toList());
        records.values().removeIf(List::isEmpty);
    }

    // ---- reads -----------------------------------------------------------------------------

    /** The data of entry (index, term), checked against its record's CRC. */
    ByteString read(long index, long term) {
        Location loc = location(index, term);
        if (loc == null) {
            throw new BallastException(ErrorCode.NOT_FOUND, "journal " + dir + " has no data for entry " + index + " (term " + term + ")");
        }
        ByteBuffer record = ByteBuffer.allocate((int) loc.recordBytes);
        try {
            readFully(loc.file.channel, record, loc.position);
        } catch (IOException e) {
            throw new BallastException(ErrorCode.IO_ERROR, "journal " + dir + ": read of entry " + index + " failed: " + e, e);
        }
        ByteBuffer data = JournalRecordLayout.entry(record.flip(), loc.generation, index, term);
        if (data == null) {
            throw new BallastException(ErrorCode.CORRUPTION, "journal " + dir + ": record of entry " + index
                    + " at " + loc.file.path + ":" + loc.position + " is damaged or was recycled");
        }
        return UnsafeByteOperations.unsafeWrap(data);
    }

    private Location location(long index, long term) {
        List<Location> list = records.get(index);
        return list == null ? null : list.stream().filter(l -> l.term == term).findFirst().orElse(null);
    }

    /**
     * Where the large WRITE data of entry (index, term) lies on disk, for the store to share instead
     * of writing it again ({@link PlacedWrites}); {@link PlacedWrites#NONE} when the journal holds no
     * durable record of it (the leader may apply an entry a majority of followers stored before its
     * own journal write finished) or the record is not placed.
     */
    PlacedWrites placed(long index, long term) {
        Location loc = location(index, term);
        if (loc == null || !loc.durable) {
            return PlacedWrites.NONE;
        }
        long[] writes = loc.writes;
        if (writes == null) {
            writes = readPlaces(loc, index, term);
            loc.writes = writes;
        }
        NativeFile handle = writes.length == 0 ? null : loc.file.acquire();
        return handle == null ? PlacedWrites.NONE : new PlacedWrites(handle, writes, loc.file::release);
    }

    /** The placed WRITE data's positions of a recovered record, from its table (none when it is not placed). */
    private long[] readPlaces(Location loc, long index, long term) {
        try {
            ByteBuffer h = ByteBuffer.allocate(HEADER);
            readFully(loc.file.channel, h, loc.position);
            ByteBuffer head = ByteBuffer.allocate(HEADER + JournalRecordLayout.tableBytes(h));
            readFully(loc.file.channel, head, loc.position);
            head.flip();
            JournalRecordLayout.Header header = JournalRecordLayout.header(head);
            if (header == null || header.index() != index || header.term() != term || head.getInt(0) != JournalRecordLayout.MAGIC_PLACED) {
                return new long[0];
            }
            List<JournalRecordLayout.Place> places = JournalRecordLayout.places(head, header);
            return places == null ? new long[0]
                    : new JournalRecordLayout.Layout(places, 0, 0).writePositions(loc.position);
        } catch (IOException | RuntimeException e) {
            LOG.debug("journal {}: no placed data of entry {}: {}", dir, index, e.toString());
            return new long[0];
        }
    }

    /** Entries held (for tests and status). */
    int entries() {
        return records.size();
    }

    /** Files in use (for tests). */
    int files() {
        CompletableFuture<Integer> n = new CompletableFuture<>();
        submit(() -> n.complete(files.size()));
        return n.join();
    }

    @Override
    public void close() {
        closed = true;
        writer.shutdown();
        try {
            writer.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (JournalFile f : files) {
            try {
                f.close();
            } catch (IOException e) {
                LOG.warn("journal {}: closing {}: {}", dir, f.path, e.toString());
            }
        }
    }

    // ---- helpers ---------------------------------------------------------------------------

    private static void readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) {
            int n = ch.read(b, pos);
            if (n < 0) {
                throw new IOException("unexpected end of file at " + pos);
            }
            pos += n;
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) {
            pos += ch.write(b, pos);
        }
    }
}
