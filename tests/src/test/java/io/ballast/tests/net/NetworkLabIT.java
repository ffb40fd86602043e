package io.ballast.tests.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.ballast.tests.harness.BallastNodeProcess;
import io.ballast.tests.harness.ExternalTool;
import io.ballast.tests.harness.RawNbdClient;
import io.ballast.tests.harness.TestDirs;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiPredicate;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Proves the partition lab does what fault tests will rely on: hosts reach each other, an
 * isolated host reaches nobody and nobody reaches it (new connections and established ones),
 * the others keep talking, healing restores everything, and closing leaves the machine exactly
 * as it was: no namespace, interface or nftables rule of ours left in the root namespace.
 */
class NetworkLabIT {
    private static final int PORT = 7070;
    private static final Duration CONNECT = Duration.ofMillis(1000);

    @BeforeAll
    static void support() {
        NetworkLab.requireSupport();
    }

    @Test
    void isolateCutsOneHostOffAndHealRestoresIt() throws Exception {
        String linksBefore = root("link", "show");
        String routesBefore = root("route", "show");
        String rulesBefore = nftRoot();

        // A namespace a crashed run would leave; its pid is above the kernel's hard limit
        // (PID_MAX_LIMIT, 2^22 on 64-bit), so it can never be alive.
        long deadPid = (1L << 22) + 1;
        String stale = NetworkLab.PREFIX + deadPid + "-0-h0";
        ExternalTool.run(10, NetworkLab.ipBinary(), "netns", "add", stale).assertSuccess();

        String prefix;
        try (NetworkLab lab = NetworkLab.create(3)) {
            prefix = lab.prefix();
            assertFalse(namespaces().contains(stale), "create() removes namespaces of dead runs");
            assertEquals(List.of("10.77.", "10.77.", "10.77."),
                    lab.hosts().stream().map(h -> h.address().substring(0, 6)).toList());
            assertEquals(linksBefore, root("link", "show"), "the lab adds no interface to the root namespace");
            assertEquals(rulesBefore, nftRoot(), "the lab adds no nftables rule to the root namespace");

            List<TcpProbe> probes = startProbes(lab);
            try {
                assertReachability(lab, probes, (a, b) -> true, "fresh lab");
                assertEquals("ok", probes.get(1).open("to0", lab.host(0).address(), PORT, CONNECT));
                assertEquals("ok", probes.get(1).open("to2", lab.host(2).address(), PORT, CONNECT));

                lab.isolate(0);
                assertReachability(lab, probes, (a, b) -> a != 0 && b != 0, "host 0 isolated");
                assertTrue(probes.get(1).echo("to0", CONNECT).startsWith("fail"),
                        "an established connection across the partition stalls");
                assertEquals("ok", probes.get(1).echo("to2", CONNECT), "within a side it keeps working");

                lab.heal();
                assertReachability(lab, probes, (a, b) -> true, "healed");

                lab.partition(java.util.Set.of(0, 1), java.util.Set.of(2));
                assertReachability(lab, probes, (a, b) -> (a == 2) == (b == 2), "{0,1} | {2}");
                lab.heal();
                assertReachability(lab, probes, (a, b) -> true, "healed again");
            } finally {
                probes.forEach(TcpProbe::close);
            }
        }

        assertEquals(List.of(), namespaces().stream().filter(n -> n.startsWith(prefix) || n.equals(stale)).toList(),
                "close() deletes every namespace of the lab");
        assertEquals(linksBefore, root("link", "show"));
        assertEquals(routesBefore, root("route", "show"));
        assertEquals(rulesBefore, nftRoot());
    }

    @Test
    void closeKillsWhatRunsInsideIsIdempotentAndLeavesNothing() {
        NetworkLab lab = NetworkLab.create(1);
        String prefix = lab.prefix();
        TcpProbe forgotten = TcpProbe.start(lab, 0, PORT);
        lab.close();
        assertFalse(forgotten.isAlive(), "close() kills processes left inside the lab's hosts");
        lab.close();
        assertTrue(namespaces().stream().noneMatch(n -> n.startsWith(prefix)));
    }

    /**
     * A real node inside host 1: peers reach its TCP port only across a healthy network, while
     * its NBD Unix socket stays reachable from the root namespace whatever the partitions.
     */
    @Test
    void nodeInsideAHostKeepsItsUnixSocketReachableFromTheRootNamespace() throws Exception {
        Path dir = TestDirs.fresh("netns-node");
        try (NetworkLab lab = NetworkLab.create(2);
                TcpProbe probe = TcpProbe.start(lab, 0, PORT);
                BallastNodeProcess node = new BallastNodeProcess("node1", dir.resolve("data"),
                        List.of("--volume", "v:16M", "--nbd-listen", lab.host(1).address() + ":10809"),
                        lab.hostPrefix(1))) {
            node.start();
            assertEquals("ok", probe.reach(lab.host(1).address(), 10809, CONNECT));
            assertEquals(16L << 20, nbdExportSize(node));

            lab.isolate(1);
            assertTrue(probe.reach(lab.host(1).address(), 10809, CONNECT).startsWith("fail"));
            assertEquals(16L << 20, nbdExportSize(node), "Unix sockets are not cut by partitions");

            lab.heal();
            assertEquals("ok", probe.reach(lab.host(1).address(), 10809, CONNECT));
            // SIGTERM reaches the JVM itself (ip netns exec execs it): a clean shutdown, which the
            // JVM reports as 143 (128 + SIGTERM).
            int code = node.stop();
            assertTrue(code == 0 || code == 143, "exit code " + code);
            assertTrue(node.logText().contains("NodeRuntime - stopped"), node.logText());
        }
    }

    private static long nbdExportSize(BallastNodeProcess node) throws IOException {
        try (RawNbdClient c = RawNbdClient.connect(node.socket()).handshake("v")) {
            return c.exportSize();
        }
    }

    private static List<TcpProbe> startProbes(NetworkLab lab) throws Exception {
        List<CompletableFuture<TcpProbe>> starting = new ArrayList<>();
        for (int i = 0; i < lab.size(); i++) {
            int host = i;
            starting.add(CompletableFuture.supplyAsync(() -> TcpProbe.start(lab, host, PORT)));
        }
        List<TcpProbe> probes = new ArrayList<>();
        for (CompletableFuture<TcpProbe> f : starting) {
            probes.add(f.get());
        }
        return probes;
    }

    /** Every ordered pair of distinct hosts, probed concurrently per source host. */
    private static void assertReachability(NetworkLab lab, List<TcpProbe> probes,
            BiPredicate<Integer, Integer> expected, String phase) throws Exception {
        Map<String, String> actual = new TreeMap<>();
        List<CompletableFuture<Void>> runs = new ArrayList<>();
        for (int a = 0; a < lab.size(); a++) {
            int from = a;
            runs.add(CompletableFuture.runAsync(() -> {
                for (int to = 0; to < lab.size(); to++) {
                    if (to != from) {
                        String r = probes.get(from).connect(lab.host(to).address(), PORT, CONNECT);
                        synchronized (actual) {
                            actual.put(from + "->" + to, r);
                        }
                    }
                }
            }));
        }
        for (CompletableFuture<Void> r : runs) {
            r.get();
        }
        List<String> wrong = new ArrayList<>();
        actual.forEach((pair, result) -> {
            String[] ends = pair.split("->");
            boolean want = expected.test(Integer.parseInt(ends[0]), Integer.parseInt(ends[1]));
            if (want != result.equals("ok")) {
                wrong.add(pair + " expected " + (want ? "ok" : "failure") + ", got " + result);
            }
        });
        if (!wrong.isEmpty()) {
            fail(phase + ": " + wrong + "\nall: " + actual);
        }
    }

    private static List<String> namespaces() {
        String out = ExternalTool.run(10, NetworkLab.ipBinary(), "netns", "list").assertSuccess().stdout();
        return Arrays.stream(out.split("\n")).filter(l -> !l.isBlank()).map(l -> l.trim().split("\\s+")[0]).toList();
    }

    private static String root(String... args) {
        List<String> cmd = new ArrayList<>(List.of(NetworkLab.ipBinary()));
        cmd.addAll(List.of(args));
        return ExternalTool.run(10, cmd).assertSuccess().stdout();
    }

    /** The root namespace's rules without their counters (-s): traffic of other processes moves counters, not rules. */
    private static String nftRoot() throws IOException {
        return ExternalTool.run(10, ExternalTool.which("nft").toString(), "-s", "list", "ruleset").assertSuccess().stdout();
    }
}
