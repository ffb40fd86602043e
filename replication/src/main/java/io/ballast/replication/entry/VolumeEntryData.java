package io.ballast.replication.entry;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.statemachine.StateMachine;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;

/**
 * Large volume writes as Ratis stateMachineData: an OPS entry of at least {@link #MIN_BYTES}
 * travels to the followers with the entry but is stored in the replica's {@link EntryDataJournal},
 * while the Raft log keeps only a reference as the entry's logData ({@link #referenceBytes}). Smaller
 * entries stay in the log.
 *
 * <p><b>Why only large ones</b> (measured, docs/benchmarks.md): the journal writes each byte once,
 * with O_DIRECT and the hardware CRC, where Ratis's log fills new page-cache pages twice, so 1 MiB
 * sequential writes ran up to 2x faster with 3 replicas. But each entry then waits for its journal
 * write before its log write, on every replica: 4 KiB writes at QD1 lost 0.7-1 ms per write and
 * QD32 random writes up to a third of their rate. Above ~256 KiB the bytes cost more than the wait.
 *
 * <p><b>Why the reference is a 32nd of the data</b> (at least 32 KiB) and not 8 bytes: Ratis
 * purges whole segments, and the journal keeps the data of every entry the log still holds, so a
 * segment's worth of entries is the journal's purge granularity. With tiny references a segment
 * would hold ~100k entries and stay open, so nothing would be purged while only large writes
 * came. Fixed 32 KiB references let a 4 MiB segment stand for 128 entries, up to 512 MiB of
 * data, twice a small volume's whole log budget ({@link io.ballast.replication.checkpoint.LogBudget LogBudget}): a benchmark's 1 GiB volume
 * kept 394 MiB. A 32nd bounds a segment to 32x its size in data (a 2 MiB segment: 64 MiB), for
 * a log write of 3 % of a large entry's bytes, which Ratis writes twice (it zero-fills segments
 * before writing over them). It was an eighth with 8 MiB segments: now that the store shares large
 * writes' blocks with the journal, the log's copy was a quarter of what a replica wrote beyond the
 * data itself, and the smaller one won every round of an A/B (docs/benchmarks.md).
 *
 * <p>Ratis calls {@link #write} on every replica as it appends an entry (and, with the sync policy,
 * waits for it before writing the log entry), {@link #read} when the leader sends an entry its
 * cache no longer holds, {@link #truncate} with the log. Recent entries' data is also kept in
 * memory (up to {@link #CACHE_BYTES}, oldest dropped first), so apply and the leader's appenders
 * rarely read the journal; after a restart, replay reads it.
 */
public final class VolumeEntryData implements StateMachine.DataApi {
    static final int REF_MAGIC = 0x42414C44; // "BALD"
    static final int REF_BYTES = 32 << 10;
    /** A reference is at least {@link #REF_BYTES} and this fraction of its data (see the class comment). */
    public static final int REF_FRACTION = 32;
    /** Entries of at least this many encoded bytes go to the journal. */
    static final int MIN_BYTES = 256 << 10;
    static final long CACHE_BYTES = 32L << 20;

    private record Cached(long term, ByteString data) {
    }

    private final ConcurrentSkipListMap<Long, Cached> cache = new ConcurrentSkipListMap<>();
    private final AtomicLong cachedBytes = new AtomicLong();
    private final AtomicLong journalReads = new AtomicLong();
    private volatile EntryDataJournal journal;

    /** Whether an entry of these encoded bytes goes to the journal. */
    public static boolean journaled(ByteString encoded) {
        return encoded.size() >= MIN_BYTES;
    }

    /** The logData that stands for {@code data} in the Raft log: magic, length, zero padding. */
    public static ByteString reference(ByteString data) {
        ByteBuffer b = ByteBuffer.allocate(referenceBytes(data.size())).putInt(REF_MAGIC).putInt(data.size()).clear();
        return UnsafeByteOperations.unsafeWrap(b);
    }

    /** Whether an entry's logData is a {@link #reference} (its data is stateMachineData). */
    public static boolean isReference(ByteString logData) {
        return logData.size() >= REF_BYTES && logData.asReadOnlyByteBuffer().getInt() == REF_MAGIC;
    }

    /** The size of the reference standing for {@code dataBytes}: an eighth, at least 32 KiB, in 4 KiB units. */
    static int referenceBytes(int dataBytes) {
        return Math.max(REF_BYTES, (dataBytes / REF_FRACTION + 4095) & -4096);
    }

    public void open(Path dir, long fileSize, LongSupplier releaseBelow, String name) throws IOException {
        journal = new EntryDataJournal(dir, fileSize, releaseBelow, name);
    }

    private EntryDataJournal journal() {
        EntryDataJournal j = journal;
        if (j == null) {
            throw new BallastException(ErrorCode.UNAVAILABLE, "entry journal not open");
        }
        return j;
    }

    /** The data an entry whose logData is a reference stands for. */
    public ByteString dataOf(LogEntryProto entry) {
        ByteString data = entry.getStateMachineLogEntry().getStateMachineEntry().getStateMachineData();
        if (data.isEmpty()) {
            Cached c = cache.get(entry.getIndex());
            if (c != null && c.term() == entry.getTerm()) {
                data = c.data();
            } else {
                journalReads.incrementAndGet();
                data = journal().read(entry.getIndex(), entry.getTerm());
            }
        }
        int expected = entry.getStateMachineLogEntry().getLogData().asReadOnlyByteBuffer().getInt(4);
        if (data.size() != expected) {
            throw new BallastException(ErrorCode.CORRUPTION, "entry " + entry.getIndex() + ": data of " + data.size()
                    + " bytes where the log says " + expected);
        }
        return data;
    }

    /**
     * Where the journal holds the large WRITE data of an entry whose logData is a reference, for the
     * store to share instead of writing again; {@link PlacedWrites#NONE} for any other entry. The
     * caller closes it after the apply.
     */
    public PlacedWrites placed(LogEntryProto entry) {
        EntryDataJournal j = journal;
        if (j == null || !entry.hasStateMachineLogEntry() || !isReference(entry.getStateMachineLogEntry().getLogData())) {
            return PlacedWrites.NONE;
        }
        return j.placed(entry.getIndex(), entry.getTerm());
    }

    @Override
    public CompletableFuture<?> write(LogEntryProto entry, TransactionContext trx) {
        if (!entry.hasStateMachineLogEntry() || !isReference(entry.getStateMachineLogEntry().getLogData())) {
            return CompletableFuture.completedFuture(null);
        }
        ByteString data = entry.getStateMachineLogEntry().getStateMachineEntry().getStateMachineData();
        Cached replaced = cache.put(entry.getIndex(), new Cached(entry.getTerm(), data));
        long bytes = cachedBytes.addAndGet(data.size() - (replaced == null ? 0 : replaced.data().size()));
        while (bytes > CACHE_BYTES) {
            Map.Entry<Long, Cached> oldest = cache.pollFirstEntry();
            if (oldest == null) {
                break;
            }
            bytes = cachedBytes.addAndGet(-oldest.getValue().data().size());
        }
        try {
            return journal().append(entry.getIndex(), entry.getTerm(), data);
        } catch (BallastException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    @Override
    public CompletableFuture<ByteString> read(LogEntryProto entry, TransactionContext trx) {
        try {
            return CompletableFuture.completedFuture(dataOf(entry));
        } catch (BallastException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** Nothing to do: {@link #write} completes only once the data is durable. */
    @Override
    public CompletableFuture<Void> flush(long index) {
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletableFuture<Void> truncate(long index) {
        Map<Long, Cached> dropped = cache.tailMap(index, false);
        dropped.values().forEach(c -> cachedBytes.addAndGet(-c.data().size()));
        dropped.clear();
        try {
            return journal().truncate(index);
        } catch (BallastException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** Deletes journal files the log no longer needs (in order with the journal's writes). */
    public void releaseDeadFiles() {
        EntryDataJournal j = journal;
        if (j != null) {
            j.releaseDeadFiles();
        }
    }

    /** Null, or since when the journal waits for disk space. */
    public Instant journalFullSince() {
        EntryDataJournal j = journal;
        return j == null ? null : j.fullSince();
    }

    /** Entries whose data had to be read back from the journal (not cached): tests, status. */
    public long journalReads() {
        return journalReads.get();
    }

    /** Entries whose data the journal holds (tests, status). */
    public int journaledEntries() {
        return journal().entries();
    }

    public void close() {
        EntryDataJournal j = journal;
        journal = null;
        if (j != null) {
            j.close();
        }
        cache.clear();
        cachedBytes.set(0);
    }
}
