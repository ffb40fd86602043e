package io.ballast.engine.keeper;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.io.File;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Talks to the {@link FdKeeper} on a socket: hands it descriptors to keep, takes copies back after a
 * restart, drops them when done. {@link #keep} starts a keeper (this JVM's java and class path, in
 * its own session so a terminal's Ctrl-C or the node's death does not take it along) when none
 * answers; with a keeper run by the deployment (a container of its own) it just connects.
 *
 * <p>Thread-safe: every call is one short connection. Errors: {@link BallastException}
 * (UNAVAILABLE when no keeper answers and none could be started, the keeper's refusal otherwise).
 */
public final class FdKeeperClient {
    private static final Logger log = LoggerFactory.getLogger(FdKeeperClient.class);
    private static final long START_TIMEOUT_MILLIS = 15_000;

    /** A descriptor taken back: now this process's own, with the note it was kept with. */
    public record Kept(int fd, String note) {
    }

    private final Path socket;
    private final boolean startIfAbsent;

    /**
     * @param socket        the keeper's socket
     * @param startIfAbsent start a keeper process when none answers on {@link #keep}
     */
    public FdKeeperClient(Path socket, boolean startIfAbsent) {
        this.socket = socket.toAbsolutePath().normalize();
        this.startIfAbsent = startIfAbsent;
    }

    public Path socket() {
        return socket;
    }

    /** Has the keeper hold a copy of this process's descriptor {@code fd} as {@code name}. */
    public void keep(String name, int fd, String note) {
        if (note.contains(" ") || note.contains("\n")) {
            throw new IllegalArgumentException("a note has no spaces or newlines: " + note);
        }
        String request = "KEEP " + name + " " + ProcessFds.pid() + " " + fd + (note.isEmpty() ? "" : " " + note);
        String reply;
        try {
            reply = ask(request);
        } catch (IOException absent) {
            if (!startIfAbsent) {
                throw unavailable(absent);
            }
            start();
            try {
                reply = ask(request);
            } catch (IOException e) {
                throw unavailable(e);
            }
        }
        expect(reply, "OK");
    }

    /** A copy of the descriptor kept as {@code name}, if the keeper runs and holds one. */
    public Optional<Kept> take(String name) {
        String reply;
        try {
            reply = ask("GET " + name);
        } catch (IOException absent) {
            return Optional.empty();
        }
        if (reply.equals("NONE")) {
            return Optional.empty();
        }
        String[] w = reply.split(" ", 4);
        if (w.length < 3 || !w[0].equals("FD")) {
            throw refused("GET " + name, reply);
        }
        int fd = ProcessFds.copyFrom(Long.parseLong(w[1]), Integer.parseInt(w[2]));
        return Optional.of(new Kept(fd, w.length == 4 ? w[3] : ""));
    }

    /** Lets the keeper close its copy of {@code name}; nothing when no keeper runs. */
    public void drop(String name) {
        try {
            expect(ask("DROP " + name), "OK");
        } catch (IOException absent) {
            log.debug("no descriptor keeper on {} to drop {} from", socket, name);
        }
    }

    /** The names held; empty when no keeper runs. */
    public List<String> names() {
        try {
            String reply = ask("LIST");
            if (!reply.startsWith("NAMES")) {
                throw refused("LIST", reply);
            }
            return reply.length() <= 6 ? List.of() : Arrays.asList(reply.substring(6).split(" "));
        } catch (IOException absent) {
            return List.of();
        }
    }

    /** The keeper's process id, when one answers. */
    public Optional<Long> pid() {
        try {
            String reply = ask("PING");
            return reply.startsWith("PONG ") ? Optional.of(Long.parseLong(reply.substring(5))) : Optional.empty();
        } catch (IOException absent) {
            return Optional.empty();
        }
    }

    private String ask(String request) throws IOException {
        try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            ByteBuffer out = ByteBuffer.wrap((request + "\n").getBytes(StandardCharsets.UTF_8));
            while (out.hasRemaining()) {
                c.write(out);
            }
            ByteBuffer in = ByteBuffer.allocate(8192);
            while (true) {
                for (int i = 0; i < in.position(); i++) {
                    if (in.get(i) == '\n') {
                        return new String(in.array(), 0, i, StandardCharsets.UTF_8);
                    }
                }
                if (!in.hasRemaining() || c.read(in) < 0) {
                    throw new IOException("descriptor keeper on " + socket + " closed without a full reply to " + request);
                }
            }
        }
    }

    /** Starts {@code java -cp <ours> FdKeeper --socket S} detached, and waits until it answers. */
    private synchronized void start() {
        if (pid().isPresent()) {
            return; // another thread started it meanwhile
        }
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>();
        if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
            cmd.add("/usr/bin/setsid"); // own session: not in the node's process group
        }
        cmd.addAll(List.of(java, "-Xmx32m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "--enable-native-access=ALL-UNNAMED",
                "-Dsun.misc.unsafe.memory.access=allow", "-cp", System.getProperty("java.class.path"), FdKeeper.class.getName(), "--socket", socket.toString()));
        Path logFile = socket.resolveSibling(socket.getFileName() + ".log");
        try {
            Files.createDirectories(socket.getParent());
            new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                    .redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new BallastException(ErrorCode.UNAVAILABLE, "cannot start a descriptor keeper: " + e.getMessage(), e);
        }
        long deadline = System.nanoTime() + START_TIMEOUT_MILLIS * 1_000_000;
        while (pid().isEmpty()) {
            if (System.nanoTime() > deadline) {
                throw new BallastException(ErrorCode.UNAVAILABLE, "the descriptor keeper started for " + socket
                        + " did not answer within " + START_TIMEOUT_MILLIS / 1000 + " s; see " + logFile);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new BallastException(ErrorCode.UNAVAILABLE, "interrupted while starting the descriptor keeper", e);
            }
        }
        log.info("started descriptor keeper {} on {} (log {})", pid().orElse(-1L), socket, logFile);
    }

    private void expect(String reply, String want) {
        if (!reply.equals(want)) {
            throw refused(want, reply);
        }
    }

    private BallastException refused(String request, String reply) {
        ErrorCode code = reply.contains("ptrace") || reply.contains("5.6") ? ErrorCode.FAILED_PRECONDITION : ErrorCode.INTERNAL;
        return new BallastException(code, "descriptor keeper on " + socket + " refused " + request.split(" ")[0] + ": " + reply);
    }

    private BallastException unavailable(IOException e) {
        return new BallastException(ErrorCode.UNAVAILABLE, "no descriptor keeper answers on " + socket + ": " + e.getMessage(), e);
    }
}
