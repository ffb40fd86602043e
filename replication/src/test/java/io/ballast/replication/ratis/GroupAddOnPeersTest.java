package io.ballast.replication.ratis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.retry.RetryPolicy;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.StateMachine;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.util.TimeDuration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A new group is added on every peer at once, a peer that has it already counts, and a peer that fails is named. */
class GroupAddOnPeersTest {
    @TempDir
    Path tmp;
    private final List<RaftServer> servers = new ArrayList<>();

    @AfterEach
    void stop() throws IOException {
        for (RaftServer s : servers) {
            s.close();
        }
    }

    /** Each member's state machine starts only once all three have begun: only adds running side by side get past it. */
    @Test
    void addsTheGroupOnEveryPeerAtOnce() throws Exception {
        Rendezvous starting = new Rendezvous(3);
        RaftGroup group = group(3, () -> new BaseStateMachine() {
            @Override
            public void initialize(RaftServer server, RaftGroupId gid, RaftStorage storage) throws IOException {
                super.initialize(server, gid, storage);
                starting.arrive();
            }
        });

        // No retry: one after another, the first add would wait on the latch past the client's
        // request timeout and fail (with retries it would pass, slowly, on the later "already exists").
        try (RaftClient client = client(group, RetryPolicies.noRetry())) {
            GroupAddOnPeers.add(client, group, "v1");
        }

        assertEquals(3, starting.together(), "the three members started together");
        assertHostedEverywhere(group);
    }

    @Test
    void aPeerThatHasTheGroupAlreadyCountsAsAdded() throws Exception {
        RaftGroup group = group(3, BaseStateMachine::new);
        try (RaftClient client = client(group)) {
            GroupAddOnPeers.add(client, group, "v1");
            GroupAddOnPeers.add(client, group, "v1");
        }
        assertHostedEverywhere(group);
    }

    @Test
    void aPeerThatCannotBeReachedFailsTheAddByName() throws Exception {
        RaftGroup live = group(2, BaseStateMachine::new);
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        List<RaftPeer> peers = new ArrayList<>(live.getPeers());
        peers.add(RaftPeer.newBuilder().setId("n9").setAddress("127.0.0.1:" + closedPort).build());
        RaftGroup group = RaftGroup.valueOf(live.getGroupId(), peers);

        BallastException e;
        try (RaftClient client = client(group)) {
            e = assertThrows(BallastException.class, () -> GroupAddOnPeers.add(client, group, "v1"));
        }

        assertEquals(ErrorCode.UNAVAILABLE, e.code(), e.getMessage());
        assertTrue(e.getMessage().contains("on n9"), e.getMessage());
        for (RaftServer s : servers) {
            assertTrue(hosts(s, group), "the reachable " + s.getId() + " has the group");
        }
    }

    /** A new group of {@code n} started servers, none of which has it yet. */
    private RaftGroup group(int n, Supplier<? extends StateMachine> machines) throws IOException {
        List<RaftPeer> peers = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            RaftServer s = TestRaftServer.start("n" + i, tmp.resolve("n" + i), p -> { }, machines);
            servers.add(s);
            peers.add(TestRaftServer.peer(s));
        }
        return RaftGroup.valueOf(RaftGroupId.randomId(), peers);
    }

    /** Few, quick retries: a refused connection fails within a second. */
    private static RaftClient client(RaftGroup group) {
        return client(group, RetryPolicies.retryUpToMaximumCountWithFixedSleep(3, TimeDuration.valueOf(100, TimeUnit.MILLISECONDS)));
    }

    private static RaftClient client(RaftGroup group, RetryPolicy retries) {
        return RaftClient.newBuilder().setProperties(new RaftProperties()).setRaftGroup(group).setRetryPolicy(retries).build();
    }

    private static boolean hosts(RaftServer s, RaftGroup group) throws IOException {
        for (RaftGroupId gid : s.getGroupIds()) {
            if (gid.equals(group.getGroupId())) {
                return true;
            }
        }
        return false;
    }

    private void assertHostedEverywhere(RaftGroup group) throws IOException {
        for (RaftServer s : servers) {
            assertTrue(hosts(s, group), s.getId() + " has the group");
        }
    }
}
