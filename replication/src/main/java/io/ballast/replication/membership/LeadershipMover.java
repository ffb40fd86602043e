package io.ballast.replication.membership;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.replication.ratis.RatisErrors;
import java.io.IOException;
import java.time.Duration;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.proto.RaftProtos.CommitInfoProto;
import org.apache.ratis.protocol.GroupInfoReply;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves a volume group's leadership to a given replica, but only once that replica has caught up.
 *
 * <p><b>Why.</b> Ratis's transfer makes the leader refuse new entries until the target's log
 * matches the leader's last entry (or the transfer times out). Asked for a replica still catching
 * up after a restart, that stalled every write for seconds (issue 19: 4.1 s, over the failover
 * goal). So the mover first watches the target's progress as the leader reports it (its commit
 * index, from the leader's group info) without disturbing writes, and hands over only when the
 * target is within {@link #CATCH_UP_SLACK} entries of the leader: what remains then is one append
 * round, well inside Ratis's short {@link #TRANSFER_TIMEOUT_MS}.
 *
 * <p><b>Errors.</b> FAILED_PRECONDITION naming the lag when the target did not catch up within the
 * wait; UNAVAILABLE when no leader answers; Ratis's own refusal otherwise (unknown target).
 * Blocking; call it off Ratis threads.
 */
public final class LeadershipMover {
    private static final Logger LOG = LoggerFactory.getLogger(LeadershipMover.class);
    /** Entries a target may trail the leader's commit by and still take over at once. */
    static final long CATCH_UP_SLACK = 32;
    /** Ratis's transfer budget once the target is close: the writes' stall is bounded by it. */
    static final int TRANSFER_TIMEOUT_MS = 2000;
    private static final long POLL_MS = 50;

    private final RaftServer.Division division;

    public LeadershipMover(RaftServer.Division division) {
        this.division = division;
    }

    /** Moves leadership to {@code target} (no-op if it leads), waiting up to {@code catchUpWait} for it to catch up. */
    public void moveTo(RaftClient client, String volume, RaftPeerId target, Duration catchUpWait) {
        if (division.getGroup().getPeer(target) == null) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "volume " + volume + ": " + target
                    + " holds no replica of it (members: " + division.getGroup().getPeers() + ")");
        }
        long deadline = System.nanoTime() + catchUpWait.toNanos();
        long lag;
        while (true) {
            RaftPeerId leader = division.getInfo().getLeaderId();
            if (target.equals(leader)) {
                return;
            }
            lag = leader == null ? -1 : lagBehind(client, leader, target);
            if (lag >= 0 && lag <= CATCH_UP_SLACK) {
                break;
            }
            if (System.nanoTime() > deadline) {
                if (lag < 0) {
                    break; // progress unknown (no leader, or it does not list the target): let Ratis decide
                }
                throw new BallastException(ErrorCode.FAILED_PRECONDITION, "volume " + volume + ": replica " + target
                        + " is still " + lag + " log entries behind leader " + leader + " after " + catchUpWait.toSeconds()
                        + " s; leadership stays (moving it now would stall writes until it catches up). Try again later");
            }
            sleep();
        }
        try {
            RaftClientReply r = client.admin().transferLeadership(target, TRANSFER_TIMEOUT_MS);
            BallastException e = RatisErrors.of(r, "transfer leadership of " + volume + " to " + target);
            if (e != null) {
                throw e;
            }
            LOG.info("volume {}: leadership moved to {} (it trailed by {} entries)", volume, target, lag);
        } catch (IOException e) {
            throw RatisErrors.map(e, "transfer leadership of " + volume);
        }
    }

    /** Entries the target's commit index trails the leader's by, as the leader reports them; -1 if unknown. */
    private long lagBehind(RaftClient client, RaftPeerId leader, RaftPeerId target) {
        RaftGroupId group = division.getMemberId().getGroupId();
        try {
            GroupInfoReply info = client.getGroupManagementApi(leader).info(group);
            long leaderCommit = -1;
            long targetCommit = -1;
            for (CommitInfoProto c : info.getCommitInfos()) {
                RaftPeerId id = RaftPeerId.valueOf(c.getServer().getId());
                if (id.equals(leader)) {
                    leaderCommit = c.getCommitIndex();
                } else if (id.equals(target)) {
                    targetCommit = c.getCommitIndex();
                }
            }
            return leaderCommit < 0 || targetCommit < 0 ? -1 : Math.max(0, leaderCommit - targetCommit);
        } catch (IOException | RuntimeException e) {
            LOG.debug("group info of {} from {}: {}", group, leader, e.toString());
            return -1;
        }
    }

    private static void sleep() {
        try {
            Thread.sleep(POLL_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BallastException(ErrorCode.UNAVAILABLE, "interrupted while waiting for a replica to catch up", e);
        }
    }
}
