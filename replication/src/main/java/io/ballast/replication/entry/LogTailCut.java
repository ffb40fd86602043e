package io.ballast.replication.entry;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.thirdparty.com.google.protobuf.CodedInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cuts a replica's Raft log, before Ratis loads it, back to before the first entry whose data the
 * entry journal does not hold intact: the state a crash leaves when the log's fsync finished and
 * the journal's, running beside it, did not.
 *
 * <p><b>Why that is safe.</b> Ratis counts an entry as stored on a replica (its own flush index:
 * a follower's reply, the leader's share of a commit) only once the log is fsynced <i>and</i>
 * {@link VolumeEntryData#flush} says the data of every entry up to it is durable, and it commits
 * and applies nothing above its own flush index. So an entry whose data is missing or torn was
 * never acknowledged by this replica, nor was any entry after it in the log: cutting them is the
 * same as having crashed before writing them, and the leader sends them again. Only entries above
 * the replica's last checkpoint are looked at: entries at or below it are applied and never read
 * again (their journal files may already be recycled while the purge had not yet deleted their
 * segments).
 *
 * <p><b>Format read</b> (Ratis 3.3's segmented log, as Ratis writes it): the 8-byte header
 * {@code RaftLog1}, then per entry a varint32 length, the {@link LogEntryProto}, and a big-endian
 * CRC32C of length and entry; zeroes after the last entry of an open segment. Files
 * {@code log_<start>-<end>} (closed) and {@code log_inprogress_<start>} (open, the last). Reading
 * stops at the first entry that does not check out: Ratis's own load drops such a torn tail.
 *
 * <p>The cut itself deletes later segments first (newest first), then shortens the segment that
 * held the first missing entry and renames it for its new end: a crash half-way leaves a log that
 * ends at or after the cut, and the next start cuts again.
 */
public final class LogTailCut {
    private static final Logger LOG = LoggerFactory.getLogger(LogTailCut.class);
    private static final byte[] HEADER = "RaftLog1".getBytes(StandardCharsets.US_ASCII);
    private static final Pattern CLOSED = Pattern.compile("log_(\\d+)-(\\d+)");
    private static final Pattern OPEN = Pattern.compile("log_inprogress_(\\d+)");

    /** Whether the journal holds entry (index, term)'s data intact. */
    @FunctionalInterface
    public interface DataCheck {
        boolean intact(long index, long term);
    }

    private record Segment(Path path, long start, long end, boolean open) {
    }

    private LogTailCut() {
    }

    /**
     * Cuts the log in {@code currentDir} (Ratis's {@code current} directory) before the first entry
     * above {@code appliedIndex} whose logData is a {@link VolumeEntryData#reference} and whose
     * data {@code check} finds missing or torn. Returns the index cut from (that entry's), or -1
     * when every such entry's data is intact.
     */
    public static long cut(Path currentDir, long appliedIndex, DataCheck check) throws IOException {
        List<Segment> segments = segments(currentDir);
        for (int i = 0; i < segments.size(); i++) {
            Segment s = segments.get(i);
            if (!s.open() && s.end() <= appliedIndex) {
                continue;
            }
            long[] found = firstMissing(s, appliedIndex, check); // {index, byte position}
            if (found != null) {
                for (int later = segments.size() - 1; later > i; later--) {
                    Files.delete(segments.get(later).path());
                }
                shorten(s, found[0], found[1]);
                fsyncDirectory(currentDir);
                LOG.warn("{}: entries from {} on lost their journal data in a crash (never acknowledged by this "
                        + "replica): the log is cut there and the leader sends them again", currentDir, found[0]);
                return found[0];
            }
        }
        return -1;
    }

    private static List<Segment> segments(Path dir) throws IOException {
        List<Segment> list = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String name = p.getFileName().toString();
                Matcher closed = CLOSED.matcher(name);
                Matcher open = OPEN.matcher(name);
                if (closed.matches()) {
                    list.add(new Segment(p, Long.parseLong(closed.group(1)), Long.parseLong(closed.group(2)), false));
                } else if (open.matches()) {
                    list.add(new Segment(p, Long.parseLong(open.group(1)), Long.MAX_VALUE, true));
                }
            }
        }
        list.sort(Comparator.comparingLong(Segment::start));
        return list;
    }

    /** {index, position} of the first entry of {@code s} above {@code applied} whose data is not intact; null if none. */
    private static long[] firstMissing(Segment s, long applied, DataCheck check) throws IOException {
        byte[] file = Files.readAllBytes(s.path());
        if (file.length < HEADER.length || !Arrays.equals(file, 0, HEADER.length, HEADER, 0, HEADER.length)) {
            return null; // Ratis decides about a segment without a whole header
        }
        CRC32C crc = new CRC32C();
        int pos = HEADER.length;
        while (pos < file.length && file[pos] != 0) {
            CodedInputStream in = CodedInputStream.newInstance(file, pos, file.length - pos);
            int length;
            try {
                length = in.readRawVarint32();
            } catch (IOException e) {
                return null; // torn length: Ratis drops the rest
            }
            int body = pos + in.getTotalBytesRead();
            if (length < 0 || (long) body + length + 4 > file.length) {
                return null;
            }
            crc.reset();
            crc.update(file, pos, body - pos + length);
            if ((int) crc.getValue() != ByteBuffer.wrap(file, body + length, 4).getInt()) {
                return null; // torn entry: Ratis drops it and what follows
            }
            LogEntryProto entry = LogEntryProto.parseFrom(CodedInputStream.newInstance(file, body, length));
            if (entry.getIndex() > applied && entry.hasStateMachineLogEntry()
                    && VolumeEntryData.isReference(entry.getStateMachineLogEntry().getLogData())
                    && !check.intact(entry.getIndex(), entry.getTerm())) {
                return new long[] {entry.getIndex(), pos};
            }
            pos = body + length + 4;
        }
        return null;
    }

    /** Leaves in {@code s} only the entries before {@code index} (at byte {@code position}). */
    private static void shorten(Segment s, long index, long position) throws IOException {
        if (index == s.start()) {
            Files.delete(s.path());
            return;
        }
        try (FileChannel ch = FileChannel.open(s.path(), StandardOpenOption.WRITE)) {
            ch.truncate(position);
            ch.force(true);
        }
        if (!s.open()) {
            Files.move(s.path(), s.path().resolveSibling("log_" + s.start() + "-" + (index - 1)));
        }
    }

    private static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
