package io.ballast.tests.harness;

import io.ballast.proto.v1.GetVolumeRequest;
import io.ballast.proto.v1.NodeAdminGrpc;
import io.ballast.proto.v1.ReplicaStatus;
import io.ballast.proto.v1.TransferLeadershipRequest;
import io.ballast.replication.testing.Await;
import java.util.ArrayList;
import java.util.List;

/**
 * The verbs every cluster of real {@code ballast node} processes offers a test, wherever its nodes
 * run (loopback: {@link ReplicatedCluster}; one network namespace each:
 * {@link io.ballast.tests.net.LabCluster LabCluster}): a node to kill -9 and restart, its admin API,
 * a replica's view of a volume, and the waits a fault test needs. Node {@code i} is {@code n<i+1>}.
 * The in-process cluster of replication's tests ({@code TestCluster}) has the same verbs on
 * {@code RaftNode}s; it cannot kill -9.
 */
public interface NodeCluster extends AutoCloseable {
    int size();

    /** Node {@code i}'s process: {@code kill9()}, {@code start()}, {@code stopCleanly()}, its log. */
    BallastNodeProcess node(int i);

    /** A blocking stub of node {@code i}'s admin API, with a deadline. */
    NodeAdminGrpc.NodeAdminBlockingStub adminStub(int i);

    /** Node {@code i}'s id. */
    default String nodeName(int i) {
        return "n" + (i + 1);
    }

    /** Node {@code i}'s own view of its replica of {@code volume} (role, commit and applied index). */
    default ReplicaStatus replica(String volume, int i) {
        return adminStub(i).getVolume(GetVolumeRequest.newBuilder().setName(volume).build()).getVolume().getReplicaStatus(0);
    }

    /**
     * Waits until every replica of {@code volume} applied the highest commit index any of them
     * reports, and returns it. The highest is the leader's: a follower learns it a heartbeat later,
     * so waiting for one follower's commit index alone can stop short of the last writes.
     */
    default long awaitConverged(String volume, int seconds) {
        return awaitConverged(volume, seconds, java.util.stream.IntStream.range(0, size()).toArray());
    }

    /** As {@link #awaitConverged(String, int)}, for the replicas on {@code nodes} (those holding one). */
    default long awaitConverged(String volume, int seconds, int... nodes) {
        long[] converged = {-1};
        List<String> last = new ArrayList<>();
        try {
            Await.await(() -> {
                last.clear();
                List<ReplicaStatus> all = new ArrayList<>();
                for (int i : nodes) {
                    ReplicaStatus s = replica(volume, i);
                    all.add(s);
                    last.add(s.getNodeId() + " " + s.getRole() + " commit " + s.getCommitIndex() + " applied "
                            + s.getAppliedIndex());
                }
                long commit = all.stream().mapToLong(ReplicaStatus::getCommitIndex).max().orElse(0);
                converged[0] = commit;
                return all.stream().allMatch(s -> s.getAppliedIndex() >= commit);
            }, seconds, "every replica of " + volume + " applied the highest commit index any reports");
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; the replicas last said " + last, e);
        }
        return converged[0];
    }

    /** Waits until node {@code i}'s replica of {@code volume} applied {@code index}. */
    default void awaitApplied(String volume, int i, long index, int seconds) {
        Await.await(() -> replica(volume, i).getAppliedIndex() >= index, seconds,
                nodeName(i) + " applies " + volume + " up to index " + index);
    }

    /** Makes node {@code i} the leader of {@code volume}'s group (asked again while elections settle). */
    default void moveLeadershipTo(String volume, int i, int seconds) {
        if (!tryMoveLeadershipTo(volume, i, seconds)) {
            throw new AssertionError(nodeName(i) + " did not become the leader of " + volume + " within " + seconds + " s");
        }
    }

    /** As {@link #moveLeadershipTo}, for a test that goes on either way: false when it did not happen. */
    default boolean tryMoveLeadershipTo(String volume, int i, int seconds) {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            try {
                if (replica(volume, i).getRole().equals("LEADER")) {
                    return true;
                }
                adminStub(i).transferLeadership(TransferLeadershipRequest.newBuilder().setName(volume)
                        .setTargetNodeId(nodeName(i)).build());
            } catch (RuntimeException e) {
                // an election or a restart in progress: ask again
            }
            Await.pause(200);
        }
        return false;
    }

    @Override
    void close();
}
