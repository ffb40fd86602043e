package io.ballast.tests.net;

import static org.junit.jupiter.api.Assertions.fail;

import io.ballast.tests.harness.ExternalTool;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Assumptions;

/**
 * A private little network of "hosts" for one test, so node processes can be partitioned from
 * each other for real: every host is a Linux network namespace, wired by a veth pair to one
 * bridge that lives in a dedicated hub namespace. Nothing is created in the root namespace:
 * no interface, route or firewall rule of the machine is touched, and the hosts cannot reach
 * the root namespace (or anything beyond it) over IP at all.
 *
 * <pre>
 *   ns blst-PID-SEQ-h0  eth0 10.77.X.1/24 ─┐
 *   ns blst-PID-SEQ-h1  eth0 10.77.X.2/24 ─┼─ h0,h1,h2 ─ br0   (ns blst-PID-SEQ-hub)
 *   ns blst-PID-SEQ-h2  eth0 10.77.X.3/24 ─┘
 * </pre>
 *
 * <p>Partitions are nftables drop rules inside each host namespace (table {@code inet
 * ballast_lab}: a set of blocked peer addresses, dropped on input and on output). Drops are
 * silent, like a real partition: new connections time out, established ones stall. There is no
 * latency injection (no netem on this machine).
 *
 * <p>Processes run inside a host with {@link #hostCommand(int, List)} (an {@code ip netns exec}
 * prefix; {@code ip} execs the command, so the started process <em>is</em> the program and
 * {@link Process#destroy()} signals it directly). The filesystem is shared, so Unix sockets a
 * process in a host creates, such as a node's NBD socket, stay reachable from the root namespace:
 * that is how fio, qemu-img and nbdinfo, run normally, still reach a node that lives in a host.
 *
 * <p>Names carry the owning JVM's pid ({@code blst-<pid>-<seq>-...}), so parallel runs never
 * collide and {@link #create(int)} can delete what crashed runs left (namespaces whose pid is
 * no longer alive). {@link #close()} kills any process still running inside the lab's hosts,
 * deletes every namespace the lab made (which also destroys its bridge and veths), is safe after
 * a partial creation failure and idempotent; a JVM shutdown hook calls it as a safety net.
 *
 * <p>Call {@link #requireSupport()} first (e.g. in {@code @BeforeAll}): it skips the test when
 * root, {@code ip}, {@code nft} or kernel support is missing, except under {@code CI=true} as
 * root, where it fails.
 */
public final class NetworkLab implements AutoCloseable {
    /** Every namespace any lab creates starts with this. */
    public static final String PREFIX = "blst-";
    /** The nftables table the lab owns inside each host namespace (never in the root one). */
    public static final String TABLE = "ballast_lab";
    private static final String TABLE_REF = "inet " + TABLE;
    private static final long TIMEOUT_S = 20;
    private static final AtomicInteger LABS = new AtomicInteger();
    private static String missingSupport;

    /** One host of the lab: its index, namespace and IPv4 address (on its {@code eth0}). */
    public record Host(int index, String namespace, String address) {
    }

    private final String prefix;
    private final String hub;
    private final List<Host> hosts = new ArrayList<>();
    /** Namespaces this lab created, in creation order: exactly what close() deletes. */
    private final List<String> created = new ArrayList<>();
    private final List<Set<String>> blocked = new ArrayList<>();
    private final Thread shutdownHook;
    private boolean closed;

    private NetworkLab(int seq) {
        this.prefix = PREFIX + ProcessHandle.current().pid() + "-" + seq + "-";
        this.hub = prefix + "hub";
        this.shutdownHook = new Thread(this::close, "network-lab-cleanup-" + seq);
    }

    /**
     * Builds a lab of {@code count} hosts, addressed {@code 10.77.X.1} to {@code 10.77.X.count}
     * ({@code X} = this JVM's lab sequence number mod 256; subnets cannot clash anyway, since
     * each lab has its own bridge). First deletes leftovers of crashed runs.
     */
    public static NetworkLab create(int count) {
        if (count < 1 || count > 250) {
            throw new IllegalArgumentException("hosts: 1..250, not " + count);
        }
        removeStaleNamespaces();
        int seq = LABS.getAndIncrement();
        NetworkLab lab = new NetworkLab(seq);
        Runtime.getRuntime().addShutdownHook(lab.shutdownHook);
        try {
            lab.build(count, "10.77." + (seq & 0xff) + ".");
            return lab;
        } catch (Throwable t) {
            try {
                lab.close();
            } catch (Throwable cleanup) {
                t.addSuppressed(cleanup);
            }
            throw t;
        }
    }

    private void build(int count, String subnet) {
        addNamespace(hub);
        ip("-n", hub, "link", "set", "lo", "up");
        ip("-n", hub, "link", "add", "br0", "type", "bridge");
        ip("-n", hub, "link", "set", "br0", "up");
        for (int i = 0; i < count; i++) {
            Host h = new Host(i, prefix + "h" + i, subnet + (i + 1));
            addNamespace(h.namespace());
            ip("-n", h.namespace(), "link", "set", "lo", "up");
            // Both ends are made inside the hub and the peer is moved straight into the host:
            // no interface ever exists in the root namespace, not even for a moment.
            String port = "h" + i;
            ip("-n", hub, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", h.namespace());
            ip("-n", hub, "link", "set", port, "master", "br0");
            ip("-n", hub, "link", "set", port, "up");
            // IPv4 only: no IPv6 link-local address that could carry traffic past the rules.
            ip("-n", h.namespace(), "link", "set", "eth0", "addrgenmode", "none");
            ip("-n", h.namespace(), "addr", "add", h.address() + "/24", "dev", "eth0");
            ip("-n", h.namespace(), "link", "set", "eth0", "up");
            nft(h.namespace(), "add table " + TABLE_REF
                    + "; add set " + TABLE_REF + " blocked { type ipv4_addr; }"
                    + "; add chain " + TABLE_REF + " input { type filter hook input priority 0; policy accept; }"
                    + "; add chain " + TABLE_REF + " output { type filter hook output priority 0; policy accept; }"
                    + "; add rule " + TABLE_REF + " input ip saddr @blocked drop"
                    + "; add rule " + TABLE_REF + " output ip daddr @blocked drop");
            hosts.add(h);
            blocked.add(new TreeSet<>());
        }
    }

    private void addNamespace(String ns) {
        ip("netns", "add", ns);
        created.add(ns);
    }

    public int size() {
        return hosts.size();
    }

    public Host host(int i) {
        return hosts.get(i);
    }

    public List<Host> hosts() {
        return Collections.unmodifiableList(hosts);
    }

    /** {@code blst-<pid>-<seq>-}: every namespace of this lab starts with it. */
    public String prefix() {
        return prefix;
    }

    /** The namespace holding the bridge (no test process should run there). */
    public String hubNamespace() {
        return hub;
    }

    /**
     * {@code cmd} prefixed with {@code ip netns exec <ns>}, for {@link ProcessBuilder} or
     * {@code BallastNodeProcess}: the process runs with host {@code i}'s network and sees the
     * same filesystem.
     */
    public List<String> hostCommand(int i, List<String> cmd) {
        List<String> full = new ArrayList<>(hostPrefix(i));
        full.addAll(cmd);
        return full;
    }

    /** Just the {@code ip netns exec <ns>} prefix for host {@code i}. */
    public List<String> hostPrefix(int i) {
        return List.of(ipBinary(), "netns", "exec", host(i).namespace());
    }

    /**
     * Drops all IPv4 traffic between every host of {@code sideA} and every host of {@code sideB},
     * both directions, on input and output of each host (established connections stall too).
     * Cumulative: earlier partitions stay until {@link #heal()}. Traffic within a side, and
     * between hosts named on neither side, is untouched.
     */
    public synchronized void partition(Set<Integer> sideA, Set<Integer> sideB) {
        checkOpen();
        for (int a : sideA) {
            host(a);
            if (sideB.contains(a)) {
                throw new IllegalArgumentException("host " + a + " is on both sides");
            }
        }
        sideB.forEach(this::host);
        Set<Integer> changed = new TreeSet<>();
        for (int a : sideA) {
            for (int b : sideB) {
                if (blocked.get(a).add(host(b).address())) {
                    changed.add(a);
                }
                if (blocked.get(b).add(host(a).address())) {
                    changed.add(b);
                }
            }
        }
        changed.forEach(this::applyRules);
    }

    /** Cuts host {@code i} off from every other host (it can still talk to itself). */
    public void isolate(int i) {
        Set<Integer> others = new LinkedHashSet<>();
        for (int j = 0; j < size(); j++) {
            if (j != i) {
                others.add(j);
            }
        }
        partition(Set.of(i), others);
    }

    /** Removes every drop rule: all hosts reach each other again. */
    public synchronized void heal() {
        checkOpen();
        for (int i = 0; i < size(); i++) {
            if (!blocked.get(i).isEmpty()) {
                blocked.get(i).clear();
                applyRules(i);
            }
        }
    }

    /** Addresses host {@code i} currently drops traffic to and from. */
    public synchronized Set<String> blockedPeers(int i) {
        return Set.copyOf(blocked.get(i));
    }

    /** One nft transaction per host: the set is replaced atomically, never half-applied. */
    private void applyRules(int i) {
        Collection<String> addrs = blocked.get(i);
        String script = "flush set " + TABLE_REF + " blocked";
        if (!addrs.isEmpty()) {
            script += "; add element " + TABLE_REF + " blocked { " + String.join(", ", addrs) + " }";
        }
        nft(host(i).namespace(), script);
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("network lab " + prefix + " is closed");
        }
    }

    /**
     * Kills what still runs inside the lab's namespaces, then deletes them all (the bridge and
     * veths go with them). Keeps going past failures and reports them at the end.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (Thread.currentThread() != shutdownHook) {
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running or about to; close() is idempotent
            }
        }
        List<String> problems = new ArrayList<>();
        List<String> reverse = new ArrayList<>(created);
        Collections.reverse(reverse);
        for (String ns : reverse) {
            try {
                killProcessesIn(ns);
                ExternalTool.Result r = ExternalTool.run(TIMEOUT_S, ipBinary(), "netns", "delete", ns);
                if (r.exitCode() != 0) {
                    problems.add(r.describe());
                }
            } catch (Throwable t) {
                problems.add(ns + ": " + t);
            }
        }
        created.clear();
        if (!problems.isEmpty()) {
            throw new IllegalStateException("network lab " + prefix + " cleanup problems:\n"
                    + String.join("\n", problems));
        }
    }

    private static void killProcessesIn(String ns) {
        ExternalTool.Result r = ExternalTool.run(TIMEOUT_S, ipBinary(), "netns", "pids", ns);
        if (r.exitCode() != 0) {
            return;
        }
        for (String line : r.stdout().split("\\s+")) {
            if (line.isBlank()) {
                continue;
            }
            ProcessHandle.of(Long.parseLong(line.trim())).ifPresent(p -> {
                p.destroyForcibly();
                try {
                    p.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
                } catch (Exception e) {
                    // deleting the name still works; the namespace dies with the process
                }
            });
        }
    }

    /**
     * Deletes namespaces named {@code blst-<pid>-...} whose pid is not a live process (left by
     * crashed runs). Processes still inside them, if any, are left alone: they are cut off and
     * harmless. Returns the names deleted.
     */
    public static List<String> removeStaleNamespaces() {
        List<String> removed = new ArrayList<>();
        ExternalTool.Result list = ExternalTool.run(TIMEOUT_S, ipBinary(), "netns", "list").assertSuccess();
        for (String line : list.stdout().split("\n")) {
            String name = line.trim().split("\\s+")[0];
            if (!name.startsWith(PREFIX)) {
                continue;
            }
            String[] parts = name.substring(PREFIX.length()).split("-", 2);
            long pid;
            try {
                pid = Long.parseLong(parts[0]);
            } catch (NumberFormatException notOurs) {
                continue;
            }
            if (ProcessHandle.of(pid).isEmpty()) {
                ExternalTool.Result r = ExternalTool.run(TIMEOUT_S, ipBinary(), "netns", "delete", name);
                if (r.exitCode() == 0) {
                    removed.add(name);
                }
            }
        }
        return removed;
    }

    // ---------------------------------------------------------------- support probe

    /**
     * Skips the calling test unless this machine can run a lab: root, {@code ip} (iproute2),
     * {@code nft} (nftables), and a kernel with network namespaces, veth, bridge and nftables
     * (probed once by building and deleting a throwaway namespace). Under {@code CI=true} as
     * root a missing piece fails instead, so partition tests never silently stop running there.
     */
    public static synchronized void requireSupport() {
        if (missingSupport == null) {
            missingSupport = probeSupport();
        }
        if (missingSupport.isEmpty()) {
            return;
        }
        String msg = "network partition tests need " + missingSupport;
        if ("true".equals(System.getenv("CI")) && uid() == 0) {
            fail(msg + " (CI runs as root, so this must work there: see .ci/run)");
        }
        Assumptions.abort(msg);
    }

    private static String probeSupport() {
        long uid = uid();
        if (uid != 0) {
            return "root (running as uid " + uid + ")";
        }
        if (ExternalTool.which("ip") == null) {
            return "'ip' (apt-get install iproute2)";
        }
        if (ExternalTool.which("nft") == null) {
            return "'nft' (apt-get install nftables)";
        }
        String ns = PREFIX + ProcessHandle.current().pid() + "-probe";
        String ip = ipBinary();
        List<List<String>> steps = List.of(
                List.of(ip, "netns", "add", ns),
                List.of(ip, "-n", ns, "link", "set", "lo", "up"),
                List.of(ip, "-n", ns, "link", "add", "probebr", "type", "bridge"),
                List.of(ip, "-n", ns, "link", "add", "probe0", "type", "veth", "peer", "name", "probe1"),
                List.of(ip, "-n", ns, "link", "set", "probe0", "master", "probebr"),
                List.of(ip, "netns", "exec", ns, ExternalTool.which("nft").toString(),
                        "add table " + TABLE_REF + "; add set " + TABLE_REF + " blocked { type ipv4_addr; }"
                        + "; add chain " + TABLE_REF + " output { type filter hook output priority 0; policy accept; }"
                        + "; add rule " + TABLE_REF + " output ip daddr @blocked drop"));
        try {
            for (List<String> step : steps) {
                ExternalTool.Result r = ExternalTool.run(TIMEOUT_S, step);
                if (r.exitCode() != 0) {
                    return "kernel support for network namespaces, veth, bridge and nftables; probe failed:\n"
                            + r.describe();
                }
            }
            return "";
        } finally {
            ExternalTool.run(TIMEOUT_S, ip, "netns", "delete", ns);
        }
    }

    private static long uid() {
        try {
            return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).longValue();
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return -1;
        }
    }

    // ---------------------------------------------------------------- commands

    static String ipBinary() {
        Path ip = ExternalTool.which("ip");
        if (ip == null) {
            fail("'ip' is missing (apt-get install iproute2); call NetworkLab.requireSupport() first");
        }
        return ip.toString();
    }

    private static String nftBinary() {
        Path nft = ExternalTool.which("nft");
        if (nft == null) {
            fail("'nft' is missing (apt-get install nftables); call NetworkLab.requireSupport() first");
        }
        return nft.toString();
    }

    private static void ip(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ipBinary());
        cmd.addAll(List.of(args));
        ExternalTool.run(TIMEOUT_S, cmd).assertSuccess();
    }

    /** Runs an nft script (commands separated by ';', one transaction) inside {@code ns}. */
    private static void nft(String ns, String script) {
        ExternalTool.run(TIMEOUT_S, ipBinary(), "netns", "exec", ns, nftBinary(), script).assertSuccess();
    }
}
