package io.ballast.engine.store;

import static io.ballast.engine.store.StoreTesting.B;
import static io.ballast.engine.store.StoreTesting.assertCode;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.ErrorCode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NodeDirectoryTest {
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-01-02T03:04:05.678Z"), ZoneOffset.UTC);

    @TempDir
    Path tmp;

    private Path dir() {
        return tmp.resolve("node");
    }

    /** Every file under {@code root} with its content, to prove a refusal changed nothing. */
    private static Map<String, String> snapshot(Path root) throws Exception {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.toList()) {
                m.put(root.relativize(p).toString(), Files.isRegularFile(p)
                        ? java.util.HexFormat.of().formatHex(Files.readAllBytes(p)) : "dir");
            }
        }
        return m;
    }

    private void assertRefused(String cluster, String node, String... messageParts) throws Exception {
        Map<String, String> before = snapshot(dir());
        var ex = assertCode(ErrorCode.FOREIGN_FORMAT, () -> NodeDirectory.openOrFormat(dir(), cluster, node));
        for (String part : messageParts) {
            assertTrue(ex.getMessage().contains(part), ex.getMessage() + " should mention " + part);
        }
        assertEquals(before, snapshot(dir()), "a refusal modifies nothing");
    }

    @Test
    void formatsThenReopensWithTheSameIdentity() throws Exception {
        try (NodeDirectory nd = NodeDirectory.openOrFormat(dir(), "c1", "n1", CLOCK)) {
            assertEquals(new NodeIdentity("c1", "n1", NodeCookieLayout.FORMAT_VERSION, CLOCK.instant()), nd.identity());
            assertTrue(Files.isRegularFile(dir().resolve(NodeCookieLayout.FILE_NAME)));
            assertCode(ErrorCode.FAILED_PRECONDITION, () -> NodeDirectory.openOrFormat(dir(), "c1", "n1"));
        }
        try (NodeDirectory nd = NodeDirectory.openOrFormat(dir(), "c1", "n1")) {
            assertEquals(CLOCK.instant(), nd.identity().createdAt());
            assertEquals(List.of(), nd.volumeNames());
        }
    }

    @Test
    void refusesAnotherClusterOrNode() throws Exception {
        NodeDirectory.openOrFormat(dir(), "c1", "n1").close();
        assertRefused("c2", "n1", dir().toString(), "'c1'", "'c2'");
        assertRefused("c1", "n2", "'n1'", "'n2'");
    }

    @Test
    void refusesADamagedCookie() throws Exception {
        NodeDirectory.openOrFormat(dir(), "c1", "n1").close();
        StoreTesting.flipByte(dir().resolve(NodeCookieLayout.FILE_NAME), NodeCookieLayout.IDS_OFFSET);
        assertRefused("c1", "n1", "checksum");
        Files.write(dir().resolve(NodeCookieLayout.FILE_NAME), new byte[] {1, 2, 3});
        assertRefused("c1", "n1", "shorter");
        Files.write(dir().resolve(NodeCookieLayout.FILE_NAME), "not a cookie at all, just some text from elsewhere".getBytes());
        assertRefused("c1", "n1", "magic");
    }

    @Test
    void refusesAFutureFormatVersion() throws Exception {
        NodeIdentity future = new NodeIdentity("c1", "n1", NodeCookieLayout.FORMAT_VERSION + 1, Instant.EPOCH);
        Files.createDirectories(dir());
        ByteBuffer cookie = NodeCookieLayout.encode(future).order(ByteOrder.LITTLE_ENDIAN);
        Files.write(dir().resolve(NodeCookieLayout.FILE_NAME), cookie.array());
        assertRefused("c1", "n1", "format version is " + (NodeCookieLayout.FORMAT_VERSION + 1));
    }

    @Test
    void formatsADirectoryHoldingOnlyTheRuntimeAndTlsDirectories() throws Exception {
        // the descriptor keeper's container may create its socket before the node first starts,
        // and in Kubernetes the node gets its certificate (key made in DIR/tls) before it formats
        Files.createDirectories(dir().resolve("run"));
        Files.writeString(dir().resolve("run").resolve("fd-keeper.sock"), "");
        Files.createDirectories(dir().resolve("tls"));
        Files.writeString(dir().resolve("tls").resolve("tls.key"), "");
        try (NodeDirectory nd = NodeDirectory.openOrFormat(dir(), "c1", "n1")) {
            assertEquals("n1", nd.identity().nodeId());
        }
    }

    @Test
    void refusesANonEmptyDirectoryWithoutACookie() throws Exception {
        Files.createDirectories(dir().resolve("lost+found"));
        Files.writeString(dir().resolve("important.db"), "someone else's data");
        assertRefused("c1", "n1", "not empty", "important.db");
        Path file = tmp.resolve("plain-file");
        Files.writeString(file, "x");
        assertCode(ErrorCode.FOREIGN_FORMAT, () -> NodeDirectory.openOrFormat(file, "c1", "n1"));
        assertCode(ErrorCode.INVALID_ARGUMENT, () -> NodeDirectory.openOrFormat(tmp.resolve("x"), "", "n1"));
    }

    @Test
    void createsOpensAndDeletesVolumes() throws Exception {
        try (NodeDirectory nd = NodeDirectory.openOrFormat(dir(), "c1", "n1")) {
            LocalBlockStore a = nd.createVolume("pvc-a.1_x", 16 * B);
            a.write(5, ByteBuffer.wrap(new byte[] {42}));
            nd.createVolume("b", B).close();
            assertEquals(List.of("b", "pvc-a.1_x"), nd.volumeNames());
            assertCode(ErrorCode.ALREADY_EXISTS, () -> nd.createVolume("b", B));
            assertCode(ErrorCode.INVALID_ARGUMENT, () -> nd.createVolume(".hidden", B));
            assertCode(ErrorCode.INVALID_ARGUMENT, () -> nd.createVolume("a/b", B));
            assertCode(ErrorCode.INVALID_ARGUMENT, () -> nd.createVolume("x".repeat(129), B));
            assertCode(ErrorCode.OUT_OF_RANGE, () -> nd.createVolume("c", 0));
            assertCode(ErrorCode.OUT_OF_RANGE, () -> nd.createVolume("c", B + 1));
            assertCode(ErrorCode.NOT_FOUND, () -> nd.openVolume("c"));
            assertCode(ErrorCode.FAILED_PRECONDITION, () -> nd.openVolume("pvc-a.1_x"));
            assertCode(ErrorCode.FAILED_PRECONDITION, () -> nd.deleteVolume("pvc-a.1_x"));
            a.close();
            try (LocalBlockStore again = nd.openVolume("pvc-a.1_x")) {
                byte[] one = new byte[1];
                again.read(5, ByteBuffer.wrap(one));
                assertArrayEquals(new byte[] {42}, one);
            }
            nd.deleteVolume("b");
            nd.deleteVolume("b"); // idempotent
            assertEquals(List.of("pvc-a.1_x"), nd.volumeNames());
            nd.openVolume("pvc-a.1_x"); // left open: closing the directory closes it
        }
        // leftovers of an interrupted create are removed on open
        Files.createDirectories(dir().resolve("volumes/.tmp-z-1"));
        try (NodeDirectory nd = NodeDirectory.openOrFormat(dir(), "c1", "n1")) {
            assertEquals(List.of("pvc-a.1_x"), nd.volumeNames());
            assertTrue(Files.notExists(dir().resolve("volumes/.tmp-z-1")));
            nd.openVolume("pvc-a.1_x").close();
        }
    }
}
