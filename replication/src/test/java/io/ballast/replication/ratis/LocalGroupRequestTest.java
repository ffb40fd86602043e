package io.ballast.replication.ratis;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A group removed from the node's own server in process is answered once the division is closed
 * and its directory gone, however long the close takes; the same group can be added again at once.
 * Through a client with a request timeout shorter than the close, the removal was sent again and
 * answered "group not found" while the first one still ran (a unit test's failure in CI).
 */
class LocalGroupRequestTest {
    private static final long CLOSE_MILLIS = 4000; // longer than a client's request timeout of 3 s

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
    void aSlowRemovalIsAnsweredWhenDoneAndTheGroupCanComeBackAtOnce() throws Exception {
        AtomicBoolean slow = new AtomicBoolean(true);
        AtomicBoolean closed = new AtomicBoolean();
        server = TestRaftServer.start(tmp.resolve("storage"), p -> { }, () -> new BaseStateMachine() {
            @Override
            public void close() throws IOException {
                if (slow.get()) {
                    try {
                        Thread.sleep(CLOSE_MILLIS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    closed.set(true);
                }
                super.close();
            }
        });
        RaftGroup group = TestRaftServer.oneMemberGroup(server);
        RaftGroupId gid = group.getGroupId();
        assertTrue(LocalGroupRequest.add(server, group, true).isSuccess());
        Path dir = tmp.resolve("storage").resolve(gid.getUuid().toString());
        assertTrue(Files.isDirectory(dir), "the group's directory " + dir);

        long start = System.nanoTime();
        assertTrue(LocalGroupRequest.remove(server, gid, true).isSuccess());
        long tookMillis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(closed.get(), "answered after the state machine closed (" + tookMillis + " ms)");
        assertFalse(Files.exists(dir), "answered after the directory was deleted");

        slow.set(false);
        assertTrue(LocalGroupRequest.add(server, group, true).isSuccess(), "added again at once");
        assertTrue(Files.isDirectory(dir), "a fresh directory");
        assertTrue(server.getDivision(gid).getInfo().isAlive(), "the division runs again");
    }
}
