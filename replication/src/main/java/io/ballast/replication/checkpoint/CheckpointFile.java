package io.ballast.replication.checkpoint;

import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotInfo;
import org.apache.ratis.statemachine.SnapshotRetentionPolicy;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.impl.FileListSnapshotInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The small part of a volume snapshot that is not the (checkpointed) block store itself: which
 * (term, index) the store covers, the writer epoch applied by then, and the volume name. One file
 * {@code snapshot.<term>_<index>} in the Ratis state machine directory, written atomically
 * (temp file, fsync, rename, directory fsync).
 *
 * <pre>
 *  0        4     5        8         16        24        32         36
 *  +--------+-----+--------+---------+---------+---------+----------+--------+---------+
 *  | magic  | ver | zero   | term    | index   | epoch   | nameLen  | name   | crc32c  |
 *  +--------+-----+--------+---------+---------+---------+----------+--------+---------+
 * </pre>
 */
public record CheckpointFile(TermIndex termIndex, long epoch, String name) {
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointFile.class);
    static final int MAGIC = 0x42414C53; // "BALS"
    static final Pattern FILE_NAME = Pattern.compile("snapshot\\.(\\d+)_(\\d+)");

    ByteBuffer encode() {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(36 + n.length + 4);
        b.putInt(MAGIC).put((byte) 1).put(new byte[3]).putLong(termIndex.getTerm()).putLong(termIndex.getIndex())
                .putLong(epoch).putInt(n.length).put(n);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        return b.putInt((int) crc.getValue()).flip();
    }

    static CheckpointFile decode(ByteBuffer b) throws IOException {
        if (b.remaining() < 40 || b.getInt(0) != MAGIC || b.get(4) != 1) {
            throw new IOException("not a Ballast volume snapshot file");
        }
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.limit() - 4);
        if ((int) crc.getValue() != b.getInt(b.limit() - 4)) {
            throw new IOException("snapshot file fails its CRC32C");
        }
        b.position(8);
        long term = b.getLong();
        long index = b.getLong();
        long epoch = b.getLong();
        int len = b.getInt();
        if (len < 0 || len != b.remaining() - 4) {
            throw new IOException("snapshot file: bad name length " + len);
        }
        byte[] n = new byte[len];
        b.get(n);
        return new CheckpointFile(TermIndex.valueOf(term, index), epoch, new String(n, StandardCharsets.UTF_8));
    }

    /** The state machine storage: snapshot files in the group's Ratis state machine directory. */
    public static final class Storage implements StateMachineStorage {
        private volatile Path dir;
        private final AtomicReference<CheckpointFile> latest = new AtomicReference<>();
        /**
         * {@link #getLatestSnapshot()}'s answer for the latest file: Ratis asks for it on every
         * appendEntries a follower receives (its consistency check) and after every checkpoint, and a
         * new FileInfo stats the file each time (three stat calls per log entry on a follower).
         */
        private volatile Answer answer;

        private record Answer(CheckpointFile file, SnapshotInfo info) {}

        @Override
        public void init(RaftStorage raftStorage) {
            initAt(raftStorage.getStorageDir().getStateMachineDir().toPath());
        }

        /** {@link #init} for a state machine directory given directly. */
        void initAt(Path stateMachineDir) {
            dir = stateMachineDir;
            reload();
        }

        /** Re-reads the directory; the newest readable snapshot, or null. */
        public CheckpointFile reload() {
            CheckpointFile best = null;
            for (Path p : files()) {
                try {
                    CheckpointFile s = decode(ByteBuffer.wrap(Files.readAllBytes(p)));
                    if (best == null || s.termIndex().getIndex() > best.termIndex().getIndex()) {
                        best = s;
                    }
                } catch (IOException e) {
                    LOG.warn("ignoring unreadable snapshot file {}: {}", p, e.toString());
                }
            }
            latest.set(best);
            return best;
        }

        public CheckpointFile latest() {
            return latest.get();
        }

        public void write(CheckpointFile s) throws IOException {
            String fileName = "snapshot." + s.termIndex().getTerm() + "_" + s.termIndex().getIndex();
            Path tmp = dir.resolve(fileName + ".tmp");
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer b = s.encode();
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            }
            Files.move(tmp, dir.resolve(fileName), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true);
            }
            latest.accumulateAndGet(s, (a, b) -> a == null || b.termIndex().getIndex() >= a.termIndex().getIndex() ? b : a);
        }

        private List<Path> files() {
            if (dir == null || !Files.isDirectory(dir)) {
                return List.of();
            }
            try (Stream<Path> s = Files.list(dir)) {
                return new ArrayList<>(s.filter(p -> FILE_NAME.matcher(p.getFileName().toString()).matches()).toList());
            } catch (IOException e) {
                LOG.warn("cannot list {}: {}", dir, e.toString());
                return List.of();
            }
        }

        @Override
        public SnapshotInfo getLatestSnapshot() {
            CheckpointFile s = latest.get();
            if (s == null) {
                return null;
            }
            Answer a = answer;
            if (a != null && a.file() == s) {
                return a.info();
            }
            // The file is complete once it is latest (write() moves it into place first).
            Path p = dir.resolve("snapshot." + s.termIndex().getTerm() + "_" + s.termIndex().getIndex());
            SnapshotInfo info = new FileListSnapshotInfo(List.of(new FileInfo(p, null)), s.termIndex());
            answer = new Answer(s, info);
            return info;
        }

        @Override
        public void format() {}

        @Override
        public void cleanupOldSnapshots(SnapshotRetentionPolicy policy) throws IOException {
            int keep = policy == null ? -1 : policy.getNumSnapshotsRetained();
            if (keep <= 0) {
                return;
            }
            List<Path> all = files();
            all.sort(Comparator.comparingLong(CheckpointFile.Storage::indexOf).reversed());
            for (Path p : all.subList(Math.min(keep, all.size()), all.size())) {
                Files.deleteIfExists(p);
            }
        }

        private static long indexOf(Path p) {
            Matcher m = FILE_NAME.matcher(p.getFileName().toString());
            return m.matches() ? Long.parseLong(m.group(2)) : -1;
        }

        @Override
        public File getSnapshotDir() {
            return dir == null ? null : dir.toFile();
        }
    }
}
