package io.ballast.replication;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.LocalBlockStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;

/**
 * Rebuilds a replica by copying every block from the leader (a new or wiped follower whose next
 * log entry the leader has purged). Memory is bounded: one {@link #CHUNK} at a time.
 *
 * <p><b>Why a copy of a live store is correct.</b> It first asks the leader for its applied
 * (term, index) T0 and epoch, then reads the blocks while the leader keeps applying. Every block read
 * reflects at least T0; the follower then reports T0 to Ratis as its snapshot, so the leader resends
 * every entry after T0 and the follower re-applies them in order. Each record sets a byte range to
 * given content (or zeroes), and sizes only grow, so replaying an entry whose effect the copy
 * already holds converges to the same final bytes. If the leader purges past T0 during the copy,
 * it simply asks for another rebuild.
 */
final class SnapshotCopier {
    static final int CHUNK = 1 << 20;

    /** Progress of the current (or last) rebuild of a replica, for status. */
    static final class Progress {
        final AtomicLong bytesDone = new AtomicLong();
        final AtomicLong bytesTotal = new AtomicLong();
    }

    private final RaftClient client;
    private final RaftPeerId source;
    private final Progress progress;

    SnapshotCopier(RaftClient client, RaftPeerId source, Progress progress) {
        this.client = client;
        this.source = source;
        this.progress = progress;
    }

    VolumeLogLayout.Info copy(VolumeStateMachine target) throws IOException {
        VolumeLogLayout.Info info = VolumeLogLayout.Info.decode(query(VolumeLogLayout.queryInfo()));
        LocalBlockStore store = target.openStore(info.name(), info.size());
        if (store.size() < info.size()) {
            store.resize(info.size());
        }
        progress.bytesDone.set(0); // before the total: done == total must only ever mean finished
        progress.bytesTotal.set(info.size());
        ByteBuffer zero = ByteBuffer.allocate(CHUNK);
        for (long off = 0; off < info.size(); off += CHUNK) {
            int len = (int) Math.min(CHUNK, info.size() - off);
            ByteBuffer data = query(VolumeLogLayout.queryRead(off, len));
            if (data.remaining() != len) {
                throw new BallastException(ErrorCode.INTERNAL, "leader returned " + data.remaining() + " of " + len + " bytes");
            }
            if (data.mismatch(zero.duplicate().limit(len)) == -1) {
                store.writeZeroes(off, len, true); // keep the replica as sparse as the source
            } else {
                store.write(off, data);
            }
            progress.bytesDone.addAndGet(len);
        }
        store.checkpoint();
        return info;
    }

    private ByteBuffer query(ByteBuffer request) throws IOException {
        RaftClientReply reply = client.io().sendStaleRead(
                Message.valueOf(UnsafeByteOperations.unsafeWrap(request)), 0, source);
        BallastException e = RatisErrors.of(reply, "rebuild query to " + source);
        if (e != null) {
            throw e;
        }
        return reply.getMessage().getContent().asReadOnlyByteBuffer();
    }
}
