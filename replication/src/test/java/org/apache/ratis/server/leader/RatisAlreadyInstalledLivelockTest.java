package org.apache.ratis.server.leader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;
import java.util.Map;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.raftlog.RaftLog;
import org.apache.ratis.statemachine.SnapshotInfo;
import org.apache.ratis.statemachine.StateMachine;
import org.junit.jupiter.api.Test;

/**
 * Pins down, deterministically, the Ratis 3.3.0 livelock of issue 14 (unchanged on Ratis master),
 * so that an upgrade that changes it is noticed. Ratis's own decision code runs here: the default
 * methods of {@link LogAppender}; what they read (the follower's indexes, the leader's log start,
 * its latest snapshot) is given by small stand-ins.
 *
 * <p>The condition: a follower's snapshot is at index S, its log holds nothing after S, and the
 * leader's log starts at S+1 (its older segments purged) while the leader's own latest snapshot is
 * not at S. The leader cannot name the entry before S+1 ({@code getPrevious} is null), so it
 * notifies the follower to install a snapshot from S+1; the follower answers ALREADY_INSTALLED at S
 * (its snapshot index + 1 reaches the first available index), which sets its nextIndex back to S+1;
 * and the leader decides to notify again, for ever. Appending entries S+1.. without a previous
 * entry would be correct here (Ratis's own {@code newAppendEntriesRequest} allows it when nextIndex
 * is the follower's snapshot index + 1), but {@code shouldInstallSnapshot} does not make that
 * exception. Upstream-ready fix: in {@code shouldInstallSnapshot(boolean)}, return false for
 * {@code followerNextIndex == follower.getSnapshotIndex() + 1} when the previous entry is missing.
 *
 * <p>Ballast avoids the common way into it (no snapshot when a server stops, RaftServerSettings)
 * and its StuckLogWatchdog gets a follower out (division restart, then a new leader term).
 */
class RatisAlreadyInstalledLivelockTest {
    private static final long S = 5119;

    @SuppressWarnings("unchecked")
    private static <T> T stub(Class<T> type, Map<String, Object> answers) {
        InvocationHandler h = (proxy, method, args) -> {
            if (answers.containsKey(method.getName())) {
                return answers.get(method.getName());
            }
            if (method.isDefault()) {
                return InvocationHandler.invokeDefault(proxy, method, args);
            }
            throw new UnsupportedOperationException(type.getSimpleName() + "." + method.getName());
        };
        return (T) Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, h);
    }

    /** The leader's appender for a follower whose nextIndex and snapshot index are as given. */
    private static LogAppender appender(long followerNext, long followerSnapshot, long leaderStart, long leaderNext,
            long leaderSnapshot) {
        TermIndex leaderSnapshotAt = TermIndex.valueOf(3, leaderSnapshot);
        RaftLog log = stub(RaftLog.class, Map.of("getStartIndex", leaderStart, "getNextIndex", leaderNext));
        RaftLog leaderLog = (RaftLog) Proxy.newProxyInstance(RaftLog.class.getClassLoader(), new Class<?>[] {RaftLog.class},
                (proxy, method, args) -> switch (method.getName()) {
                    // the leader's log holds [leaderStart, leaderNext)
                    case "getTermIndex" -> (long) args[0] >= leaderStart && (long) args[0] < leaderNext
                            ? TermIndex.valueOf(3, (long) args[0]) : null;
                    default -> method.invoke(log, args);
                });
        SnapshotInfo snapshot = stub(SnapshotInfo.class, Map.of("getTermIndex", leaderSnapshotAt));
        StateMachine sm = stub(StateMachine.class, Map.of("getLatestSnapshot", snapshot));
        RaftServer.Division server = stub(RaftServer.Division.class, Map.of("getRaftLog", leaderLog, "getStateMachine", sm));
        FollowerInfo follower = stub(FollowerInfo.class, Map.of("getNextIndex", followerNext, "getSnapshotIndex", followerSnapshot));
        LeaderState leader = stub(LeaderState.class, Map.of("isFollowerBootstrapping", false));
        return stub(LogAppender.class, Map.of("getServer", server, "getFollower", follower, "getLeaderState", leader));
    }

    /** The follower's rule (SnapshotInstallationHandler): already installed when snapshot + 1 reaches the first available index. */
    private static boolean followerAnswersAlreadyInstalled(long followerSnapshot, TermIndex firstAvailable) {
        return followerSnapshot + 1 >= firstAvailable.getIndex();
    }

    @Test
    void aFollowerWhoseSnapshotEndsJustBelowTheLeadersLogIsNotifiedForEver() {
        long leaderStart = S + 1;
        long leaderNext = S + 3000;
        long leaderSnapshot = S + 2048; // the leader's own latest snapshot is elsewhere
        // First round: the follower's nextIndex is S+1 (it reported its log up to S).
        TermIndex notify = appender(S + 1, 0, leaderStart, leaderNext, leaderSnapshot).shouldNotifyToInstallSnapshot();
        assertNotNull(notify, "the leader cannot name entry S, so it notifies an install");
        assertEquals(leaderStart, notify.getIndex());
        for (int round = 0; round < 3; round++) {
            assertEquals(true, followerAnswersAlreadyInstalled(S, notify), "the follower answers ALREADY_INSTALLED at S");
            // The leader applies the reply: setSnapshotIndex(S) makes nextIndex S+1 again.
            notify = appender(S + 1, S, leaderStart, leaderNext, leaderSnapshot).shouldNotifyToInstallSnapshot();
            assertNotNull(notify, "round " + round + ": the leader notifies again (the livelock)");
        }
    }

    @Test
    void noLivelockWhenTheLeaderCanNameThePreviousEntry() {
        // The leader's log still holds S, or its snapshot is at S: it appends from S+1 instead.
        assertNull(appender(S + 1, S, S - 100, S + 3000, S + 2048).shouldNotifyToInstallSnapshot());
        assertNull(appender(S + 1, S, S + 1, S + 3000, S).shouldNotifyToInstallSnapshot());
    }
}
