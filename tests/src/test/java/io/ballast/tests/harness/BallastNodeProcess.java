package io.ballast.tests.harness;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One real {@code ballast node} JVM, started from the shaded jar the build produced, with verbs
 * that make fault tests read like scripts: {@link #start()}, {@link #kill9()}, {@link #stop()}.
 *
 * <p>Output goes to {@code <dataDir>/../<name>.log} (appended across restarts, kept for
 * post-mortems). {@link #start()} returns once the node printed its ready line.
 */
public final class BallastNodeProcess implements AutoCloseable {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

    private final String name;
    private final Path dataDir;
    private final Path socket;
    private final List<String> extraArgs;
    private final List<String> commandPrefix;
    private final Path log;
    /** null: a node ({@code ballast node --data-dir ...}); else the verb run with only {@link #extraArgs}. */
    private final String verb;
    private final List<String> jvmArgs = new ArrayList<>();
    private Process process;
    /** The log's size when the running process was launched: its ready line comes after it. */
    private long launchedAtLogSize;

    public BallastNodeProcess(String name, Path dataDir, List<String> extraArgs) {
        this(name, dataDir, extraArgs, List.of());
    }

    /**
     * A node whose command line is prefixed by {@code commandPrefix}, e.g.
     * {@code NetworkLab.hostPrefix(i)} ({@code ip netns exec <ns>}) to run it inside a network
     * namespace. The prefix must exec the JVM (as {@code ip netns exec} does) so that
     * {@link #stop()} and {@link #kill9()} signal the node itself. The NBD socket is a file, so
     * clients in the root namespace still reach it.
     */
    public BallastNodeProcess(String name, Path dataDir, List<String> extraArgs, List<String> commandPrefix) {
        this(name, dataDir, extraArgs, commandPrefix, null);
    }

    private BallastNodeProcess(String name, Path dataDir, List<String> extraArgs, List<String> commandPrefix, String verb) {
        this.verb = verb;
        this.name = name;
        this.dataDir = dataDir;
        this.socket = dataDir.resolveSibling(name + ".sock");
        this.extraArgs = new ArrayList<>(extraArgs);
        this.commandPrefix = List.copyOf(commandPrefix);
        this.log = dataDir.resolveSibling(name + ".log");
    }

    /**
     * A {@code ballast controller} process (CSI Identity + Controller over the catalog) with
     * {@code args}; its log is {@code <dir>/<name>.log}. It is ready when it prints its ready line.
     */
    public static BallastNodeProcess controller(String name, Path dir, List<String> args) {
        return new BallastNodeProcess(name, dir.resolve(name), args, List.of(), "controller");
    }

    public static Path jar() {
        String jar = System.getProperty("ballast.jar");
        if (jar == null || !Files.isRegularFile(Path.of(jar))) {
            fail("the ballast jar is missing (" + jar + "); run the build with ./mvnw verify so csi packages it first");
        }
        return Path.of(jar);
    }

    public static String javaBinary() {
        return System.getProperty("ballast.java", Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    /** Command line for running any {@code ballast} verb (a CLI call) with the test JVM's settings. */
    public static List<String> command(String... args) {
        List<String> cmd = jvm();
        cmd.addAll(List.of("-jar", jar().toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** The java binary and the JVM options every Ballast process of the tests runs with. */
    private static List<String> jvm() {
        List<String> base = baseJvm();
        List<String> cmd = new ArrayList<>(base);
        cmd.addAll(1, ClassDataArchive.options(base, jar()));
        return cmd;
    }

    private static List<String> baseJvm() {
        // The heap bin/ballast gives a node (1 GiB): with 512 MiB, a node restarted in
        // ReplicatedFailoverIT twice ran out of heap while replaying its log and catching up (Ratis
        // caches log segments on the heap). Exit on OutOfMemoryError: a node whose Raft threads
        // died of it keeps its sockets open and looks alive; a dead one is what tests can see.
        List<String> cmd = new ArrayList<>(List.of(javaBinary(), "-Xmx1g", "-XX:+UseParallelGC",
                "-XX:MaxDirectMemorySize=512m", "-XX:+ExitOnOutOfMemoryError", "--enable-native-access=ALL-UNNAMED",
                // jffi and Netty use sun.misc.Unsafe: JDK 24+ warns without this; 21-22 ignore the property.
                "-Dsun.misc.unsafe.memory.access=allow"));
        // The client compiler only, unless -Dballast.it.fullJit=true: the suite's processes live
        // seconds to a minute, over before C2's compilations pay for their CPU. On 2 cores that
        // CPU is what the nodes under test wait for: C1 alone cut a cluster suite's CPU time by a
        // quarter and its run by ~10 %. Benchmarks, dev up and bin/ballast run the full JIT.
        if (!Boolean.getBoolean("ballast.it.fullJit")) {
            cmd.add("-XX:TieredStopAtLevel=1");
        }
        // Extra options for every node JVM, for diagnosis: e.g.
        // -Dballast.it.nodeJvmOptions=-Dorg.slf4j.simpleLogger.log.org.apache.ratis=info
        String extra = System.getProperty("ballast.it.nodeJvmOptions", "").trim();
        if (!extra.isEmpty()) {
            cmd.addAll(List.of(extra.split("\\s+")));
        }
        return cmd;
    }

    /** {@code ballast ARGS} run as the CLI with $BALLAST_TLS_DIR = {@code tlsDir} (a certificate directory). */
    public static ExternalTool.Result cliWith(Path tlsDir, String... args) {
        List<String> cmd = new ArrayList<>(List.of("env", "BALLAST_TLS_DIR=" + tlsDir));
        cmd.addAll(command(args));
        return ExternalTool.run(120, cmd);
    }

    public Path socket() {
        return socket;
    }

    public String name() {
        return name;
    }

    /** The running process's pid (the JVM's: the command prefix, if any, execs it). */
    public long pid() {
        if (process == null || !process.isAlive()) {
            throw new IllegalStateException(name + " is not running");
        }
        return process.pid();
    }

    public Path dataDir() {
        return dataDir;
    }

    public Path log() {
        return log;
    }

    /** nbd URI of an export, as fio, qemu and libnbd tools take it. */
    public String uri(String export) {
        return "nbd+unix:///" + export + "?socket=" + socket;
    }

    public BallastNodeProcess start() {
        return launch().awaitReady();
    }

    /**
     * Starts all of {@code nodes} at once and returns when each printed its ready line: the JVM
     * starts overlap on the two cores instead of queueing (~0.8-0.9 s each one after another), and
     * a node's readiness does not wait for its peers.
     */
    public static void startAll(List<BallastNodeProcess> nodes) {
        nodes.forEach(BallastNodeProcess::launch);
        nodes.forEach(BallastNodeProcess::awaitReady);
    }

    private BallastNodeProcess launch() {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException(name + " is already running");
        }
        List<String> cmd = new ArrayList<>(commandPrefix);
        List<String> jvm = verb == null ? command("node", "--data-dir", dataDir.toString(), "--nbd-socket", socket.toString())
                : command(verb);
        jvm.addAll(1, jvmArgs); // right after the java binary
        cmd.addAll(jvm);
        cmd.addAll(extraArgs);
        try {
            Files.createDirectories(dataDir.getParent());
            launchedAtLogSize = Files.exists(log) ? Files.size(log) : 0;
            process = new ProcessBuilder(cmd)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .start();
            return this;
        } catch (IOException e) {
            throw new AssertionError("could not start " + name + ": " + e, e);
        }
    }

    private BallastNodeProcess awaitReady() {
        try {
            long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
            while (System.nanoTime() < deadline) {
                String out = readLogFrom(launchedAtLogSize);
                if (out.contains("ballast " + (verb == null ? "node" : verb) + " ready:")) {
                    return this;
                }
                if (!process.isAlive()) {
                    fail(name + " exited with " + process.exitValue() + " during start:\n" + out);
                }
                Thread.sleep(50);
            }
            fail(name + " not ready after " + START_TIMEOUT + ":\n" + readLogFrom(launchedAtLogSize));
            return this;
        } catch (IOException e) {
            throw new AssertionError("could not read " + name + "'s log: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private String readLogFrom(long offset) throws IOException {
        byte[] all = Files.readAllBytes(log);
        return new String(all, (int) Math.min(offset, all.length), (int) Math.max(0, all.length - offset), StandardCharsets.UTF_8);
    }

    /** Arguments added to this node's command line from its next {@link #start()} on. */
    public BallastNodeProcess args(String... args) {
        extraArgs.addAll(List.of(args));
        return this;
    }

    /** JVM options added to this node's command line from its next {@link #start()} on. */
    public BallastNodeProcess jvmArgs(String... args) {
        jvmArgs.addAll(List.of(args));
        return this;
    }

    /** SIGSTOP: the whole JVM freezes as in a long GC pause or a frozen VM; sockets stay open. */
    public void pause() {
        signal("STOP");
    }

    /** SIGCONT after {@link #pause()}. */
    public void resume() {
        signal("CONT");
    }

    private void signal(String sig) {
        if (process == null || !process.isAlive()) {
            throw new IllegalStateException(name + " is not running");
        }
        ExternalTool.run(10, "kill", "-" + sig, Long.toString(process.pid())).assertSuccess();
    }

    public boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** SIGKILL: no shutdown hook, no flush, no clean-shutdown flag. */
    public void kill9() {
        if (process != null) {
            process.destroyForcibly();
            waitExit();
        }
    }

    /**
     * SIGTERM and wait; fails unless the node shut down cleanly (exports closed, stores flushed and
     * marked clean). A JVM ended by SIGTERM exits 143 after its shutdown hooks ran; that is the
     * normal outcome, so the proof of a clean stop is the node's last log line.
     */
    public void stopCleanly() {
        assertStoppedCleanly(stop());
    }

    /** {@link #stopCleanly()} for several nodes, which shut down side by side. */
    public static void stopAllCleanly(List<BallastNodeProcess> nodes) {
        List<BallastNodeProcess> running = nodes.stream().filter(n -> n.process != null).toList();
        running.forEach(n -> n.process.destroy());
        running.forEach(n -> n.assertStoppedCleanly(n.waitExit()));
    }

    private void assertStoppedCleanly(int code) {
        String log = logText();
        // The node's last own line is "stopped"; a Ratis timer may still flush a rate-limited
        // warning a few ms later, so look for it after the last "shutting down", not at the very end.
        int shutdown = log.lastIndexOf("shutting down: closing listeners and volumes");
        boolean stopped = shutdown >= 0 && log.indexOf("NodeRuntime - stopped", shutdown) > 0;
        if ((code != 143 && code != 0) || !stopped) {
            fail(name + " did not stop cleanly (exit " + code + "):\n" + log);
        }
    }

    /** SIGTERM: the node closes its exports and stores cleanly. Returns the exit code. */
    public int stop() {
        if (process == null) {
            return 0;
        }
        process.destroy();
        return waitExit();
    }

    private int waitExit() {
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    public String logText() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /**
     * Kills the node, and the descriptor keeper it may have started (which outlives it on purpose):
     * a FUSE mount the keeper held would otherwise wait for ever for a node that never comes back;
     * without the keeper its I/O fails and the test's cleanup can unmount it.
     */
    @Override
    public void close() {
        if (isAlive()) {
            kill9();
        }
        Path keeperPid = dataDir.resolve("run").resolve("fd-keeper.sock.pid");
        try {
            if (Files.exists(keeperPid)) {
                ProcessHandle.of(Long.parseLong(Files.readString(keeperPid).strip()))
                        .filter(h -> h.info().commandLine().map(c -> c.contains("FdKeeper")).orElse(false))
                        .ifPresent(ProcessHandle::destroyForcibly);
            }
        } catch (IOException | NumberFormatException e) {
            // no keeper to stop
        }
    }
}
