package io.ballast.engine.keeper;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The descriptor keeper over its real socket, in this process: what it keeps is the same open file
 * (shared offset), names and notes come back, bad requests change nothing. A second test starts the
 * keeper as its own process, as a node does.
 */
class FdKeeperTest {
    @TempDir
    Path dir;
    private FdKeeper keeper;
    private Path socket;

    @BeforeEach
    void start() {
        socket = dir.resolve("run/fd-keeper.sock");
        keeper = FdKeeper.bind(socket, Duration.ZERO);
        Thread.ofPlatform().daemon().start(keeper::serve);
    }

    @AfterEach
    void stop() {
        keeper.close();
    }

    /** This process's descriptor number of an open file (from /proc/self/fd). */
    private static int fdOf(Path file) throws IOException {
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path p : fds.toList()) {
                try {
                    if (Files.readSymbolicLink(p).equals(file)) {
                        return Integer.parseInt(p.getFileName().toString());
                    }
                } catch (IOException gone) {
                    // the listing's own descriptor
                }
            }
        }
        throw new IllegalStateException(file + " is not open");
    }

    private static long offsetOf(int fd) throws IOException {
        return Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd)).stream().filter(l -> l.startsWith("pos:"))
                .map(l -> Long.parseLong(l.substring(4).strip())).findFirst().orElseThrow();
    }

    @Test
    void keepsTheSameOpenFileUntilDropped() throws IOException {
        Path file = dir.resolve("data");
        FdKeeperClient client = new FdKeeperClient(socket, false);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.write(new byte[] {1, 2, 3, 4, 5});
            client.keep("vol-a", fdOf(file), "7,45,note");
        } // our descriptor is closed now: only the keeper's copy holds the file open
        assertEquals(List.of("vol-a"), client.names());

        Optional<FdKeeperClient.Kept> back = client.take("vol-a");
        assertTrue(back.isPresent());
        assertEquals("7,45,note", back.get().note());
        int fd = back.get().fd();
        assertEquals(file, Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)));
        assertEquals(5, offsetOf(fd), "the copy shares the open file's offset: the same open file, not a reopen");
        assertEquals(0, ProcessFds.close(fd));

        assertEquals(Optional.of(ProcessFds.pid()), client.pid());
        client.drop("vol-a");
        client.drop("vol-a"); // idempotent
        assertEquals(List.of(), client.names());
        assertTrue(client.take("vol-a").isEmpty());
    }

    @Test
    void badRequestsAreRefusedAndChangeNothing() throws IOException {
        Path file = dir.resolve("data");
        Files.write(file, new byte[1]);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            FdKeeperClient client = new FdKeeperClient(socket, false);
            client.keep("vol-a", fdOf(file), "");
            for (String bad : List.of("", "KEEP", "KEEP a 1", "KEEP ../etc 1 2", "KEEP a notanumber 3", "KEEP a 1 -4",
                    "KEEP a 1 2 note extra", "GET", "GET a b", "DROP", "FOO bar", "keep a 1 2")) {
                assertTrue(keeper.handle(bad).startsWith("ERR "), "'" + bad + "' -> " + keeper.handle(bad));
            }
            String noSuchFd = keeper.handle("KEEP vol-b " + ProcessFds.pid() + " 999999");
            assertTrue(noSuchFd.startsWith("ERR ") && noSuchFd.contains("pidfd_getfd"), noSuchFd);
            String noSuchProcess = keeper.handle("KEEP vol-b 2147483647 3");
            assertTrue(noSuchProcess.startsWith("ERR "), noSuchProcess);
            assertEquals(List.of("vol-a"), client.names(), "refused requests keep nothing and drop nothing");
            assertEquals("NONE", keeper.handle("GET vol-b"));
        }
    }

    @Test
    void withoutAKeeperTakeFindsNothingAndKeepSaysWhy() {
        keeper.close();
        assertFalse(Files.exists(socket), "a closed keeper removes its socket");
        FdKeeperClient client = new FdKeeperClient(socket, false);
        assertTrue(client.take("vol-a").isEmpty());
        assertEquals(List.of(), client.names());
        BallastException e = assertThrows(BallastException.class, () -> client.keep("vol-a", 0, ""));
        assertEquals(ErrorCode.UNAVAILABLE, e.code());
        assertTrue(e.getMessage().contains(socket.toString()), e.getMessage());
    }

    @Test
    void aNodeStartsAKeeperProcessThatOutlivesItsDescriptor() throws Exception {
        keeper.close();
        Path file = dir.resolve("data");
        FdKeeperClient client = new FdKeeperClient(socket, true);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.write(new byte[] {9, 9, 9});
            try {
                client.keep("vol-a", fdOf(file), "");
            } catch (BallastException e) {
                org.junit.jupiter.api.Assumptions.assumeTrue(e.code() != ErrorCode.FAILED_PRECONDITION,
                        "needs ptrace permission over this process (root, or no Yama restriction): " + e.getMessage());
                throw e;
            }
        }
        long pid = client.pid().orElseThrow();
        try {
            assertNotEquals(ProcessFds.pid(), pid, "the keeper is a process of its own");
            assertEquals(Long.toString(pid), Files.readString(FdKeeper.pidFile(socket)).strip());
            FdKeeperClient.Kept back = client.take("vol-a").orElseThrow();
            assertEquals(3, offsetOf(back.fd()), "the keeper process held the file open after we closed it");
            ProcessFds.close(back.fd());
            client.drop("vol-a");
        } finally {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy);
        }
    }
}
