package io.ballast.tests.harness;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * The TCP ports a process listens on, read from Linux's /proc: the socket inodes among its open
 * file descriptors, matched against the LISTEN sockets of its network namespace
 * ({@code /proc/PID/net/tcp} and {@code tcp6}). What a test walks then is what the process really
 * opened, not what the test believes it opened.
 */
public final class ListeningPorts {
    /** The protocol a port speaks, as the test that started it knows it. */
    public enum Kind { GRPC, HTTP, NBD }

    private static final String LISTEN = "0A";

    private ListeningPorts() {
    }

    /** The listening TCP ports of process {@code pid}, ascending. */
    public static List<Integer> of(long pid) {
        Path proc = Path.of("/proc", Long.toString(pid));
        Set<String> sockets = new HashSet<>();
        try (Stream<Path> fds = Files.list(proc.resolve("fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith("socket:[")) {
                        sockets.add(target.substring("socket:[".length(), target.length() - 1));
                    }
                } catch (NoSuchFileException closedMeanwhile) {
                    // a descriptor closed while listing: not a listener
                }
            }
            Set<Integer> ports = new TreeSet<>();
            for (String table : List.of("tcp", "tcp6")) {
                Path f = proc.resolve("net").resolve(table);
                if (!Files.exists(f)) {
                    continue;
                }
                for (String line : Files.readAllLines(f).stream().skip(1).toList()) {
                    String[] col = line.trim().split("\\s+");
                    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
                    if (col.length > 9 && col[3].equals(LISTEN) && sockets.contains(col[9])) {
                        String local = col[1];
                        ports.add(Integer.parseInt(local.substring(local.indexOf(':') + 1), 16));
                    }
                }
            }
            return List.copyOf(ports);
        } catch (IOException e) {
            throw new AssertionError("cannot read the sockets of process " + pid + " in /proc: " + e, e);
        }
    }
}
