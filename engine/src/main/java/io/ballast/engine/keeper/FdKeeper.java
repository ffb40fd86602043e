package io.ballast.engine.keeper;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The descriptor keeper: a process of its own that holds copies of {@code ballast node}'s /dev/fuse
 * descriptors, named by volume, so that a FUSE connection outlives the node process. While any
 * process holds a connection's descriptor the kernel keeps the mount and queues its requests; when
 * the last one closes it aborts the connection and everything above gets EIO. So with a keeper a
 * kill -9 of the node makes a mounted volume wait for the restarted node instead of failing.
 *
 * <p><b>Protocol</b>: one line per request on a unix stream socket (owner-only), one line back.
 * <ul>
 *   <li>{@code KEEP <name> <pid> <fd> [note]}: copy descriptor fd of process pid, replacing an older
 *       one of that name; the note (no spaces) is handed back with it. Reply {@code OK}.</li>
 *   <li>{@code GET <name>}: {@code FD <keeper pid> <fd> <note>} for the caller to copy, or {@code NONE}.</li>
 *   <li>{@code DROP <name>}: close it ({@code OK}, also when not held).</li>
 *   <li>{@code LIST}: {@code NAMES [name...]}. {@code PING}: {@code PONG <pid>}.</li>
 *   <li>Anything else: {@code ERR <why>}; nothing changes.</li>
 * </ul>
 * The keeper exits once it has held nothing for {@code idleExit}, and on SIGTERM (closing what it
 * holds: those connections abort). Its pid is written next to the socket ({@code <socket>.pid}).
 *
 * <p>Threading: one virtual thread per client connection; requests are applied one at a time.
 */
public final class FdKeeper implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(FdKeeper.class);
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._:@+-]{1,200}");
    private static final int MAX_LINE = 4096;

    private record Held(int fd, String note) {
    }

    private final Path socket;
    private final Duration idleExit;
    private final ServerSocketChannel server;
    private final Map<String, Held> held = new TreeMap<>();
    private long emptySince = System.nanoTime();
    private boolean closed;

    private FdKeeper(Path socket, Duration idleExit, ServerSocketChannel server) {
        this.socket = socket;
        this.idleExit = idleExit;
        this.server = server;
    }

    /**
     * Listens on {@code socket}. A stale socket file is replaced; one another keeper answers on is
     * refused (FAILED_PRECONDITION), so two keepers never split a node's descriptors.
     *
     * @param idleExit exit after holding nothing this long; zero = never
     */
    public static FdKeeper bind(Path socket, Duration idleExit) {
        Path s = socket.toAbsolutePath().normalize();
        try {
            Files.createDirectories(s.getParent());
            if (Files.exists(s)) {
                try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(s))) {
                    throw new BallastException(ErrorCode.FAILED_PRECONDITION, "a descriptor keeper already listens on " + s);
                } catch (IOException refused) {
                    Files.delete(s); // nobody listens: left by a keeper that was killed
                }
            }
            ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(s));
            Files.setPosixFilePermissions(s, PosixFilePermissions.fromString("rw-------"));
            Files.writeString(pidFile(s), Long.toString(ProcessFds.pid()) + "\n");
            return new FdKeeper(s, idleExit, server);
        } catch (IOException e) {
            throw new BallastException(ErrorCode.IO_ERROR, "descriptor keeper cannot listen on " + s + ": " + e, e);
        }
    }

    /** Where a keeper on {@code socket} writes its pid. */
    public static Path pidFile(Path socket) {
        return socket.resolveSibling(socket.getFileName() + ".pid");
    }

    public Path socket() {
        return socket;
    }

    /** Accepts clients until {@link #close()} or the idle exit. */
    public void serve() {
        if (!idleExit.isZero()) {
            Thread.ofVirtual().name("fd-keeper-idle").start(this::exitWhenIdle);
        }
        log.info("descriptor keeper {} listening on {}", ProcessFds.pid(), socket);
        while (true) {
            SocketChannel client;
            try {
                client = server.accept();
            } catch (IOException e) {
                synchronized (this) {
                    if (!closed) {
                        log.error("descriptor keeper: accept failed, stopping", e);
                    }
                }
                close();
                return;
            }
            Thread.ofVirtual().name("fd-keeper-client").start(() -> converse(client));
        }
    }

    private void converse(SocketChannel client) {
        try (client) {
            ByteBuffer in = ByteBuffer.allocate(MAX_LINE);
            while (true) {
                int end = lineEnd(in);
                if (end >= 0) {
                    String line = new String(in.array(), 0, end, StandardCharsets.UTF_8);
                    in.flip().position(end + 1);
                    in.compact();
                    reply(client, handle(line));
                } else if (!in.hasRemaining()) {
                    reply(client, "ERR request longer than " + MAX_LINE + " bytes");
                    return;
                } else if (client.read(in) < 0) {
                    return;
                }
            }
        } catch (IOException e) {
            log.debug("descriptor keeper: client went away: {}", e.toString());
        }
    }

    private static int lineEnd(ByteBuffer in) {
        for (int i = 0; i < in.position(); i++) {
            if (in.get(i) == '\n') {
                return i;
            }
        }
        return -1;
    }

    private static void reply(SocketChannel client, String line) throws IOException {
        ByteBuffer out = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
        while (out.hasRemaining()) {
            client.write(out);
        }
    }

    /** Applies one request line; returns the reply line. Never throws. */
    synchronized String handle(String line) {
        String[] w = line.strip().split(" ");
        try {
            switch (w[0]) {
                case "KEEP" -> {
                    if (w.length < 4 || w.length > 5) {
                        return "ERR usage: KEEP <name> <pid> <fd> [note]";
                    }
                    String name = name(w[1]);
                    int fd = ProcessFds.copyFrom(number(w[2], "pid"), (int) number(w[3], "fd"));
                    Held old = held.put(name, new Held(fd, w.length == 5 ? w[4] : ""));
                    if (old != null) {
                        ProcessFds.close(old.fd());
                    }
                    log.info("keeping {} (descriptor {} of process {}, here {})", name, w[3], w[2], fd);
                    return "OK";
                }
                case "GET" -> {
                    if (w.length != 2) {
                        return "ERR usage: GET <name>";
                    }
                    Held h = held.get(name(w[1]));
                    return h == null ? "NONE" : "FD " + ProcessFds.pid() + " " + h.fd() + " " + h.note();
                }
                case "DROP" -> {
                    if (w.length != 2) {
                        return "ERR usage: DROP <name>";
                    }
                    Held h = held.remove(name(w[1]));
                    if (h != null) {
                        ProcessFds.close(h.fd());
                        log.info("dropped {}", w[1]);
                        if (held.isEmpty()) {
                            emptySince = System.nanoTime();
                        }
                    }
                    return "OK";
                }
                case "LIST" -> {
                    return ("NAMES " + String.join(" ", held.keySet())).strip();
                }
                case "PING" -> {
                    return "PONG " + ProcessFds.pid();
                }
                default -> {
                    return "ERR unknown request '" + (w[0].length() > 20 ? w[0].substring(0, 20) + "..." : w[0])
                            + "': KEEP, GET, DROP, LIST or PING";
                }
            }
        } catch (BallastException e) {
            return "ERR " + e.getMessage().replace('\n', ' ');
        }
    }

    private static String name(String s) {
        if (!NAME.matcher(s).matches()) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "bad name '" + s + "': 1-200 of A-Z a-z 0-9 . _ : @ + -");
        }
        return s;
    }

    private static long number(String s, String what) {
        try {
            long n = Long.parseLong(s);
            if (n < 0 || n > Integer.MAX_VALUE) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "bad " + what + " '" + s + "'");
        }
    }

    private void exitWhenIdle() {
        while (true) {
            try {
                Thread.sleep(Math.min(1000, idleExit.toMillis()));
            } catch (InterruptedException e) {
                return;
            }
            synchronized (this) {
                if (closed) {
                    return;
                }
                if (held.isEmpty() && System.nanoTime() - emptySince > idleExit.toNanos()) {
                    log.info("descriptor keeper: nothing held for {}, exiting", idleExit);
                    break;
                }
            }
        }
        close();
    }

    /** Stops listening and closes every held descriptor (their FUSE connections abort). */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (!held.isEmpty()) {
            log.warn("descriptor keeper stopping while holding {}: their mounts fail unless a node still serves them",
                    held.keySet());
        }
        held.values().forEach(h -> ProcessFds.close(h.fd()));
        held.clear();
        try {
            server.close();
            Files.deleteIfExists(socket);
            Files.deleteIfExists(pidFile(socket));
        } catch (IOException e) {
            log.warn("descriptor keeper: {}", e.toString());
        }
    }

    /** {@code FdKeeper --socket PATH [--idle-exit SECONDS]}: what {@code ballast fd-keeper} runs. */
    public static void main(String[] args) {
        Path socket = null;
        long idle = 60;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--socket" -> socket = Path.of(args[++i]);
                case "--idle-exit" -> idle = Long.parseLong(args[++i]);
                default -> {
                    System.err.println("usage: FdKeeper --socket PATH [--idle-exit SECONDS (0 = never)]");
                    System.exit(2);
                }
            }
        }
        if (socket == null) {
            System.err.println("usage: FdKeeper --socket PATH [--idle-exit SECONDS (0 = never)]");
            System.exit(2);
        }
        FdKeeper keeper = bind(socket, Duration.ofSeconds(idle));
        Runtime.getRuntime().addShutdownHook(new Thread(keeper::close));
        keeper.serve();
    }
}
