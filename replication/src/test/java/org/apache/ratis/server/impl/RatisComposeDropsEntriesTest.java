package org.apache.ratis.server.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.LongStream;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.junit.jupiter.api.Test;

/**
 * Pins down, deterministically, the Ratis 3.3.0 behaviour behind ReplicatedFailoverIT's stuck
 * follower, so that we notice when an upgrade changes it (this test lives in Ratis's package
 * because the class is package-private; we call it, we do not change it).
 *
 * <p>With {@code raft.server.log.append-entries.compose.enabled} (the default), a follower chains
 * its log appends through {@code NavigableIndices}. A request whose first index equals that of an
 * append still pending is taken as a duplicate and handed the pending append's future, whatever
 * its length. The follower then replies SUCCESS with the <em>longer</em> request's last index as
 * matchIndex, although only the shorter request's entries reach the log. Ballast turns compose
 * off (RaftServerSettings).
 */
class RatisComposeDropsEntriesTest {
    private static List<LogEntryProto> entries(long first, long last) {
        return LongStream.rangeClosed(first, last)
                .mapToObj(i -> LogEntryProto.newBuilder().setTerm(23).setIndex(i).build()).toList();
    }

    @Test
    void aLongerRequestWithTheSameFirstIndexCompletesWithoutItsTailBeingAppended() throws Exception {
        ServerImplUtils.NavigableIndices pending = new ServerImplUtils.NavigableIndices();
        List<Long> appended = new CopyOnWriteArrayList<>();
        CompletableFuture<Void> slowLogWrite = new CompletableFuture<>();
        Function<List<LogEntryProto>, CompletableFuture<Void>> appendLog = es -> {
            es.forEach(e -> appended.add(e.getIndex()));
            return slowLogWrite;
        };

        // The leader sends 13561..13576; the follower's log write is slow (large stateMachineData).
        CompletableFuture<Void> first = pending.append(entries(13561, 13576), appendLog);
        // After an INCONSISTENCY reply the leader resends from 13561, now up to 13581.
        CompletableFuture<Void> second = pending.append(entries(13561, 13581), appendLog);
        slowLogWrite.complete(null);
        first.get(10, TimeUnit.SECONDS);
        second.get(10, TimeUnit.SECONDS); // the follower now answers SUCCESS, matchIndex 13581

        assertEquals(LongStream.rangeClosed(13561, 13576).boxed().toList(), appended,
                "only the first request's entries were given to the log; 13577..13581 were acknowledged, never appended");
    }
}
