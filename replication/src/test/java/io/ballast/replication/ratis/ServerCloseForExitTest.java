package io.ballast.replication.ratis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.util.LifeCycle;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server closed for exit is left only once every division has closed (state machine and log),
 * however long that takes within the limit; past the limit the caller goes on without them.
 */
class ServerCloseForExitTest {
    @TempDir
    Path tmp;
    private RaftServer server;

    @AfterEach
    void stop() throws IOException {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void returnsOnlyOnceEveryDivisionHasClosed() throws Exception {
        AtomicInteger closed = new AtomicInteger();
        server = startServer(1500, closed);
        List<RaftGroupId> groups = List.of(addGroup(), addGroup(), addGroup());

        ServerCloseForExit.close(server, Duration.ofSeconds(60));

        assertEquals(groups.size(), closed.get(), "every state machine closed before the return");
        for (RaftGroupId gid : groups) {
            assertEquals(LifeCycle.State.CLOSED, server.getDivision(gid).getInfo().getLifeCycleState(), "division " + gid);
        }
    }

    /** Each close waits for all three to have begun: only closes running side by side get past it. */
    @Test
    void closesTheDivisionsSideBySide() throws Exception {
        Rendezvous closing = new Rendezvous(3);
        server = startServer(closing::arrive);
        addGroup();
        addGroup();
        addGroup();

        ServerCloseForExit.close(server, Duration.ofSeconds(60));

        assertEquals(3, closing.together(), "the three divisions closed at once");
    }

    @Test
    void pastTheLimitTheCallerGoesOn() throws Exception {
        AtomicInteger closed = new AtomicInteger();
        server = startServer(6000, closed);
        RaftGroupId gid = addGroup();

        ServerCloseForExit.close(server, Duration.ofSeconds(1));

        assertEquals(0, closed.get(), "returned at the limit, while the state machine still closed");
        assertFalse(server.getDivision(gid).getInfo().getLifeCycleState() == LifeCycle.State.CLOSED);
    }

    private RaftGroupId addGroup() throws IOException {
        RaftGroup group = TestRaftServer.oneMemberGroup(server);
        assertTrue(LocalGroupRequest.add(server, group, true).isSuccess());
        return group.getGroupId();
    }

    /** A server whose state machines take {@code closeMillis} to close, counting closes in {@code closed}. */
    private RaftServer startServer(long closeMillis, AtomicInteger closed) throws IOException {
        return startServer(() -> {
            try {
                Thread.sleep(closeMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            closed.incrementAndGet();
        });
    }

    /**
     * A server whose state machines run {@code onClose} when they close. Its proxy pool, which
     * Ratis closes divisions on, has one thread: what closes several at once is the caller.
     */
    private RaftServer startServer(Runnable onClose) throws IOException {
        return TestRaftServer.start(tmp.resolve("storage"), p -> {
            RaftServerConfigKeys.ThreadPool.setProxyCached(p, false);
            RaftServerConfigKeys.ThreadPool.setProxySize(p, 1);
        }, () -> new BaseStateMachine() {
            @Override
            public void close() throws IOException {
                onClose.run();
                super.close();
            }
        });
    }
}
