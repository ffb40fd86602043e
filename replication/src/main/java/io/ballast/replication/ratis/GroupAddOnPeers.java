package io.ballast.replication.ratis;

import io.ballast.engine.error.BallastException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.exceptions.AlreadyExistsException;

/**
 * Adds a new group on each of its peers, all at once, each on a virtual thread of its own.
 *
 * <p>Why side by side: a member's election timer starts when the group is added there. The new
 * group's first election comes 50-150 ms later (see
 * {@link io.ballast.replication.config.RaftServerSettings}). Added one peer after another
 * (~30 ms each), the first two could elect a leader before the last had the group. That leader's
 * appends to it then failed with a group-not-found warning and a stack trace in the node's log, and
 * the create waited for the adds in turn. Side by side, the members start within a few
 * milliseconds of each other: the race is narrower, not gone (docs/architecture.md).
 *
 * <p>Idempotent: a peer that already hosts the group counts as added.
 */
public final class GroupAddOnPeers {
    private GroupAddOnPeers() {}

    /**
     * Returns once every peer of {@code group} hosts it. Throws the first peer's failure (in the
     * group's peer order) after all have answered. Peers that succeeded keep the group, as when
     * the adds ran in turn; a retry skips them.
     */
    public static void add(RaftClient client, RaftGroup group, String what) {
        List<Future<BallastException>> answers = new ArrayList<>();
        try (ExecutorService each = Executors.newVirtualThreadPerTaskExecutor()) {
            for (RaftPeer peer : group.getPeers()) {
                answers.add(each.submit(() -> addOn(client, group, peer, what)));
            }
        } // close() waits for every add
        for (Future<BallastException> answer : answers) {
            BallastException failure;
            try {
                failure = answer.get();
            } catch (ExecutionException e) {
                throw RatisErrors.map(e.getCause(), "add group of " + what);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw RatisErrors.map(e, "add group of " + what);
            }
            if (failure != null) {
                throw failure;
            }
        }
    }

    /** Null when {@code peer} hosts the group now; its refusal otherwise. */
    private static BallastException addOn(RaftClient client, RaftGroup group, RaftPeer peer, String what) {
        try {
            RaftClientReply r = client.getGroupManagementApi(peer.getId()).add(group);
            return r.isSuccess() || RatisErrors.alreadyExists(r) ? null : RatisErrors.of(r, "add group of " + what + " on " + peer.getId());
        } catch (AlreadyExistsException e) {
            return null;
        } catch (IOException e) {
            return RatisErrors.map(e, "add group of " + what + " on " + peer.getId());
        }
    }
}
